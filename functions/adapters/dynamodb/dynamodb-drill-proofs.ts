// The restore drill's proofs over restored tables: they read the restored items
// through the same repositories the vault uses, so what passes here is what a
// vault started on these tables would serve.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { AuditVerifier } from '../../domain/audit/audit-chain.js';
import { DataKeyCache } from '../../domain/crypto/data-key-cache.js';
import { KeyManager } from '../../domain/crypto/key-manager.js';
import { RestoreCheckFailedError, type RestoredBackup } from '../../domain/backups/restore-service.js';
import type { DrillProof } from '../../domain/backups/restore-drill.js';
import type { AuditAnchors } from '../../domain/ports/audit.js';
import type { KeyWrapper } from '../../domain/ports/keys.js';
import { AUDIT_TABLE, STATE_TABLE } from '../../runtime/definitions.js';
import { DynamoDbAuditStore } from './dynamodb-audit-store.js';
import { DynamoDbAuthRepository } from './dynamodb-auth-repository.js';
import { DynamoDbSecretRepository } from './dynamodb-secret-repository.js';
import { DynamoDbTableDumper, decodeItem } from './dynamodb-table-dumper.js';

const HEAD_PK = /^T#(.+)#SECRETS$/;

const restoredName = (restored: RestoredBackup, id: string): string => {
  const name = restored.tableNames.get(id);
  if (!name) throw new Error(`table ${id} was not restored`);
  return name;
};

/** Up to `size` secret heads spread over the restored state table: tenant and path of each. */
const sampleHeads = async (dumper: DynamoDbTableDumper, table: string, size: number): Promise<{ tenantId: string; path: string }[]> => {
  const heads: { tenantId: string; path: string }[] = [];
  for await (const page of dumper.dump(table)) {
    for (const line of page) {
      const item = unmarshall(decodeItem(line)) as { pk?: string; sk?: string };
      const tenant = item.pk && HEAD_PK.exec(item.pk)?.[1];
      if (tenant && item.sk) heads.push({ tenantId: tenant, path: item.sk });
    }
  }
  if (heads.length <= size) return heads;
  const step = heads.length / size;
  return Array.from({ length: size }, (_, i) => heads[Math.floor(i * step)]!);
};

/** A sample of secrets opens under their restored tenant data keys, unwrapped by the real key provider. */
export const decryptProof = (client: DynamoDBClient, wrapper: KeyWrapper, sampleSize = 5): DrillProof => ({
  check: 'decrypt',
  prove: async (restored) => {
    const table = restoredName(restored, STATE_TABLE.id);
    const secrets = new DynamoDbSecretRepository(client, table);
    const keys = new KeyManager(wrapper, new DynamoDbAuthRepository(client, table), new DataKeyCache(60, 100));
    for (const { tenantId, path } of await sampleHeads(new DynamoDbTableDumper(client), table, sampleSize)) {
      const head = await secrets.getHead(tenantId, path);
      if (!head) throw new RestoreCheckFailedError('decrypt', 'a sampled secret is missing from the restored table');
      await keys.open(head.sealed, { tenantId, path, version: head.version });
    }
  },
});

/** The restored audit chain verifies, block by block against the anchors, through the head the backup recorded. */
export const auditChainProof = (client: DynamoDBClient, anchors: AuditAnchors): DrillProof => ({
  check: 'audit_chain',
  prove: async (restored) => {
    const head = restored.manifest.chainHead;
    if (!head) return;
    const store = new DynamoDbAuditStore(client, restoredName(restored, AUDIT_TABLE.id));
    const result = await new AuditVerifier(store, anchors).verify({ maxBlocks: head.seq + 1 });
    if (!result.ok) throw new RestoreCheckFailedError('audit_chain', `block ${result.divergence?.blockSeq}: ${result.divergence?.reason}`);
    const last = await store.block(head.seq);
    if (result.checkedBlocks !== head.seq + 1 || last?.hash !== head.hash) {
      throw new RestoreCheckFailedError('audit_chain', `the restored chain does not end at the recorded head (block ${head.seq})`);
    }
  },
});

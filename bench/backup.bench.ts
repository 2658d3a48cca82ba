// Issue 15 "backups" benchmark, on real dynalite through the real adapters:
// items per second a backup of every table writes (strongly consistent Scan
// pages, encoded as JSON lines, gzip, sha256, the manifest and its check)
// against the floor measured side by side: a raw paginated Scan of the same
// tables that only counts the items. Target: backup ≥ 0.5 × the Scan.
import { BatchWriteItemCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { DynamoDbAuditStore } from '../functions/adapters/dynamodb/dynamodb-audit-store.js';
import { DynamoDbTableDumper } from '../functions/adapters/dynamodb/dynamodb-table-dumper.js';
import { FsBackupStore } from '../functions/adapters/local-fs/fs-backup-store.js';
import { LocalKeyWrapper } from '../functions/adapters/local-key/local-key-wrapper.js';
import { AuditHmac, AuditLog } from '../functions/domain/audit/audit-log.js';
import { BackupService, type BackedUpTable } from '../functions/domain/backups/backup-service.js';
import { MetricRegistry } from '../functions/observability/metric-registry.js';
import { VaultMetrics } from '../functions/observability/vault-metrics.js';
import { AUDIT_TABLE, METRICS_TABLE, STATE_TABLE, TABLES } from '../functions/runtime/definitions.js';
import { ensureTable } from '../local/provision.js';
import { DynaliteProcess, tempDir } from '../test/integration/support/processes.js';
import { figure, report } from './harness.js';

const SECRETS = 10_000;
const ROUNDS = 3;
const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };

/** A secret head as the vault stores it: sealed value (binary), metadata and the rotation index. */
const secretItem = (i: number): Record<string, AttributeValue> =>
  marshall({
    pk: `T#tenant-${i % 20}#SECRETS`,
    sk: `apps/service-${i}/db-password`,
    tenantId: `tenant-${i % 20}`,
    path: `apps/service-${i}/db-password`,
    version: 3,
    type: 'password',
    metadata: { owner: 'team-a', env: 'prod' },
    keyId: 'dk_0123456789abcdef0123456789abcdef',
    iv: randomBytes(12),
    ciphertext: randomBytes(64),
    createdAt: '2026-11-30T00:00:00.000Z',
    createdBy: 'user:bench@example.com',
    firstCreatedAt: '2026-01-01T00:00:00.000Z',
    deletedAt: null,
    gsi1pk: 'ROTATION_DUE',
    gsi1sk: `2026-12-30T00:00:00.000Z#tenant-${i % 20}#apps/service-${i}/db-password`,
  });

const fill = async (client: DynamoDBClient): Promise<void> => {
  for (const table of TABLES) await ensureTable(client, table);
  const batches: Promise<unknown>[] = [];
  for (let i = 0; i < SECRETS; i += 25) {
    const items = Array.from({ length: Math.min(25, SECRETS - i) }, (_, j) => ({ PutRequest: { Item: secretItem(i + j) } }));
    batches.push(client.send(new BatchWriteItemCommand({ RequestItems: { [STATE_TABLE.id]: items } })));
    if (batches.length === 8) await Promise.all(batches.splice(0));
  }
  await Promise.all(batches);
};

/** The floor: every item of every table read with strongly consistent, paginated Scans, and counted. */
const rawScan = async (client: DynamoDBClient): Promise<number> => {
  let items = 0;
  for (const table of TABLES) {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: table.id, ConsistentRead: true, Limit: 1000, ExclusiveStartKey: startKey }));
      items += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
  return items;
};

const timed = async (run: () => Promise<number>): Promise<{ items: number; seconds: number }> => {
  const started = performance.now();
  const items = await run();
  return { items, seconds: (performance.now() - started) / 1000 };
};

export const runBackupBenchmarks = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const client = new DynamoDBClient({ ...LOCAL, endpoint: dynalite.endpoint });
  const dir = tempDir('backup-bench');
  try {
    await fill(client);
    const tables: BackedUpTable[] = [STATE_TABLE, METRICS_TABLE, AUDIT_TABLE].map((definition) => ({ definition, tableName: definition.id }));
    const auditStore = new DynamoDbAuditStore(client, AUDIT_TABLE.id);
    const registry = new MetricRegistry();
    const metrics = new VaultMetrics(registry);
    const backups = new BackupService({
      tables,
      dumper: new DynamoDbTableDumper(client),
      store: new FsBackupStore(dir),
      chain: auditStore,
      audit: new AuditLog(auditStore, new AuditHmac(auditStore, new LocalKeyWrapper(randomBytes(32))), metrics),
      metrics,
      logger: { info: () => undefined, error: () => undefined },
      keep: 1,
    });
    const backupItems = async () => (await backups.backup()).tables.reduce((sum, t) => sum + t.items, 0);
    await rawScan(client); // warm both paths once
    await backupItems();
    const sums = { scan: { items: 0, seconds: 0 }, backup: { items: 0, seconds: 0 } };
    for (let round = 0; round < ROUNDS; round += 1) {
      // Alternate the order so drift in machine load hits both sides alike.
      for (const side of round % 2 ? (['backup', 'scan'] as const) : (['scan', 'backup'] as const)) {
        const result = await timed(side === 'scan' ? () => rawScan(client) : backupItems);
        sums[side].items += result.items;
        sums[side].seconds += result.seconds;
      }
    }
    const scanRate = sums.scan.items / sums.scan.seconds;
    const backupRate = sums.backup.items / sums.backup.seconds;
    const ratio = backupRate / scanRate;
    figure('raw consistent Scan of every table (floor)', `${scanRate.toFixed(0)} items/s`);
    figure('backup of every table', `${backupRate.toFixed(0)} items/s`);
    report('backup throughput vs raw Scan', `${ratio.toFixed(2)}×`, '≥ 0.5×', ratio >= 0.5);
    return { scanItemsPerSecond: scanRate, backupItemsPerSecond: backupRate, ratio };
  } finally {
    client.destroy();
    await dynalite.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};

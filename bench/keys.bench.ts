// Issue 15 benchmark, data-key rotation: sealed items re-encrypted per second by
// the rotation job (count pass, re-seal pass with a consistent GetItem, AES-GCM
// open + seal and a conditional UpdateItem per item, verifying pass, cursor saves)
// against the floor measured side by side on the same DynamoDB (dynalite in its
// own process) and the same concurrency: per item one GetItem, one AES-GCM
// decrypt and encrypt, one conditional PutItem, and nothing else. Target ≥ 0.5.
// Rounds alternate floor and rotation (ABBA), each on a freshly seeded tenant.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { DynamoDbAuthRepository } from '../functions/adapters/dynamodb/dynamodb-auth-repository.js';
import { DynamoDbKeyRotationStore } from '../functions/adapters/dynamodb/dynamodb-key-rotation-store.js';
import { DynamoDbSecretRepository } from '../functions/adapters/dynamodb/dynamodb-secret-repository.js';
import { sealedItemKinds } from '../functions/adapters/dynamodb/sealed-item-kinds.js';
import { LocalKeyWrapper } from '../functions/adapters/local-key/local-key-wrapper.js';
import { DataKeyCache } from '../functions/domain/crypto/data-key-cache.js';
import { open, seal } from '../functions/domain/crypto/envelope.js';
import { KeyManager } from '../functions/domain/crypto/key-manager.js';
import { KeyRotationService } from '../functions/domain/crypto/key-rotation.js';
import { NO_EVENTS } from '../functions/domain/events/events.js';
import { STATE_TABLE } from '../functions/runtime/definitions.js';
import { ensureTable } from '../local/provision.js';
import { DynaliteProcess } from '../test/integration/support/processes.js';
import { figure, report } from './harness.js';

const ITEMS = 1000;
const CONCURRENCY = 16;
const BATCH = 100;
const TARGET = 0.5;

interface Bench {
  readonly client: DynamoDBClient;
  readonly keys: KeyManager;
  readonly auth: DynamoDbAuthRepository;
}

/** A tenant with `ITEMS` secrets, one sealed version each, written through the secret repository as the api writes them. */
const seedTenant = async ({ client, keys, auth }: Bench, tenantId: string): Promise<string> => {
  const keyId = await keys.createDataKey(tenantId);
  await auth.createTenant({ tenantId, displayName: tenantId, activeKeyId: keyId, createdAt: new Date().toISOString() });
  const secrets = new DynamoDbSecretRepository(client, STATE_TABLE.id);
  for (let start = 0; start < ITEMS; start += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, ITEMS - start) }, async (_, i) => {
        const path = `bench/s${String(start + i).padStart(5, '0')}`;
        const at = new Date().toISOString();
        const sealed = await keys.seal(keyId, `value-${start + i}`, { tenantId, path, version: 1 });
        const head = {
          tenantId,
          path,
          version: 1,
          type: 'generic',
          metadata: {},
          sealed,
          createdAt: at,
          createdBy: 'bench',
          firstCreatedAt: at,
          deletedAt: null,
          rotation: null,
        };
        await secrets.commit(head, undefined);
      }),
    );
  }
  return keyId;
};

/** The floor: the same items re-sealed by hand, the least any re-encryption must do per item. */
const floor = async ({ client, keys }: Bench, tenantId: string, fromKeyId: string): Promise<number> => {
  const toKeyId = await keys.createDataKey(tenantId);
  // Both data keys unwrapped once, outside the timing, as the rotation's cache has them.
  const [from, to] = [await keys.seal(fromKeyId, 'x', { tenantId, path: 'p', version: 0 }), await keys.seal(toKeyId, 'x', { tenantId, path: 'p', version: 0 })];
  const dataKeys = new Map<string, Buffer>();
  const cache = (keys as unknown as { cache: DataKeyCache }).cache;
  for (const sealed of [from, to]) dataKeys.set(sealed.keyId, cache.get(`${tenantId}/${sealed.keyId}`) as Buffer);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < ITEMS) {
        const path = `bench/s${String(next++).padStart(5, '0')}`;
        const key = marshall({ pk: `T#${tenantId}#SECRETS`, sk: path });
        const item = unmarshall((await client.send(new GetItemCommand({ TableName: STATE_TABLE.id, Key: key, ConsistentRead: true }))).Item ?? {});
        const context = { tenantId, path, version: item.version as number };
        const plaintext = open(dataKeys.get(fromKeyId) as Buffer, { keyId: fromKeyId, iv: item.iv, ciphertext: item.ct }, context);
        const resealed = seal(dataKeys.get(toKeyId) as Buffer, toKeyId, plaintext, context);
        await client.send(
          new PutItemCommand({
            TableName: STATE_TABLE.id,
            Item: marshall({ ...item, keyId: resealed.keyId, iv: resealed.iv, ct: resealed.ciphertext }),
            ConditionExpression: 'keyId = :old AND iv = :iv',
            ExpressionAttributeValues: marshall({ ':old': fromKeyId, ':iv': item.iv }),
          }),
        );
      }
    }),
  );
  return (performance.now() - started) / 1000;
};

/** The rotation job from start to finished, as the scheduler runs it. */
const rotation = async ({ client, keys, auth }: Bench, tenantId: string): Promise<number> => {
  const service = new KeyRotationService({
    store: new DynamoDbKeyRotationStore(client, STATE_TABLE.id),
    kinds: sealedItemKinds(client, STATE_TABLE.id),
    keys,
    tenants: { listTenantIds: async () => [tenantId], activeKeyId: async (id) => (await auth.getTenant(id))?.activeKeyId ?? '' },
    audit: { record: async () => undefined },
    events: NO_EVENTS,
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    options: { batchSize: BATCH, concurrency: CONCURRENCY, conflictRetries: 5, rotationDays: 0 },
  });
  const started = performance.now();
  await service.start(tenantId, 'manual', 'bench');
  const tick = await service.tick(600_000);
  if (tick.resealed !== ITEMS || tick.finished !== 1) throw new Error(`rotation re-sealed ${tick.resealed} of ${ITEMS}`);
  return (performance.now() - started) / 1000;
};

export const runKeyBenchmarks = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  try {
    await ensureTable(client, STATE_TABLE);
    const auth = new DynamoDbAuthRepository(client, STATE_TABLE.id);
    const bench: Bench = { client, auth, keys: new KeyManager(new LocalKeyWrapper(randomBytes(32)), auth, new DataKeyCache(3600, 1000)) };
    const seconds = { floor: 0, rotation: 0 };
    for (const [round, side] of (['floor', 'rotation', 'rotation', 'floor'] as const).entries()) {
      const tenantId = `bench-${round}`;
      const keyId = await seedTenant(bench, tenantId);
      seconds[side] += side === 'floor' ? await floor(bench, tenantId, keyId) : await rotation(bench, tenantId);
    }
    const floorPerSecond = (2 * ITEMS) / seconds.floor;
    const rotationPerSecond = (2 * ITEMS) / seconds.rotation;
    const ratio = rotationPerSecond / floorPerSecond;
    console.log(`\ndata-key rotation: ${ITEMS} sealed items per round, 2 rounds per side (ABBA), concurrency ${CONCURRENCY}, batches of ${BATCH}`);
    figure('floor (GetItem, AES-GCM open+seal, cond. PutItem)', `${floorPerSecond.toFixed(0)} items/s`);
    figure('rotation job (count, re-seal, verify passes)', `${rotationPerSecond.toFixed(0)} items/s`);
    report('rotation re-seal rate / floor', ratio.toFixed(2), `≥ ${TARGET}`, ratio >= TARGET);
    return { rotation_items_per_second: rotationPerSecond, floor_items_per_second: floorPerSecond, rotation_vs_floor: ratio };
  } finally {
    client.destroy();
    await dynalite.stop();
  }
};

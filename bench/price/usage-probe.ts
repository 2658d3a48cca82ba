// Run by bench/price.bench.ts on the Lambda runtime's Node: one embedded vault
// in this process, every AWS call its functions make counted at the SDK client
// middleware (aws-clients' usage recorder: DynamoDB request units from
// ReturnConsumedCapacity, SQS and S3 calls), key-provider calls counted at the
// local provider (each is a KMS call in AWS), every handler invocation timed
// as Lambda bills it. Prints one JSON object: the usage of each operation kind.
import { ScanCommand, DynamoDBClient, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordAwsUsage, type AwsCallUsage } from '../../functions/adapters/aws-clients.js';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { AUDIT_TABLE, METRICS_TABLE, STATE_TABLE } from '../../functions/runtime/definitions.js';
import { startEmbedded } from '../../local/embedded.js';

export interface OperationUsage {
  readonly operations: number;
  readonly readUnits: Readonly<Record<string, number>>;
  readonly writeUnits: Readonly<Record<string, number>>;
  readonly sqsCalls: number;
  readonly s3Calls: number;
  readonly kmsCalls: number;
  /** Handler invocations per function, and their durations in ms. */
  readonly invocations: Readonly<Record<string, readonly number[]>>;
  /** Growth of each table's stored bytes (DynamoDB's item size rules). */
  readonly storedBytes: Readonly<Record<string, number>>;
}

/** Marks the result line among the vault's own log lines. */
export const USAGE_PREFIX = 'scaivault-usage ';

const TABLE_NAMES: Record<string, string> = { [STATE_TABLE.id]: 'state', [AUDIT_TABLE.id]: 'audit', [METRICS_TABLE.id]: 'metrics' };

class Tally {
  readUnits: Record<string, number> = {};
  writeUnits: Record<string, number> = {};
  sqsCalls = 0;
  s3Calls = 0;
  kmsCalls = 0;
  invocations: Record<string, number[]> = {};

  call(usage: AwsCallUsage): void {
    if (usage.client === 'SQSClient') this.sqsCalls += 1;
    if (usage.client === 'S3Client') this.s3Calls += 1;
    if (usage.client === 'KMSClient') this.kmsCalls += 1;
    const table = TABLE_NAMES[usage.tables[0] ?? ''] ?? (usage.tables[0] || 'unknown');
    if (usage.readUnits) this.readUnits[table] = (this.readUnits[table] ?? 0) + usage.readUnits;
    if (usage.writeUnits) this.writeUnits[table] = (this.writeUnits[table] ?? 0) + usage.writeUnits;
  }

  reset(): void {
    Object.assign(this, { readUnits: {}, writeUnits: {}, sqsCalls: 0, s3Calls: 0, kmsCalls: 0, invocations: {} });
  }
}

/** DynamoDB's billed item size: attribute names and values in UTF-8, numbers at about one byte per two digits, plus 100 bytes of per-item overhead. */
const sizeOf = (value: AttributeValue): number => {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.M) return 3 + Object.entries(value.M).reduce((sum, [name, member]) => sum + Buffer.byteLength(name) + 1 + sizeOf(member), 0);
  if (value.L) return 3 + value.L.reduce((sum, member) => sum + 1 + sizeOf(member), 0);
  if (value.SS) return value.SS.reduce((sum, member) => sum + Buffer.byteLength(member), 0);
  return 1;
};

const tableBytes = async (client: DynamoDBClient, table: string): Promise<number> => {
  let bytes = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) bytes += 100 + Object.entries(item).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + sizeOf(value), 0);
    start = page.LastEvaluatedKey;
  } while (start);
  return bytes;
};

const main = async (): Promise<void> => {
  const dataDir = mkdtempSync(join(tmpdir(), 'scaivault-price-'));
  const tally = new Tally();
  recordAwsUsage((usage) => tally.call(usage));
  // The local key provider stands in for KMS: each generateDataKey or unwrap is one KMS request in AWS.
  for (const method of ['generateDataKey', 'unwrap'] as const) {
    const original = LocalKeyWrapper.prototype[method] as (...args: unknown[]) => Promise<unknown>;
    (LocalKeyWrapper.prototype as unknown as Record<string, unknown>)[method] = function (this: LocalKeyWrapper, ...args: unknown[]) {
      tally.kmsCalls += 1;
      return original.apply(this, args);
    };
  }
  process.env.LOG_LEVEL = 'warn';
  const rootToken = `svt_${'p'.repeat(43)}`;
  const vault = await startEmbedded({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    rootToken,
    // In AWS the scheduler is its own function on a timer, not a per-request cost.
    schedulerIntervalSeconds: 86_400,
    env: { ...process.env, SCAIVAULT_RATE_LIMITS: 'read=100000/1s,write=100000/1s' },
    wrapHandler: (name, handler) =>
      (async (...args: Parameters<typeof handler>) => {
        const started = performance.now();
        try {
          return await handler(...args);
        } finally {
          (tally.invocations[name] ??= []).push(performance.now() - started);
        }
      }) as typeof handler,
  });
  const dynamodb = new DynamoDBClient({});
  const request = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${vault.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${rootToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const expect = (status: number, wanted: number[], what: string) => {
    if (!wanted.includes(status)) throw new Error(`${what} answered ${status}`);
  };
  const results: Record<string, OperationUsage> = {};
  const measure = async (name: string, operations: number, run: () => Promise<void>) => {
    const before = Object.fromEntries(await Promise.all(Object.keys(TABLE_NAMES).map(async (t) => [TABLE_NAMES[t]!, await tableBytes(dynamodb, t)])));
    tally.reset();
    await run();
    // A deep copy: calls made after this operation's run (checks, the next warm-up) are not its own.
    const snapshot = structuredClone({ ...tally });
    const after = Object.fromEntries(await Promise.all(Object.keys(TABLE_NAMES).map(async (t) => [TABLE_NAMES[t]!, await tableBytes(dynamodb, t)])));
    const storedBytes = Object.fromEntries(Object.keys(after).map((t) => [t, (after[t] as number) - (before[t] as number)]));
    results[name] = { operations, ...snapshot, storedBytes };
  };
  try {
    const paths = Array.from({ length: 40 }, (_, i) => `price/app-${i}/password`);
    // Warm: the first request of a cold instance creates tenant keys, the audit HMAC key, rate-limit buckets.
    expect((await request('PUT', '/v1/secrets/price/warm', { value: 'warm', type: 'password' })).status, [200, 201], 'warm write');
    expect((await request('GET', '/v1/secrets/price/warm')).status, [200], 'warm read');
    await measure('write', paths.length, async () => {
      for (const path of paths) {
        const written = await request('PUT', `/v1/secrets/${path}`, { value: `value-of-${path}`, type: 'password', rotation: { interval_days: 30 } });
        expect(written.status, [200, 201], 'write');
      }
    });
    const reads = 400;
    await measure('read', reads, async () => {
      for (let i = 0; i < reads; i += 1) expect((await request('GET', `/v1/secrets/${paths[i % paths.length]}`)).status, [200], 'read');
    });
    const rotations = 10;
    await measure('rotation', rotations, async () => {
      for (const path of paths.slice(0, rotations)) expect((await request('POST', `/v1/secrets/${path}/rotate`)).status, [202], 'rotate');
      // Done when every rotated secret is at version 2 and the workers have been idle for a while.
      const deadline = Date.now() + 60_000;
      let idleSince = Date.now();
      let seen = -1;
      for (;;) {
        const count = Object.values(tally.invocations).reduce((sum, list) => sum + list.length, 0);
        if (count !== seen) [seen, idleSince] = [count, Date.now()];
        if ((tally.invocations['rotation-worker']?.length ?? 0) > 0 && Date.now() - idleSince > 3000) break;
        if (Date.now() > deadline) throw new Error('rotations did not finish within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    });
    const rotated = await Promise.all(paths.slice(0, rotations).map((path) => request('GET', `/v1/secrets/${path}`)));
    const unrotated = rotated.filter((read) => read.json.version !== 2).length;
    process.stdout.write(`\n${USAGE_PREFIX}${JSON.stringify({ results, unrotated })}\n`);
  } finally {
    recordAwsUsage(undefined);
    dynamodb.destroy();
    await vault.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
};

if (process.argv[1]?.endsWith('usage-probe.ts')) await main();

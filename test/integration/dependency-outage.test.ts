import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../functions/runtime/definitions.js';
import { DynaliteProcess, waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

describe('with DynamoDB in its own process', () => {
  let dynalite: DynaliteProcess;
  let vault: VaultProcess;

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    vault = await VaultProcess.start({ env: { SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint, SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '1000' } });
  });

  afterAll(async () => {
    await vault?.stop();
    await dynalite?.stop();
  });

  it('answers 503 while DynamoDB is down, leaves no half-written secret, and recovers', async () => {
    expect((await vault.request('PUT', '/v1/secrets/outage/key', { body: { value: 'before-outage' } })).status).toBe(201);
    expect((await vault.request('GET', '/v1/secrets/outage/key')).status).toBe(200);
    const healthy = await vault.request('GET', '/v1/health/detailed');
    expect(healthy.status).toBe(200);
    expect(healthy.body).toMatchObject({
      status: 'ready',
      checks: { dynamodb: { status: 'up', last_error: null } },
      kms: { provider: 'local', key_state: 'Enabled' },
      key_cache: { entries: expect.any(Number), hits: expect.any(Number), misses: expect.any(Number) },
      queues: { rotation: { depth: 0, oldest_age_seconds: 0 }, webhook: { depth: 0, oldest_age_seconds: 0 } },
      connection_pool: { size: expect.any(Number), available: expect.any(Number), max: expect.any(Number) },
    });
    expect((await vault.request('GET', '/v1/health/detailed', { token: null })).status).toBe(401);

    await dynalite.stop();
    const write = await vault.request('PUT', '/v1/secrets/outage/key', { body: { value: 'during-outage' } });
    expect(write.status).toBe(503);
    expect(write.headers.get('content-type')).toBe('application/problem+json');
    expect(write.body).toMatchObject({ status: 503, request_id: expect.any(String) });
    // No internal detail: no hosts, ports, stack traces or SDK messages.
    expect(write.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|at .*\.ts|dynalite/i);
    const created = await vault.request('PUT', '/v1/secrets/outage/new', { body: { value: 'never-stored' } });
    expect(created.status).toBe(503);

    const ready = await vault.request('GET', '/v1/health/ready', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not_ready');
    expect(ready.body.checks.dynamodb.status).toBe('down');
    expect(ready.body.checks.key_provider.status).toBe('up');
    expect((await vault.request('GET', '/v1/health', { token: null })).status).toBe(200);
    // The verified root token is cached and rate limiting fails open, so operators can still look inside.
    const detailed = await vault.request('GET', '/v1/health/detailed');
    expect(detailed.status).toBe(503);
    expect(detailed.body.checks.dynamodb).toMatchObject({
      status: 'down',
      last_error: expect.any(String),
      last_error_at: expect.any(String),
      last_success_at: expect.any(String),
    });
    expect(detailed.body.checks.key_provider.status).toBe('up');
    expect(detailed.text).not.toMatch(/127\.0\.0\.1/);

    await dynalite.restart();
    await waitFor(async () => (await vault.request('GET', '/v1/health/ready', { token: null })).status === 200, 15_000, 'readiness');
    const read = await vault.request('GET', '/v1/secrets/outage/key');
    expect(read.body).toMatchObject({ version: 1, value: 'before-outage' });
    expect((await vault.request('GET', '/v1/secrets/outage/key/versions')).body.versions).toHaveLength(1);
    expect((await vault.request('GET', '/v1/secrets/outage/new')).status).toBe(404);
  });

  it('refuses to open a ciphertext moved to another item', async () => {
    await vault.request('PUT', '/v1/secrets/moved/source', { body: { value: 'source-value' } });
    await vault.request('PUT', '/v1/secrets/moved/target', { body: { value: 'target-value' } });
    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const key = (path: string) => ({ pk: { S: 'T#default#SECRETS' }, sk: { S: path } });
    const source = await client.send(new GetItemCommand({ TableName: STATE_TABLE.id, Key: key('moved/source') }));
    const target = await client.send(new GetItemCommand({ TableName: STATE_TABLE.id, Key: key('moved/target') }));
    expect(source.Item?.ct).toBeDefined();
    // Stored values are ciphertext, never the plaintext.
    expect(Buffer.from(source.Item!.ct!.B!).toString('utf8')).not.toContain('source-value');
    await client.send(new PutItemCommand({ TableName: STATE_TABLE.id, Item: { ...target.Item!, ct: source.Item!.ct!, iv: source.Item!.iv! } }));
    client.destroy();

    const read = await vault.request('GET', '/v1/secrets/moved/target');
    expect(read.status).toBe(500);
    expect(read.headers.get('content-type')).toBe('application/problem+json');
    expect(read.text).not.toContain('source-value');
    expect((await vault.request('GET', '/v1/secrets/moved/source')).body.value).toBe('source-value');
  });
});

describe('rate limits shared by a fleet of instances', () => {
  let dynalite: DynaliteProcess;
  const vaults: VaultProcess[] = [];
  const rootToken = `svt_${'r'.repeat(43)}`;

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    const env = {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: rootToken,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
      SCAIVAULT_RATE_LIMITS: 'read=6/1m',
    };
    vaults.push(await VaultProcess.start({ env }));
    vaults.push(await VaultProcess.start({ env }));
  });

  afterAll(async () => {
    for (const vault of vaults) await vault.stop();
    await dynalite?.stop();
  });

  it('admits the limit once across instances, then answers 429 with Retry-After and RateLimit headers', async () => {
    const [a, b] = vaults as [VaultProcess, VaultProcess];
    expect((await a.request('PUT', '/v1/secrets/limited', { body: { value: 'x' } })).status).toBe(201);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<VaultProcess['request']>> | undefined;
    for (let i = 0; i < 10; i += 1) {
      const response = await (i % 2 === 0 ? a : b).request('GET', '/v1/secrets/limited');
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else expect(response.headers.get('ratelimit-limit'), `${response.status} ${response.text}`).toBe('6');
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    expect(limited!.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited!.headers.get('ratelimit-remaining')).toBe('0');
    expect(limited!.headers.get('ratelimit')).toMatch(/limit=6, remaining=0, reset=\d+/);
    expect(limited!.body).toMatchObject({ status: 429, category: 'read' });
    // Other categories have their own buckets.
    expect((await b.request('GET', '/v1/secrets?prefix=limited')).status).toBe(200);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynaliteProcess } from './support/processes.js';
import { SlowProxy } from './support/slow-proxy.js';
import { VaultProcess } from './support/vault.js';

const DEPENDENCY_TIMEOUT_MS = 1000;

/** A request naming one secret's head write (the state table's create-if-absent put), not its audit record. */
const headWriteOf = (path: string) => (request: string) =>
  request.includes('"TableName":"scaivault-state"') && request.includes(path) && request.includes('attribute_not_exists(pk)');

// Answers never lie about what happened, and a retry with the same Idempotency-Key never has a second effect.
describe('idempotency and unknown outcomes', () => {
  let dynalite: DynaliteProcess;
  let proxy: SlowProxy;
  let vault: VaultProcess;

  const put = (path: string, value: string, key?: string, signal?: AbortSignal) =>
    fetch(`${vault.url}/v1/secrets/${path}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${vault.rootToken}`, 'content-type': 'application/json', ...(key ? { 'idempotency-key': `"${key}"` } : {}) },
      body: JSON.stringify({ value }),
      signal,
    });
  const versionsOf = async (path: string): Promise<number> => {
    const answer = await vault.request('GET', `/v1/secrets/${path}/versions`);
    return answer.status === 404 ? 0 : answer.body.versions.length;
  };

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    proxy = await SlowProxy.start(dynalite.port);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_DYNAMODB_ENDPOINT: proxy.endpoint,
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: String(DEPENDENCY_TIMEOUT_MS),
        SCAIVAULT_REQUEST_DEADLINE_MS: '5000',
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await proxy?.stop();
    await dynalite?.stop();
  });

  it('a retry after success gets the first answer, marked replayed, and makes no second version; another request with that key is 422', async () => {
    const first = await put('idem/success', 'one', 'key-success');
    expect(first.status).toBe(201);
    const firstBody = await first.json();
    const retry = await put('idem/success', 'one', 'key-success');
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.headers.get('etag')).toBe('"1"');
    expect(await retry.json()).toEqual(firstBody);
    expect(await versionsOf('idem/success')).toBe(1);
    const reused = await put('idem/success', 'two', 'key-success');
    expect(reused.status).toBe(422);
    expect(((await reused.json()) as { type: string }).type).toMatch(/idempotency-key-reused$/);
    expect(await versionsOf('idem/success')).toBe(1);
    // Without a key, a write is a new version as before.
    expect((await put('idem/success', 'two')).status).toBe(200);
  });

  it('replays an issued token that was shown once, and the replayed token works', async () => {
    const create = () =>
      vault.request('POST', '/v1/identities', { body: { identity: 'sa:idem', policies: ['admin'] }, headers: { 'idempotency-key': 'identity-once' } });
    const first = await create();
    expect(first.status).toBe(201);
    const again = await create();
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.token).toBe(first.body.token);
    expect((await vault.request('GET', '/v1/auth/token/self', { token: again.body.token })).status).toBe(200);
  });

  it('a client that timed out retries with its key and gets the answer of the write that landed, not a second version', async () => {
    proxy.holdMs = DEPENDENCY_TIMEOUT_MS / 2;
    proxy.holdWhen = headWriteOf('idem/client-timeout');
    try {
      await expect(put('idem/client-timeout', 'v', 'key-client', AbortSignal.timeout(150))).rejects.toThrow();
    } finally {
      proxy.holdWhen = undefined;
    }
    let retry: Response;
    const until = Date.now() + 10_000;
    do {
      await new Promise((r) => setTimeout(r, 200));
      retry = await put('idem/client-timeout', 'v', 'key-client');
      // 409 while the first is still being answered.
    } while (retry.status === 409 && Date.now() < until);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await versionsOf('idem/client-timeout')).toBe(1);
  });

  it('a write sent without an answer is 504 outcome-unknown, not the 503 that means nothing changed; its retry hears the same, never runs again', async () => {
    proxy.holdMs = DEPENDENCY_TIMEOUT_MS * 3;
    proxy.holdWhen = headWriteOf('idem/unknown');
    let answer: Response;
    try {
      answer = await put('idem/unknown', 'v', 'key-unknown');
    } finally {
      proxy.holdWhen = undefined;
    }
    expect(answer.status).toBe(504);
    const problem = (await answer.json()) as { type: string; detail: string };
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(problem.type).toMatch(/outcome-unknown$/);
    expect(problem.detail).toMatch(/If-Match|Idempotency-Key/);
    const retry = await put('idem/unknown', 'v', 'key-unknown');
    expect(retry.status).toBe(504);
    expect(((await retry.json()) as { type: string }).type).toMatch(/outcome-unknown$/);
    // The held write was dropped with its connection, and the retry made none.
    expect(await versionsOf('idem/unknown')).toBe(0);
  });

  it('refuses a malformed Idempotency-Key before changing anything', async () => {
    const answer = await put('idem/bad-key', 'v', 'has space');
    expect(answer.status).toBe(400);
    expect(((await answer.json()) as { field: string }).field).toBe('Idempotency-Key');
    expect(await versionsOf('idem/bad-key')).toBe(0);
  });
});

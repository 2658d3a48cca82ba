import { describe, expect, it } from 'vitest';
import { ConflictError, DependencyUnavailableError, IdempotencyKeyReusedError, OutcomeUnknownError, ValidationError } from '../../functions/domain/errors.js';
import {
  IdempotentRequests,
  parseIdempotencyKey,
  requestFingerprint,
  type AnswerSealer,
  type StoredAnswer,
} from '../../functions/domain/idempotency/idempotent-requests.js';
import type { SealedValue } from '../../functions/domain/ports/secrets.js';
import type { IdempotencyRecord, IdempotencyStore } from '../../functions/domain/ports/idempotency.js';

/** The port in memory with the DynamoDB adapter's conditions. */
class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly records = new Map<string, IdempotencyRecord>();
  failComplete = false;

  async claim(record: IdempotencyRecord, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const key = `${record.tenantId}/${record.id}`;
    const held = this.records.get(key);
    if (held && held.expiresAt >= nowMs) return held;
    this.records.set(key, record);
    return undefined;
  }

  async complete(tenantId: string, id: string, fingerprint: string, response: SealedValue): Promise<void> {
    if (this.failComplete) throw new DependencyUnavailableError('dynamodb');
    const held = this.records.get(`${tenantId}/${id}`);
    if (held?.status !== 'in_progress' || held.fingerprint !== fingerprint) throw new ConflictError('changed');
    this.records.set(`${tenantId}/${id}`, { ...held, status: 'completed', response });
  }

  async settleUnknown(tenantId: string, id: string, fingerprint: string): Promise<void> {
    const held = this.records.get(`${tenantId}/${id}`);
    if (held?.status === 'in_progress' && held.fingerprint === fingerprint) this.records.set(`${tenantId}/${id}`, { ...held, status: 'unknown' });
  }

  async release(tenantId: string, id: string, fingerprint: string): Promise<void> {
    const held = this.records.get(`${tenantId}/${id}`);
    if (held?.status === 'in_progress' && held.fingerprint === fingerprint) this.records.delete(`${tenantId}/${id}`);
  }
}

/** Reversible and visibly not plaintext, bound to tenant and record like the envelope's AAD. */
const sealer: AnswerSealer = {
  seal: async (tenantId, recordId, plaintext) => ({
    keyId: 'dk_test',
    iv: new Uint8Array(12),
    ciphertext: Buffer.from(`${tenantId}|${recordId}|${plaintext}`).map((byte) => byte ^ 0x5a),
  }),
  open: async (tenantId, recordId, sealed) => {
    const text = Buffer.from(sealed.ciphertext.map((byte) => byte ^ 0x5a)).toString();
    const prefix = `${tenantId}|${recordId}|`;
    if (!text.startsWith(prefix)) throw new Error('wrong context');
    return text.slice(prefix.length);
  },
};

const setup = () => {
  let now = 1_000_000;
  const store = new InMemoryIdempotencyStore();
  const lost: unknown[] = [];
  const requests = new IdempotentRequests(
    store,
    sealer,
    { retentionMs: 86_400_000, leaseMs: 30_000 },
    (error) => lost.push(error),
    () => now,
  );
  return { store, requests, lost, advance: (ms: number) => (now += ms) };
};

const caller = { tenantId: 'acme', identityId: 'sa:app' };
const created: StoredAnswer = { status: 201, headers: { etag: '"1"' }, body: '{"version":1}' };
const fp = requestFingerprint('PUT', '/v1/secrets/db', '', '{"value":"x"}');

describe('IdempotentRequests', () => {
  it('runs the first request once and answers a retry with the first answer, marked as replayed', async () => {
    const { requests, store } = setup();
    let effects = 0;
    const execute = async () => {
      effects += 1;
      return created;
    };
    expect(await requests.run(caller, 'k1', fp, execute)).toEqual({ ...created, replayed: false });
    expect(await requests.run(caller, 'k1', fp, execute)).toEqual({ ...created, replayed: true });
    expect(effects).toBe(1);
    // The stored answer is sealed: its text is not in the record.
    const stored = [...store.records.values()][0]!;
    expect(Buffer.from(stored.response!.ciphertext).toString()).not.toContain('version');
  });

  it('refuses the same key for a different request and leaves the first answer in place', async () => {
    const { requests } = setup();
    await requests.run(caller, 'k1', fp, async () => created);
    const other = requestFingerprint('PUT', '/v1/secrets/db', '', '{"value":"y"}');
    await expect(requests.run(caller, 'k1', other, async () => created)).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    expect((await requests.run(caller, 'k1', fp, async () => ({ status: 500, headers: {} }))).status).toBe(201);
  });

  it('keeps keys apart per identity: the same key from another identity runs its own request', async () => {
    const { requests } = setup();
    await requests.run(caller, 'k1', fp, async () => created);
    const answer = await requests.run({ ...caller, identityId: 'sa:other' }, 'k1', fp, async () => ({ status: 200, headers: {}, body: '{}' }));
    expect(answer).toMatchObject({ status: 200, replayed: false });
  });

  it('answers a concurrent retry while the first is running with a conflict, and never runs it twice', async () => {
    const { requests } = setup();
    let release!: () => void;
    const first = requests.run(caller, 'k1', fp, () => new Promise<StoredAnswer>((resolve) => (release = () => resolve(created))));
    await Promise.resolve();
    await expect(requests.run(caller, 'k1', fp, async () => created)).rejects.toBeInstanceOf(ConflictError);
    release();
    expect((await first).replayed).toBe(false);
  });

  it('lets a retry run afresh when the first request changed nothing (4xx or 503)', async () => {
    const { requests } = setup();
    await expect(requests.run(caller, 'k1', fp, async () => Promise.reject(new DependencyUnavailableError('dynamodb')))).rejects.toThrow();
    await expect(requests.run(caller, 'k1', fp, async () => Promise.reject(new ValidationError('bad')))).rejects.toThrow();
    expect(await requests.run(caller, 'k1', fp, async () => created)).toMatchObject({ status: 201, replayed: false });
  });

  it('after a first request whose outcome is unknown, never runs again: in progress within the lease, outcome unknown after it', async () => {
    const { requests, advance } = setup();
    let effects = 0;
    await expect(
      requests.run(caller, 'k1', fp, async () => {
        effects += 1;
        throw new OutcomeUnknownError('timed out after sending');
      }),
    ).rejects.toBeInstanceOf(OutcomeUnknownError);
    // The first answer, again: outcome unknown, within the lease and after it.
    await expect(requests.run(caller, 'k1', fp, async () => created)).rejects.toBeInstanceOf(OutcomeUnknownError);
    advance(31_000);
    await expect(requests.run(caller, 'k1', fp, async () => created)).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(effects).toBe(1);
  });

  it('a first request that vanished (its instance died) holds the key in progress for the lease, then at outcome unknown', async () => {
    const { requests, advance } = setup();
    let release!: () => void;
    void requests.run(caller, 'k2', fp, () => new Promise<StoredAnswer>((resolve) => (release = () => resolve(created))));
    await Promise.resolve();
    await expect(requests.run(caller, 'k2', fp, async () => created)).rejects.toBeInstanceOf(ConflictError);
    advance(31_000);
    // The running request's lease has passed without an answer: a retry cannot know what it did.
    await expect(requests.run(caller, 'k2', fp, async () => created)).rejects.toBeInstanceOf(OutcomeUnknownError);
    release();
  });

  it('answers the change it made even when its answer cannot be remembered', async () => {
    const { requests, store, lost } = setup();
    store.failComplete = true;
    expect(await requests.run(caller, 'k1', fp, async () => created)).toMatchObject({ status: 201, replayed: false });
    expect(lost).toHaveLength(1);
  });

  it('forgets a key once its retention has passed', async () => {
    const { requests, advance } = setup();
    await requests.run(caller, 'k1', fp, async () => created);
    advance(86_400_001);
    expect(await requests.run(caller, 'k1', fp, async () => ({ status: 200, headers: {} }))).toMatchObject({ status: 200, replayed: false });
  });
});

describe('parseIdempotencyKey', () => {
  it('takes an sf-string or the same characters bare', () => {
    expect(parseIdempotencyKey('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toBe('8e03978e-40d5-43e8-bc93-6894a57f9324');
    expect(parseIdempotencyKey('abc_123')).toBe('abc_123');
  });

  it.each(['', '""', '"abc', 'a b', 'x'.repeat(256), 'caf\u00e9'])('refuses %j', (raw) => {
    expect(() => parseIdempotencyKey(raw)).toThrow(ValidationError);
  });
});

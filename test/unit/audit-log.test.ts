import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { genesisTime, InvalidAuditEventError, type AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { AUDIT_BATCH, AuditHmac, AuditLog } from '../../functions/domain/audit/audit-log.js';
import { DependencyUnavailableError } from '../../functions/domain/errors.js';
import { auditClock, InMemoryAuditStore, T0 } from './support/in-memory-audit.js';
import type { KeyWrapper } from '../../functions/domain/ports/keys.js';

const countingMetrics = () => {
  const written: string[] = [];
  let failed = 0;
  return {
    written,
    failed: () => failed,
    auditWritten: (outcome: string) => void written.push(outcome),
    auditWriteFailed: () => void (failed += 1),
  };
};

const setup = (options: { store?: InMemoryAuditStore; wrapper?: KeyWrapper } = {}) => {
  const store = options.store ?? new InMemoryAuditStore();
  const wrapper = options.wrapper ?? new LocalKeyWrapper(randomBytes(32));
  const metrics = countingMetrics();
  const forwarded: AuditEvent[] = [];
  const clock = auditClock();
  const log = new AuditLog(store, new AuditHmac(store, wrapper), metrics, { send: (event) => void forwarded.push(event) }, clock.now);
  return { store, wrapper, metrics, forwarded, clock, log };
};

describe('AuditLog.record', () => {
  it('stores a validated event with an id and the clock time, then counts and forwards it', async () => {
    const { store, metrics, forwarded, log } = setup();
    const event = await log.record({ type: 'secret.read', outcome: 'success', tenantId: 'acme', path: 'app/db', requestId: '', details: {} });
    expect(event.eventId).toMatch(/^aev_[0-9a-f]{32}$/);
    expect(event.time).toBe('2026-04-21T12:00:00.000Z');
    // Empty strings and empty details are left out, so the stored item reads back as the same event.
    expect(event).not.toHaveProperty('requestId');
    expect(event).not.toHaveProperty('details');
    expect(store.find(event.eventId).event).toEqual(event);
    expect(store.genesisTime).toBe(genesisTime(T0));
    expect(metrics.written).toEqual(['success']);
    expect(forwarded).toEqual([event]);
  });

  it('refuses an invalid draft with InvalidAuditEventError, writing and counting nothing', async () => {
    const { store, metrics, forwarded, log } = setup();
    await expect(log.record({ type: 'Not A Type', outcome: 'success' })).rejects.toBeInstanceOf(InvalidAuditEventError);
    expect(store.appendBatches).toEqual([]);
    expect(metrics.failed()).toBe(0);
    expect(forwarded).toEqual([]);
  });

  it('group-commits concurrent records: 60 at once take a few batch writes of at most 25', async () => {
    const { store, log } = setup();
    const events = await Promise.all(Array.from({ length: 60 }, (_, i) => log.record({ type: 'secret.read', outcome: 'success', path: `app/s${i}` })));
    expect(new Set(events.map((event) => event.eventId)).size).toBe(60);
    expect(store.items.size).toBe(60);
    expect(store.appendBatches.length).toBeLessThanOrEqual(5);
    expect(Math.max(...store.appendBatches)).toBeLessThanOrEqual(AUDIT_BATCH);
    expect(store.appendBatches.reduce((a, b) => a + b, 0)).toBe(60);
  });

  it('writes sequential records one at a time, without waiting for company', async () => {
    const { store, log } = setup();
    for (let i = 0; i < 3; i += 1) await log.record({ type: 'secret.read', outcome: 'success' });
    expect(store.appendBatches).toEqual([1, 1, 1]);
  });

  it('fails closed: a store failure rejects every waiting record with DependencyUnavailableError, counts each, forwards none', async () => {
    const { store, metrics, forwarded, log } = setup();
    await log.record({ type: 'secret.read', outcome: 'success' });
    store.appendFailure = new Error('ProvisionedThroughputExceeded');
    const results = await Promise.allSettled(Array.from({ length: 30 }, () => log.record({ type: 'secret.write', outcome: 'success' })));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as DependencyUnavailableError;
      expect(reason).toBeInstanceOf(DependencyUnavailableError);
      expect(reason.dependency).toBe('audit');
      expect((reason.cause as Error).message).toBe('ProvisionedThroughputExceeded');
    }
    // The counter is "audit events that could not be written", one per refused request.
    expect(metrics.failed()).toBe(30);
    expect(metrics.written).toEqual(['success']);
    expect(forwarded).toHaveLength(1);
    expect(store.items.size).toBe(1);

    store.appendFailure = undefined;
    await expect(log.record({ type: 'secret.write', outcome: 'success' })).resolves.toBeDefined();
    expect(forwarded).toHaveLength(2);
  });

  it('fails closed when the genesis cannot be recorded, and retries it on the next record', async () => {
    const { store, metrics, log } = setup();
    const ensure = store.ensureGenesis.bind(store);
    let down = true;
    store.ensureGenesis = async (time) => {
      if (down) throw new Error('dynamodb down');
      return ensure(time);
    };
    await expect(log.record({ type: 'secret.read', outcome: 'success' })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(metrics.failed()).toBe(1);
    expect(store.appendBatches).toEqual([]);
    down = false;
    await log.record({ type: 'secret.read', outcome: 'success' });
    expect(store.items.size).toBe(1);
  });

  it('fails closed when the key provider cannot unwrap the HMAC key', async () => {
    const wrapper = new LocalKeyWrapper(randomBytes(32));
    const broken: KeyWrapper = {
      ...wrapper,
      provider: 'local',
      generateDataKey: (c) => wrapper.generateDataKey(c),
      describe: () => wrapper.describe(),
      unwrap: async () => Promise.reject(new Error('kms throttled')),
    };
    const { store, metrics, log } = setup({ wrapper: broken });
    await expect(log.record({ type: 'auth.login', outcome: 'success', sensitive: { token: 'svt_x' } })).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(metrics.failed()).toBe(1);
    expect(store.items.size).toBe(0);
  });
});

describe('sensitive values', () => {
  const SECRET = 'svt_Sup3rSecretTokenValue-0123456789abcdefghij';

  it('become hmac-sha256 and the raw value is nowhere in the stored or forwarded event', async () => {
    const { store, forwarded, log } = setup();
    const event = await log.record({ type: 'auth.login', outcome: 'failure', identityId: 'user:bob', sensitive: { token: SECRET, value: 'hunter2' } });
    expect(event.hmac?.token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(event.hmac?.value).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(event.hmac?.token).not.toBe(event.hmac?.value);
    const stored = JSON.stringify([...store.items.values()]);
    expect(stored).not.toContain(SECRET);
    expect(stored).not.toContain('hunter2');
    expect(stored).not.toContain('sensitive');
    expect(JSON.stringify(forwarded)).not.toContain(SECRET);
    // The wrapped key is stored, not the key itself.
    expect(store.hmacKey).toBeDefined();
  });

  it('hash() gives the value an operator searches for', async () => {
    const { log } = setup();
    const event = await log.record({ type: 'auth.login', outcome: 'failure', sensitive: { token: SECRET } });
    expect(await log.hash(SECRET)).toBe(event.hmac?.token);
    expect(await log.hash(`${SECRET}x`)).not.toBe(event.hmac?.token);
  });

  it('HMACs alike across AuditHmac instances sharing a store, even when both create the key at once', async () => {
    const store = new InMemoryAuditStore();
    const wrapper = new LocalKeyWrapper(randomBytes(32));
    const [a, b] = [new AuditHmac(store, wrapper), new AuditHmac(store, wrapper)];
    const [fromA, fromB] = await Promise.all([a.of(SECRET), b.of(SECRET)]);
    expect(fromA).toBe(fromB);
    expect(await new AuditHmac(store, wrapper).of(SECRET)).toBe(fromA);
    // A different deployment (another store, another key) gives another HMAC.
    expect(await new AuditHmac(new InMemoryAuditStore(), wrapper).of(SECRET)).not.toBe(fromA);
  });

  it('unwraps the HMAC key once per instance', async () => {
    const inner = new LocalKeyWrapper(randomBytes(32));
    let unwraps = 0;
    const wrapper: KeyWrapper = {
      provider: 'local',
      generateDataKey: (c) => inner.generateDataKey(c),
      describe: () => inner.describe(),
      unwrap: (w, c) => ((unwraps += 1), inner.unwrap(w, c)),
    };
    const hmac = new AuditHmac(new InMemoryAuditStore(), wrapper);
    await Promise.all(Array.from({ length: 10 }, (_, i) => hmac.of(`v${i}`)));
    expect(unwraps).toBe(1);
  });
});

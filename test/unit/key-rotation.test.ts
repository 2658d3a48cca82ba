import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import { KeyRotationService, progressRatio, sealedItemCounts, type KeyRotationOptions } from '../../functions/domain/crypto/key-rotation.js';
import { ConflictError } from '../../functions/domain/errors.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { keyRotationGauges } from '../../functions/observability/state-gauges.js';
import { InMemoryAuthRepository } from './support/in-memory-auth-repository.js';
import { InMemoryKeyRotationStore, InMemorySealedKind } from './support/in-memory-key-rotation.js';
import { RecordingAuditLog, RecordingLogger } from './support/recorders.js';

const TENANT = 'acme';
const DAY = 24 * 3600 * 1000;

const fixture = async (options: Partial<KeyRotationOptions> = {}) => {
  const repository = new InMemoryAuthRepository();
  const keys = new KeyManager(new LocalKeyWrapper(randomBytes(32)), repository, new DataKeyCache(300, 100));
  const oldKeyId = await keys.createDataKey(TENANT);
  await repository.createTenant({ tenantId: TENANT, displayName: TENANT, activeKeyId: oldKeyId, createdAt: new Date().toISOString() });
  const secrets = new InMemorySealedKind('secret_version');
  const signing = new InMemorySealedKind('webhook_signing_secret');
  const store = new InMemoryKeyRotationStore(repository);
  const audit = new RecordingAuditLog();
  const events: VaultEvent[] = [];
  const logger = new RecordingLogger();
  let now = Date.now();
  const service = () =>
    new KeyRotationService({
      store,
      kinds: [secrets, signing],
      keys,
      tenants: { listTenantIds: () => repository.listTenantIds(), activeKeyId: async (tenantId) => repository.tenants.get(tenantId)?.activeKeyId ?? '' },
      audit,
      events: { publish: async (event) => void events.push(event) },
      logger,
      options: { batchSize: 7, concurrency: 4, conflictRetries: 3, rotationDays: 0, ...options },
      now: () => now,
    });
  const seal = async (kind: InMemorySealedKind, id: string, value: string, keyId = repository.tenants.get(TENANT)?.activeKeyId ?? '') => {
    const context = { tenantId: TENANT, path: id, version: 1 };
    kind.put(id, await keys.seal(keyId, value, context), context);
  };
  const valueOf = async (kind: InMemorySealedKind, id: string) => {
    const item = kind.items.get(id);
    return item ? keys.open(item.sealed, item.context) : undefined;
  };
  return { repository, keys, oldKeyId, secrets, signing, store, audit, events, logger, service, seal, valueOf, advance: (ms: number) => (now += ms) };
};

const keyIdsOf = (kind: InMemorySealedKind) => new Set([...kind.items.values()].map((item) => item.sealed.keyId));

describe('KeyRotationService', () => {
  it('re-seals every item of every kind under the new key in bounded batches, then retires the old key', async () => {
    const f = await fixture();
    for (let i = 0; i < 40; i += 1) await f.seal(f.secrets, `s${i}`, `value-${i}`);
    for (let i = 0; i < 5; i += 1) await f.seal(f.signing, `w${i}`, `whsec-${i}`);
    const rotation = await f.service().start(TENANT, 'manual', 'user:ops@example.com');
    expect(f.repository.tenants.get(TENANT)?.activeKeyId).toBe(rotation.targetKeyId);
    expect(progressRatio(rotation)).toBe(0);

    const tick = await f.service().tick(60_000);

    expect(tick.resealed).toBe(45);
    // Count pass (7 batches), re-seal pass, verifying pass: each a page of at most 7 items and a saved cursor.
    expect(tick.batches).toBeGreaterThanOrEqual(3 * 7);
    const finished = await f.store.get(TENANT);
    expect(finished).toMatchObject({ state: 'finished', total: 45, done: 45, pass: 2 });
    expect(progressRatio(finished!)).toBe(1);
    expect(sealedItemCounts(finished!)).toEqual({ active: 45, older: 0 });
    expect(keyIdsOf(f.secrets)).toEqual(new Set([rotation.targetKeyId]));
    expect(keyIdsOf(f.signing)).toEqual(new Set([rotation.targetKeyId]));
    for (let i = 0; i < 40; i += 1) expect(await f.valueOf(f.secrets, `s${i}`)).toBe(`value-${i}`);
    expect(f.repository.dataKeys.get(`${TENANT}/${f.oldKeyId}`)?.state).toBe('retired');
    expect(f.repository.dataKeys.get(`${TENANT}/${rotation.targetKeyId}`)?.state).toBe('active');
    // Values sealed under the retired key still open: reads unwrap any key by the id recorded with the value.
    expect(f.audit.ofType('key_rotation.started')[0]).toMatchObject({ tenantId: TENANT, identityId: 'user:ops@example.com', details: { reason: 'manual' } });
    expect(f.audit.ofType('key_rotation.finished')[0]?.details).toMatchObject({ resealed: 45, retired_keys: 1 });
    expect(f.events.map((event) => event.type)).toEqual(['key.rotation_started', 'key.rotation_finished']);
  });

  it('refuses a second rotation while one runs, and allows one after it finished', async () => {
    const f = await fixture();
    await f.seal(f.secrets, 's', 'v');
    await f.service().start(TENANT, 'manual', 'root');
    await expect(f.service().start(TENANT, 'manual', 'root')).rejects.toBeInstanceOf(ConflictError);
    await f.service().tick(60_000);
    const second = await f.service().start(TENANT, 'manual', 'root');
    await f.service().tick(60_000);
    expect(keyIdsOf(f.secrets)).toEqual(new Set([second.targetKeyId]));
    expect(await f.valueOf(f.secrets, 's')).toBe('v');
  });

  it('loses no concurrent write: a lost conditional write re-reads the item and re-seals the new value', async () => {
    const f = await fixture();
    for (let i = 0; i < 10; i += 1) await f.seal(f.secrets, `s${i}`, `old-${i}`);
    const rotation = await f.service().start(TENANT, 'manual', 'root');
    let raced = false;
    f.secrets.beforeReplace = async (current) => {
      if (raced || current.id !== 's3') return;
      raced = true;
      // A writer whose cached view still says the old key is active writes between our read and our write.
      await f.seal(f.secrets, 's3', 'written-during-rotation', f.oldKeyId);
    };
    await f.service().tick(60_000);

    expect(f.secrets.conflicts).toBe(1);
    expect(await f.valueOf(f.secrets, 's3')).toBe('written-during-rotation');
    expect(f.secrets.items.get('s3')?.sealed.keyId).toBe(rotation.targetKeyId);
    expect((await f.store.get(TENANT))?.state).toBe('finished');
  });

  it('catches a value sealed under the old key behind the cursor with a further pass before retiring the key', async () => {
    const f = await fixture({ batchSize: 2 });
    for (let i = 0; i < 6; i += 1) await f.seal(f.secrets, `s${i}`, `v${i}`);
    await f.service().start(TENANT, 'manual', 'root');
    let wrote = false;
    f.secrets.beforeReplace = async (current) => {
      if (wrote || current.id !== 's4') return;
      wrote = true;
      // s0 was re-sealed two pages ago; a writer with a stale view of the active key seals it under the old one.
      await f.seal(f.secrets, 's0', 'late write', f.oldKeyId);
    };
    await f.service().tick(60_000);

    const finished = (await f.store.get(TENANT))!;
    expect(finished.state).toBe('finished');
    expect(wrote).toBe(true);
    // Pass 1 re-sealed 6, pass 2 met the late write and re-sealed it, pass 3 met nothing and finished.
    expect(finished.pass).toBe(3);
    expect(f.secrets.replaced).toBe(7);
    expect(keyIdsOf(f.secrets)).toEqual(new Set([finished.targetKeyId]));
    expect(await f.valueOf(f.secrets, 's0')).toBe('late write');
  });

  it('resumes after a crash from the persisted cursor, re-sealing nothing twice', async () => {
    const f = await fixture({ batchSize: 5 });
    for (let i = 0; i < 30; i += 1) await f.seal(f.secrets, `s${i}`, `v${i}`);
    await f.service().start(TENANT, 'manual', 'root');
    f.secrets.failOnRead = (id) => id === 's17';
    const crashed = await f.service().tick(60_000);
    const saved = (await f.store.get(TENANT))!;
    expect(crashed.finished).toBe(0);
    expect(saved).toMatchObject({ state: 'running', phase: 'reseal', pass: 1, cursor: '15' });
    expect(f.logger.messages('warn').some((message) => message.includes('rotation batch failed'))).toBe(true);

    f.secrets.failOnRead = undefined;
    const resumed = await f.service().tick(60_000);
    expect(resumed.finished).toBe(1);
    // The crashed batch's items re-sealed before the crash are skipped on re-read, not re-sealed.
    expect(f.secrets.replaced).toBe(30);
    for (let i = 0; i < 30; i += 1) expect(await f.valueOf(f.secrets, `s${i}`)).toBe(`v${i}`);
    expect(progressRatio((await f.store.get(TENANT))!)).toBe(1);
  });

  it('stops after its time budget with the cursor saved, and the next tick continues', async () => {
    const f = await fixture({ batchSize: 3 });
    for (let i = 0; i < 12; i += 1) await f.seal(f.secrets, `s${i}`, `v${i}`);
    await f.service().start(TENANT, 'manual', 'root');
    const first = await f.service().tick(0);
    expect(first.batches).toBe(0);
    expect((await f.store.get(TENANT))?.state).toBe('running');
    await f.service().tick(60_000);
    expect((await f.store.get(TENANT))?.state).toBe('finished');
  });

  it('starts a rotation on schedule once the active key is older than the configured days', async () => {
    const f = await fixture({ rotationDays: 30 });
    await f.seal(f.secrets, 's', 'v');
    expect((await f.service().tick(60_000)).started).toBe(0);
    f.advance(31 * DAY);
    const tick = await f.service().tick(60_000);
    expect(tick.started).toBe(1);
    expect(await f.store.get(TENANT)).toMatchObject({ reason: 'schedule', state: 'finished' });
    expect(f.audit.ofType('key_rotation.started')[0]?.identityId).toBe('system:key-rotation');
    // Not again until another 30 days have passed since that rotation.
    f.advance(DAY);
    expect((await f.service().tick(60_000)).started).toBe(0);
  });

  it('finishes a rotation at once when nothing lagged, with a progress of 1', async () => {
    const f = await fixture();
    await f.service().start(TENANT, 'manual', 'root');
    await f.service().tick(60_000);
    const rotation = (await f.store.get(TENANT))!;
    expect(rotation).toMatchObject({ state: 'finished', total: 0 });
    expect(progressRatio(rotation)).toBe(1);
  });
});

describe('keyRotationGauges', () => {
  const base = { rotationId: 'krot_x', targetKeyId: 'dk_new', kind: 'secret_version', cursor: undefined, passActive: 0, passOlder: 0, reason: 'manual' };
  const at = { startedAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z', revision: 3 };

  it('reports each tenant as active with its progress, and sums sealed items by key state', () => {
    const running = {
      ...base,
      ...at,
      tenantId: 'acme',
      state: 'running',
      phase: 'reseal',
      pass: 1,
      total: 200,
      done: 50,
      activeItems: 10,
      olderItems: 200,
    } as const;
    const finished = {
      ...base,
      ...at,
      tenantId: 'globex',
      state: 'finished',
      phase: 'reseal',
      pass: 2,
      total: 5,
      done: 5,
      activeItems: 30,
      olderItems: 0,
    } as const;
    const gauges = keyRotationGauges([running, finished]);
    expect(gauges.scaivault_key_rotation_active).toEqual({ acme: 1, globex: 0 });
    expect(gauges.scaivault_key_rotation_progress_ratio).toEqual({ acme: 0.25, globex: 1 });
    // acme: 10 counted under the new key plus 50 moved; 150 still lag. globex: 30, none lag.
    expect(gauges.scaivault_sealed_items).toEqual({ active: 90, older: 150 });
  });
});

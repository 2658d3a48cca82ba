import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { AuditDetector } from '../../functions/domain/audit/detections.js';
import { InMemoryDetectionState, sampleEvent, T0 } from './support/in-memory-audit.js';

const DAY = 86_400_000;
const OPTIONS = { violationSpikeThreshold: 3, dormantMs: 30 * DAY, sensitivePaths: ['prod/**'] };

const at = (ms: number): string => new Date(ms).toISOString();
const violation = (tenantId: string, identityId?: string): AuditEvent => sampleEvent({ type: 'policy_violation', outcome: 'denied', tenantId, identityId });
const read = (path: string, ms: number, overrides: Partial<AuditEvent> = {}): AuditEvent =>
  sampleEvent({ type: 'secret.read', path, time: at(ms), ...overrides });

const detector = (options: Partial<typeof OPTIONS> = {}) => {
  const state = new InMemoryDetectionState();
  return { state, detector: new AuditDetector(state, { ...OPTIONS, ...options }) };
};

describe('policy_violation_spike', () => {
  it('fires once per tenant at the threshold, not below it', async () => {
    const { detector: d } = detector();
    const below = [violation('acme', 'user:a'), violation('acme', 'user:a')];
    expect(await d.inspect(below)).toEqual([]);
    const spike = [violation('acme', 'user:a'), violation('acme', 'user:b'), violation('acme'), violation('acme', 'user:a')];
    expect(await d.inspect(spike)).toEqual([
      { kind: 'policy_violation_spike', tenantId: 'acme', details: { violations: 4, threshold: 3, identities: 3, first_event_id: spike[0]!.eventId } },
    ]);
  });

  it('counts tenants apart and ignores violations without a tenant and other event types', async () => {
    const { detector: d } = detector();
    const events = [
      violation('acme'),
      violation('acme'),
      violation('globex'),
      violation('globex'),
      violation('globex'),
      sampleEvent({ type: 'policy_violation', tenantId: undefined }),
      sampleEvent({ type: 'auth.denied', outcome: 'denied', tenantId: 'acme' }),
    ];
    const found = await d.inspect(events);
    expect(found.map((detection) => [detection.kind, detection.tenantId])).toEqual([['policy_violation_spike', 'globex']]);
  });

  it('honours a threshold of 1', async () => {
    const { detector: d } = detector({ violationSpikeThreshold: 1 });
    expect(await d.inspect([violation('acme')])).toHaveLength(1);
  });
});

describe('dormant_secret_read', () => {
  it('fires when a path is read again after the dormant period, not before, and not on the first read', async () => {
    const { detector: d } = detector({ sensitivePaths: [] });
    expect(await d.inspect([read('app/db', T0)])).toEqual([]);
    expect(await d.inspect([read('app/db', T0 + 30 * DAY - 1)])).toEqual([]);
    const late = read('app/db', T0 + 60 * DAY - 1, { identityId: 'user:mallory' });
    expect(await d.inspect([late])).toEqual([
      {
        kind: 'dormant_secret_read',
        tenantId: 'acme',
        path: 'app/db',
        identityId: 'user:mallory',
        details: { idle_seconds: 30 * 86_400, last_read_at: at(T0 + 30 * DAY - 1), event_id: late.eventId },
      },
    ]);
  });

  it('fires at exactly the dormant period', async () => {
    const { detector: d } = detector({ sensitivePaths: [] });
    await d.inspect([read('app/db', T0)]);
    expect((await d.inspect([read('app/db', T0 + 30 * DAY)])).map((x) => x.kind)).toEqual(['dormant_secret_read']);
  });

  it('ignores a read record written ahead and voided by its request (its value never left)', async () => {
    const { detector: d } = detector({ sensitivePaths: [] });
    await d.inspect([read('app/db', T0)]);
    const ahead = read('app/db', T0 + 30 * DAY);
    const failed = read('app/db', T0 + 30 * DAY + 5, { outcome: 'failure', status: 404, details: { voids: ahead.eventId } });
    expect(await d.inspect([ahead, failed])).toEqual([]);
  });

  it('keeps paths and tenants apart and looks only at successful secret reads', async () => {
    const { detector: d, state } = detector({ sensitivePaths: [] });
    await d.inspect([read('app/db', T0), read('app/db', T0, { tenantId: 'globex' })]);
    const later = T0 + 40 * DAY;
    const found = await d.inspect([
      read('app/other', later),
      read('app/db', later, { outcome: 'denied' }),
      read('app/db', later, { type: 'secret.write' }),
      read('app/db', later, { tenantId: 'globex' }),
    ]);
    expect(found.map((x) => [x.kind, x.tenantId, x.path])).toEqual([['dormant_secret_read', 'globex', 'app/db']]);
    // The denied read did not count as a read either.
    expect(state.lastRead.get('acme\u0000app/db')).toBe(T0);
  });
});

describe('new_identity_sensitive_read', () => {
  it('fires the first time each identity reads a sensitive path, and only then', async () => {
    const { detector: d } = detector();
    const first = read('prod/db/password', T0, { identityId: 'user:alice' });
    expect(await d.inspect([first])).toEqual([
      { kind: 'new_identity_sensitive_read', tenantId: 'acme', path: 'prod/db/password', identityId: 'user:alice', details: { event_id: first.eventId } },
    ]);
    expect(await d.inspect([read('prod/db/password', T0 + 1, { identityId: 'user:alice' })])).toEqual([]);
    expect((await d.inspect([read('prod/db/password', T0 + 2, { identityId: 'user:bob' })])).map((x) => x.identityId)).toEqual(['user:bob']);
    // Another path under the glob is another first read.
    expect(await d.inspect([read('prod/api/key', T0 + 3, { identityId: 'user:alice' })])).toHaveLength(1);
  });

  it('ignores paths outside the sensitive globs and reads without an identity', async () => {
    const { detector: d } = detector();
    expect(await d.inspect([read('staging/db', T0), read('production/db', T0), read('prod/db', T0, { identityId: undefined })])).toEqual([]);
  });

  it('raises both read detections for one event when both apply', async () => {
    const { detector: d } = detector();
    await d.inspect([read('prod/db', T0, { identityId: 'user:alice' })]);
    const found = await d.inspect([read('prod/db', T0 + 31 * DAY, { identityId: 'user:eve' })]);
    expect(found.map((x) => x.kind)).toEqual(['dormant_secret_read', 'new_identity_sensitive_read']);
  });
});

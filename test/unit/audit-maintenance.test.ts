import { describe, expect, it } from 'vitest';
import { InstrumentedAuditAnchors } from '../../functions/observability/instrumented-audit-anchors.js';
import { AuditSealer, AuditVerifier } from '../../functions/domain/audit/audit-chain.js';
import { auditKeyOf } from '../../functions/domain/audit/audit-event.js';
import { AuditMaintenance, recordAfter, SCHEDULER_IDENTITY } from '../../functions/domain/audit/audit-maintenance.js';
import { AuditDetector } from '../../functions/domain/audit/detections.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { RecordingAuditLog as RecordingLog, RecordingLogger } from './support/recorders.js';
import { auditClock, InMemoryAuditAnchors, InMemoryAuditStore, InMemoryDetectionState, sampleEvent, T0 } from './support/in-memory-audit.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const setup = (options: { violationSpikeThreshold?: number } = {}) => {
  const store = new InMemoryAuditStore();
  const anchors = new InMemoryAuditAnchors();
  const clock = auditClock();
  const log = new RecordingLog();
  const logger = new RecordingLogger();
  const published: VaultEvent[] = [];
  const detected: string[] = [];
  const seals: string[] = [];
  let publishFailures = 0;
  const maintenance = new AuditMaintenance({
    store,
    anchors,
    sealer: new AuditSealer(store, anchors, { graceMs: 0, blockMaxEvents: 1000, blocksPerRun: 10 }, clock.now),
    verifier: new AuditVerifier(store, anchors, clock.now),
    detector: new AuditDetector(new InMemoryDetectionState(), {
      violationSpikeThreshold: options.violationSpikeThreshold ?? 100,
      dormantMs: 1e12,
      sensitivePaths: [],
    }),
    log,
    events: {
      publish: async (event) => {
        if (publishFailures > 0) {
          publishFailures -= 1;
          throw new Error('subscriber down');
        }
        published.push(event);
      },
    },
    metrics: { auditDetection: (kind) => void detected.push(kind), auditSealed: (result) => void seals.push(result) },
    logger,
    verifyMsPerRun: 1000,
    now: clock.now,
  });
  const write = async (...events: ReturnType<typeof sampleEvent>[]) => {
    await store.ensureGenesis(iso(T0));
    await store.append(events);
  };
  return { store, anchors, clock, log, logger, published, detected, seals, maintenance, write, failPublishes: (n: number) => void (publishFailures = n) };
};

describe('AuditMaintenance.sealAndVerify', () => {
  it('counts every seal run by result, and an anchor that cannot be written by its error class', async () => {
    const { clock, maintenance, write, anchors, seals } = setup();
    await write(sampleEvent({ time: iso(T0 + 1) }));
    clock.set(T0 + 10_000);
    await maintenance.sealAndVerify();
    const failures: string[] = [];
    const instrumented = new InstrumentedAuditAnchors(anchors, { auditAnchorFailed: (reason) => void failures.push(reason) });
    anchors.put = async () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(instrumented.put({ seq: 9 } as never)).rejects.toThrow('denied');
    await write(sampleEvent({ time: iso(T0 + 20_000) }));
    clock.set(T0 + 30_000);
    await expect(maintenance.sealAndVerify()).rejects.toThrow('denied');
    expect(seals).toEqual(['success', 'failed']);
    expect(failures).toEqual(['auth']);
  });

  it('seals the new events, says so in the trail, and verifies the chain', async () => {
    const { clock, log, maintenance, write, anchors } = setup();
    await write(sampleEvent({ time: iso(T0 + 1) }), sampleEvent({ time: iso(T0 + 2) }));
    clock.set(T0 + 10_000);
    const run = await maintenance.sealAndVerify();
    expect(run).toMatchObject({ blocks: 1, events: 2, detections: 0, verify: { ok: true } });
    expect(log.ofType('audit.sealed')).toEqual([
      { type: 'audit.sealed', outcome: 'success', identityId: SCHEDULER_IDENTITY, details: { blocks: 1, first_block: 0, last_block: 0, events: 2 } },
    ]);
    expect(anchors.objects.size).toBe(1);
  });

  it('raises each detection as a metric, an audit event and a domain event', async () => {
    const { clock, log, published, detected, maintenance, write } = setup({ violationSpikeThreshold: 2 });
    const violation = () => sampleEvent({ type: 'policy_violation', outcome: 'denied', tenantId: 'acme', time: iso(T0 + 1) });
    await write(violation(), violation());
    clock.set(T0 + 10_000);
    expect((await maintenance.sealAndVerify()).detections).toBe(1);
    expect(detected).toEqual(['policy_violation_spike']);
    expect(log.ofType('detection.policy_violation_spike')).toEqual([
      expect.objectContaining({ outcome: 'success', tenantId: 'acme', identityId: SCHEDULER_IDENTITY, details: expect.objectContaining({ violations: 2 }) }),
    ]);
    expect(published).toEqual([expect.objectContaining({ type: 'audit.policy_violation_spike', tenantId: 'acme', occurredAt: iso(T0 + 10_000) })]);
  });

  it('does not let one detection that cannot be published cost the others theirs', async () => {
    const { clock, log, logger, published, maintenance, write, failPublishes } = setup({ violationSpikeThreshold: 1 });
    await write(
      sampleEvent({ type: 'policy_violation', outcome: 'denied', tenantId: 'acme', time: iso(T0 + 1) }),
      sampleEvent({ type: 'policy_violation', outcome: 'denied', tenantId: 'globex', time: iso(T0 + 2) }),
    );
    clock.set(T0 + 10_000);
    failPublishes(1);
    const run = await maintenance.sealAndVerify();
    expect(run.detections).toBe(2);
    expect(published).toHaveLength(1);
    expect(logger.messages('error')).toEqual(['audit detection not fully raised']);
    expect(log.ofType('audit.sealed')).toHaveLength(1);
  });

  it('reports a divergence in the log and in the trail, and survives losing that record', async () => {
    const { store, clock, log, logger, maintenance, write } = setup();
    const event = sampleEvent({ time: iso(T0 + 1) });
    await write(event);
    clock.set(T0 + 10_000);
    await maintenance.sealAndVerify();
    // An attacker with table access rewrites the sealed event.
    store.items.set(auditKeyOf(event), { ...event, path: 'somewhere/else' });
    log.failing.add('audit.divergence');
    const run = await maintenance.sealAndVerify();
    expect(run.verify.ok).toBe(false);
    expect(logger.messages('error')).toEqual(['audit chain divergence', 'audit divergence event not written']);
    log.failing.clear();
    await maintenance.sealAndVerify();
    expect(log.ofType('audit.divergence')).toEqual([
      expect.objectContaining({ outcome: 'error', identityId: SCHEDULER_IDENTITY, details: expect.objectContaining({ block: 0 }) }),
    ]);
  });

  it('fails the run when the sealed record cannot be written (the scheduler retries it)', async () => {
    const { clock, log, maintenance, write } = setup();
    await write(sampleEvent({ time: iso(T0 + 1) }));
    clock.set(T0 + 10_000);
    log.failing.add('audit.sealed');
    await expect(maintenance.sealAndVerify()).rejects.toThrow('down');
  });
});

describe('AuditMaintenance.restoreAnchors', () => {
  it('anchors again only the blocks whose anchor is missing', async () => {
    const { clock, anchors, maintenance, write } = setup();
    for (let i = 1; i <= 3; i += 1) {
      await write(sampleEvent({ time: iso(T0 + i * 1000) }));
      clock.set(T0 + i * 1000 + 500);
      await maintenance.sealAndVerify();
    }
    expect(anchors.objects.size).toBe(3);
    anchors.objects.delete(1);
    expect(await maintenance.restoreAnchors()).toBe(1);
    expect([...anchors.objects.keys()].sort()).toEqual([0, 1, 2]);
    expect(await maintenance.restoreAnchors()).toBe(0);
  });
});

describe('recordAfter', () => {
  it('writes the record', async () => {
    const log = new RecordingLog();
    await recordAfter(log, { type: 'webhook.delivery', outcome: 'success', identityId: 'system:test' }, new RecordingLogger());
    expect(log.ofType('webhook.delivery')).toHaveLength(1);
  });

  it('logs a record it could not write and lets the action stand', async () => {
    const log = new RecordingLog();
    const logger = new RecordingLogger();
    log.failing.add('webhook.delivery');
    await expect(recordAfter(log, { type: 'webhook.delivery', outcome: 'success', identityId: 'system:test' }, logger)).resolves.toBe(false);
    expect(logger.lines).toEqual([{ level: 'error', message: 'audit record lost', fields: { type: 'webhook.delivery', error: 'DependencyUnavailableError' } }]);
  });
});

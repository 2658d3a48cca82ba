// The scheduler's audit work: seal new events into blocks, raise the detections
// over them, verify the next slice of the chain; and, for a runtime whose S3
// forgets objects, re-anchor blocks from their DynamoDB copies.
import { describeError } from '../errors.js';
import type { EventPublisher } from '../ports/events.js';
import type { AuditAnchors, AuditStore } from '../ports/audit.js';
import type { OperationalAlerts } from '../ports/notifications.js';
import type { DomainLogger } from '../ports/logging.js';
import { UNTRACED_STEPS, type StepTracer } from '../ports/tracing.js';
import type { AuditDetectionMetrics, AuditSealMetrics } from '../ports/metrics.js';
import type { AuditSealer, AuditVerifier, VerifyResult } from './audit-chain.js';
import type { AuditDraft } from './audit-event.js';
import type { AuditDetector, Detection } from './detections.js';

export const SCHEDULER_IDENTITY = 'system:scheduler';

/** Where the steps write their audit events. */
export interface AuditRecorder {
  record(draft: AuditDraft): Promise<unknown>;
}

export interface AuditMaintenanceRun {
  readonly blocks: number;
  readonly events: number;
  readonly detections: number;
  readonly verify: VerifyResult;
}

export interface AuditMaintenanceParts {
  readonly store: AuditStore;
  readonly anchors: AuditAnchors;
  readonly sealer: AuditSealer;
  readonly verifier: AuditVerifier;
  readonly detector: AuditDetector;
  readonly log: AuditRecorder;
  readonly events: EventPublisher;
  readonly metrics: AuditDetectionMetrics & Pick<AuditSealMetrics, 'auditSealed'>;
  readonly logger: DomainLogger;
  /** How long one run spends verifying the chain. */
  readonly verifyMsPerRun: number;
  readonly now?: () => number;
  /** Seal, detect and verify show as steps of the scheduler's run (untraced unless given). */
  readonly steps?: StepTracer;
  /** A divergence also reaches the on-call chat. */
  readonly alerts?: OperationalAlerts;
}

/** An after-the-fact record of a background action: a failure to write it is logged, the action stands. False when it was lost. */
export const recordAfter = async (log: AuditRecorder, draft: AuditDraft, logger: Pick<DomainLogger, 'error'>): Promise<boolean> =>
  log.record(draft).then(
    () => true,
    (error: unknown) => {
      logger.error('audit record lost', { type: draft.type, error: describeError(error) });
      return false;
    },
  );

export class AuditMaintenance {
  constructor(private readonly parts: AuditMaintenanceParts) {}

  /** One scheduler run: seal, raise detections, verify the next slice of the chain. */
  async sealAndVerify(): Promise<AuditMaintenanceRun> {
    const steps = this.parts.steps ?? UNTRACED_STEPS;
    const sealed = await steps.step(
      'audit seal',
      () => this.seal(),
      (s) => ({ 'scaivault.audit.blocks': s.blocks.length, 'scaivault.audit.events': s.events.length }),
    );
    const detections = await steps.step(
      'audit detect',
      () => this.detect(sealed.events),
      (d) => ({ 'scaivault.audit.detections': d }),
    );
    const verify = await steps.step(
      'audit verify',
      () => this.verify(),
      (v) => ({ 'scaivault.audit.chain_ok': v.ok, 'scaivault.audit.blocks_checked': v.checkedBlocks }),
    );
    return { blocks: sealed.blocks.length, events: sealed.events.length, detections, verify };
  }

  /** Seals new events into blocks and records that it did; every run counts, by result, with its time. */
  private async seal(): Promise<Awaited<ReturnType<AuditSealer['seal']>>> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    let sealed: Awaited<ReturnType<AuditSealer['seal']>>;
    try {
      sealed = await this.parts.sealer.seal();
    } catch (error) {
      this.parts.metrics.auditSealed('failed', seconds());
      throw error;
    }
    this.parts.metrics.auditSealed('success', seconds());
    if (sealed.blocks.length > 0) {
      await this.parts.log.record({
        type: 'audit.sealed',
        outcome: 'success',
        identityId: SCHEDULER_IDENTITY,
        details: { blocks: sealed.blocks.length, first_block: sealed.blocks[0]!.seq, last_block: sealed.blocks.at(-1)!.seq, events: sealed.events.length },
      });
    }
    return sealed;
  }

  /** Raises the detections over newly sealed events; returns how many. */
  private async detect(events: Parameters<AuditDetector['inspect']>[0]): Promise<number> {
    const { detector, logger } = this.parts;
    const detections = await detector.inspect(events);
    // One detection that cannot be recorded or published must not cost the others theirs.
    for (const detection of detections) {
      await this.raise(detection).catch((error: unknown) =>
        logger.error('audit detection not fully raised', { detection: detection.kind, tenant_id: detection.tenantId, error: describeError(error) }),
      );
    }
    return detections.length;
  }

  private async verify(): Promise<VerifyResult> {
    const verify = await this.parts.verifier.verifyNextSlice({ untilMs: (this.parts.now ?? Date.now)() + this.parts.verifyMsPerRun });
    if (verify.divergence) await this.reportDivergence(verify.divergence);
    return verify;
  }

  /**
   * Anchors every block whose anchor is missing, from its DynamoDB copy. Only
   * for the embedded runtime, whose in-memory S3 forgets objects on restart;
   * with S3 object lock an anchor is never missing.
   */
  async restoreAnchors(): Promise<number> {
    const { store, anchors } = this.parts;
    let restored = 0;
    for (let seq = 0; ; ) {
      const page = await store.blocks(seq, 100);
      if (page.length === 0) return restored;
      for (const block of page) {
        if (!(await anchors.exists(block.seq))) {
          await anchors.put(block);
          restored += 1;
        }
      }
      seq = page.at(-1)!.seq + 1;
    }
  }

  private async raise(detection: Detection): Promise<void> {
    const { metrics, logger, log, events } = this.parts;
    metrics.auditDetection(detection.kind);
    logger.warn('audit detection', {
      detection: detection.kind,
      tenant_id: detection.tenantId,
      path: detection.path ?? null,
      identity_id: detection.identityId ?? null,
    });
    await log.record({
      type: `detection.${detection.kind}`,
      outcome: 'success',
      tenantId: detection.tenantId,
      identityId: SCHEDULER_IDENTITY,
      path: detection.path,
      details: { ...detection.details, ...(detection.identityId ? { subject_identity: detection.identityId } : {}) },
    });
    await events.publish({
      type: `audit.${detection.kind}`,
      tenantId: detection.tenantId,
      data: { ...detection.details, path: detection.path ?? null, identity_id: detection.identityId ?? null },
      occurredAt: new Date((this.parts.now ?? Date.now)()).toISOString(),
    });
  }

  private async reportDivergence(divergence: NonNullable<VerifyResult['divergence']>): Promise<void> {
    const { logger, log } = this.parts;
    logger.error('audit chain divergence', { block: divergence.blockSeq, event_id: divergence.eventId ?? null, reason: divergence.reason });
    this.parts.alerts?.alert({
      event: 'audit.divergence',
      summary: `the audit chain diverges at block ${divergence.blockSeq}`,
      error: divergence.reason,
      severity: 'critical',
      at: (this.parts.now ?? Date.now)(),
    });
    const details = { block: divergence.blockSeq, reason: divergence.reason, ...(divergence.eventId ? { event_id: divergence.eventId } : {}) };
    await log
      .record({ type: 'audit.divergence', outcome: 'error', identityId: SCHEDULER_IDENTITY, details })
      .catch((error: unknown) => logger.error('audit divergence event not written', { error: describeError(error) }));
  }
}

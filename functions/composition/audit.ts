import { s3Client } from '../adapters/aws-clients.js';
import { DynamoDbAuditStore } from '../adapters/dynamodb/dynamodb-audit-store.js';
import { DynamoDbDetectionState } from '../adapters/dynamodb/dynamodb-detection-state.js';
import { S3AuditAnchors } from '../adapters/s3/s3-audit-anchors.js';
import { S3ExportTarget } from '../adapters/s3/s3-export-target.js';
import { SyslogForwarder } from '../adapters/syslog/syslog-forwarder.js';
import { ConfigError } from '../config.js';
import { AuditSealer, AuditVerifier, type VerifyResult } from '../domain/audit/audit-chain.js';
import type { AuditDraft } from '../domain/audit/audit-event.js';
import { AuditExporter } from '../domain/audit/audit-export.js';
import { AuditHmac, AuditLog } from '../domain/audit/audit-log.js';
import { AuditDetector, type Detection } from '../domain/audit/detections.js';
import { isValidGlob } from '../domain/auth/path-glob.js';
import { describeError, type Logger } from '../observability/logger.js';
import { ENV } from '../runtime/definitions.js';
import type { VaultCore } from './vault-core.js';

export const SCHEDULER_IDENTITY = 'system:scheduler';

/** The write side every function needs: the store and the fail-closed log. */
export interface AuditTrail {
  readonly store: DynamoDbAuditStore;
  readonly log: AuditLog;
  readonly forwarder: SyslogForwarder | undefined;
}

/** The whole trail: the write side plus sealing, verification and export (they need the audit bucket). */
export interface Audit extends AuditTrail {
  readonly sealer: AuditSealer;
  readonly verifier: AuditVerifier;
  readonly exporter: AuditExporter;
  /** One scheduler run: seal, raise detections, verify the next slice of the chain. */
  sealAndVerify(): Promise<{ blocks: number; events: number; detections: number; verify: VerifyResult }>;
  /**
   * Anchors every block whose anchor is missing, from its DynamoDB copy. Only
   * for the embedded runtime, whose in-memory S3 forgets objects on restart;
   * with S3 object lock an anchor is never missing.
   */
  restoreAnchors(): Promise<number>;
}

const trails = new WeakMap<VaultCore, AuditTrail>();
const composed = new WeakMap<VaultCore, Audit>();

const forwarderOf = (core: VaultCore, logger: Logger): SyslogForwarder | undefined => {
  const { syslogUrl, syslogCaFile } = core.config.audit;
  if (!syslogUrl) return undefined;
  const forwarder = new SyslogForwarder({ url: syslogUrl, caFile: syslogCaFile, onWarning: (message) => logger.warn(message, { component: 'syslog' }) });
  let counted = 0;
  core.registry.collect(() => {
    const dropped = forwarder.stats().dropped;
    if (dropped > counted) core.metrics.auditSyslogDropped(dropped - counted);
    counted = dropped;
  });
  return forwarder;
};

/** The audit log of one core (one process), with its syslog copy. */
export const composeAuditTrail = (core: VaultCore, logger: Logger): AuditTrail => {
  const existing = trails.get(core);
  if (existing) return existing;
  const store = new DynamoDbAuditStore(core.dynamodb, core.config.audit.table);
  const forwarder = forwarderOf(core, logger);
  const trail = { store, forwarder, log: new AuditLog(store, new AuditHmac(store, core.keyWrapper), core.metrics, forwarder) };
  trails.set(core, trail);
  return trail;
};

/** The audit trail with the sealer, verifier and exporter: the api and the scheduler. */
export const composeAudit = (core: VaultCore, logger: Logger): Audit => {
  const existing = composed.get(core);
  if (existing) return existing;
  const { config } = core;
  const bucket = config.auditBucket;
  if (!bucket) throw new ConfigError(`environment variable ${ENV.auditBucket} is required`);
  const invalid = config.audit.sensitivePaths.find((glob) => !isValidGlob(glob));
  if (invalid) throw new ConfigError(`${ENV.auditSensitivePaths} entry "${invalid}" is not a valid path glob`);
  const { store, log, forwarder } = composeAuditTrail(core, logger);
  const s3 = s3Client(core.clients);
  const anchors = new S3AuditAnchors(s3, bucket);
  const sealer = new AuditSealer(store, anchors, {
    graceMs: config.audit.sealGraceSeconds * 1000,
    blockMaxEvents: config.audit.blockMaxEvents,
    blocksPerRun: config.audit.blocksPerRun,
  });
  const verifier = new AuditVerifier(store, anchors);
  const detector = new AuditDetector(new DynamoDbDetectionState(core.dynamodb, config.stateTable), {
    violationSpikeThreshold: config.audit.violationSpikeThreshold,
    dormantMs: config.audit.dormantDays * 86_400_000,
    sensitivePaths: config.audit.sensitivePaths,
  });

  const raise = async (detection: Detection): Promise<void> => {
    core.metrics.auditDetection(detection.kind);
    logger.warn('audit detection', { detection: detection.kind, tenant_id: detection.tenantId, path: detection.path ?? null, identity_id: detection.identityId ?? null });
    await log.record({
      type: `detection.${detection.kind}`,
      outcome: 'success',
      tenantId: detection.tenantId,
      identityId: SCHEDULER_IDENTITY,
      path: detection.path,
      details: { ...detection.details, ...(detection.identityId ? { subject_identity: detection.identityId } : {}) },
    });
    await core.events.publish({
      type: `audit.${detection.kind}`,
      tenantId: detection.tenantId,
      data: { ...detection.details, path: detection.path ?? null, identity_id: detection.identityId ?? null },
      occurredAt: new Date().toISOString(),
    });
  };

  const sealAndVerify: Audit['sealAndVerify'] = async () => {
    const sealed = await sealer.seal();
    const detections = await detector.inspect(sealed.events);
    // One detection that cannot be recorded or published must not cost the others theirs.
    for (const detection of detections) {
      await raise(detection).catch((error: unknown) =>
        logger.error('audit detection not fully raised', { detection: detection.kind, tenant_id: detection.tenantId, error: describeError(error) }),
      );
    }
    if (sealed.blocks.length > 0) {
      await log.record({
        type: 'audit.sealed',
        outcome: 'success',
        identityId: SCHEDULER_IDENTITY,
        details: { blocks: sealed.blocks.length, first_block: sealed.blocks[0]!.seq, last_block: sealed.blocks.at(-1)!.seq, events: sealed.events.length },
      });
    }
    const verify = await verifier.verifyNextSlice({ untilMs: Date.now() + config.audit.verifySecondsPerRun * 1000 });
    if (verify.divergence) {
      logger.error('audit chain divergence', { block: verify.divergence.blockSeq, event_id: verify.divergence.eventId ?? null, reason: verify.divergence.reason });
      await log
        .record({ type: 'audit.divergence', outcome: 'error', identityId: SCHEDULER_IDENTITY, details: { block: verify.divergence.blockSeq, reason: verify.divergence.reason, ...(verify.divergence.eventId ? { event_id: verify.divergence.eventId } : {}) } })
        .catch((error: unknown) => logger.error('audit divergence event not written', { error: describeError(error) }));
    }
    return { blocks: sealed.blocks.length, events: sealed.events.length, detections: detections.length, verify };
  };

  const restoreAnchors = async (): Promise<number> => {
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
  };

  const audit: Audit = { store, log, sealer, verifier, exporter: new AuditExporter(store, new S3ExportTarget(s3, bucket)), forwarder, sealAndVerify, restoreAnchors };
  composed.set(core, audit);
  return audit;
};

/** An after-the-fact record of a background action: a failure to write it is logged, the action stands. */
export const recordAfter = async (audit: AuditTrail, draft: AuditDraft, logger: Logger): Promise<void> => {
  await audit.log.record(draft).catch((error: unknown) => logger.error('audit record lost', { type: draft.type, error: describeError(error) }));
};

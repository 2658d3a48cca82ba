// Sealing, verification, export and the scheduler's audit maintenance, over the
// write side every function composes (./audit-trail.ts).
import { s3Client } from '../adapters/aws-clients.js';
import { DynamoDbDetectionState } from '../adapters/dynamodb/dynamodb-detection-state.js';
import { InstrumentedAuditAnchors } from '../observability/instrumented-audit-anchors.js';
import { S3AuditAnchors } from '../adapters/s3/s3-audit-anchors.js';
import { S3ExportTarget } from '../adapters/s3/s3-export-target.js';
import { AuditSealer, AuditVerifier } from '../domain/audit/audit-chain.js';
import { AuditExporter } from '../domain/audit/audit-export.js';
import { AuditDetector } from '../domain/audit/detections.js';
import { AuditMaintenance } from '../domain/audit/audit-maintenance.js';
import type { Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';
import { SpanStepTracer } from '../observability/step-tracing.js';
import { auditBucketOf, composeAuditTrail, type AuditTrail } from './audit-trail.js';

/** The whole trail: the write side plus sealing, verification and export (they need the audit bucket). */
export interface Audit extends AuditTrail {
  readonly sealer: AuditSealer;
  readonly verifier: AuditVerifier;
  readonly exporter: AuditExporter;
  /** The scheduler's run (seal, detect, verify), and anchor restore for the embedded runtime. */
  readonly maintenance: AuditMaintenance;
}

const composed = new WeakMap<VaultCore, Audit>();

/** The audit trail with the sealer, verifier and exporter: the api and the scheduler. */
export const composeAudit = (core: VaultCore, logger: Logger): Audit => {
  const existing = composed.get(core);
  if (existing) return existing;
  const { config } = core;
  const bucket = auditBucketOf(config);
  const { store, log, forwarder } = composeAuditTrail(core, logger);
  const s3 = s3Client(core.clients);
  const anchors = new InstrumentedAuditAnchors(new S3AuditAnchors(s3, bucket), core.metrics);
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

  const maintenance = new AuditMaintenance({
    store,
    anchors,
    sealer,
    verifier,
    detector,
    log,
    events: core.events,
    metrics: core.metrics,
    logger,
    verifyMsPerRun: config.audit.verifySecondsPerRun * 1000,
    steps: new SpanStepTracer(),
    alerts: core.notifier,
  });
  const audit: Audit = {
    store,
    log,
    sealer,
    verifier,
    exporter: new AuditExporter(store, new S3ExportTarget(s3, bucket)),
    forwarder,
    maintenance,
  };
  composed.set(core, audit);
  return audit;
};

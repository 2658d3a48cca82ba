import { s3Client } from '../adapters/aws-clients.js';
import { DynamoDbAuditStore } from '../adapters/dynamodb/dynamodb-audit-store.js';
import { DynamoDbDetectionState } from '../adapters/dynamodb/dynamodb-detection-state.js';
import { InstrumentedAuditAnchors } from '../observability/instrumented-audit-anchors.js';
import { S3AuditAnchors } from '../adapters/s3/s3-audit-anchors.js';
import { S3ExportTarget } from '../adapters/s3/s3-export-target.js';
import { SyslogForwarder } from '../adapters/syslog/syslog-forwarder.js';
import { ConfigError } from '../config.js';
import { AuditSealer, AuditVerifier } from '../domain/audit/audit-chain.js';
import { AuditExporter } from '../domain/audit/audit-export.js';
import { AuditHmac, AuditLog } from '../domain/audit/audit-log.js';
import { AuditDetector } from '../domain/audit/detections.js';
import { AuditMaintenance } from '../domain/audit/audit-maintenance.js';
import { isValidGlob } from '../domain/auth/path-glob.js';
import type { AuditStore } from '../domain/ports/audit.js';
import type { Logger } from '../observability/logger.js';
import { ENV } from '../runtime/definitions.js';
import type { VaultCore } from './vault-core.js';
import { SpanStepTracer } from '../observability/step-tracing.js';

/** The write side every function needs: the store and the fail-closed log. */
export interface AuditTrail {
  readonly store: AuditStore;
  readonly log: AuditLog;
  readonly forwarder: SyslogForwarder | undefined;
}

/** The whole trail: the write side plus sealing, verification and export (they need the audit bucket). */
export interface Audit extends AuditTrail {
  readonly sealer: AuditSealer;
  readonly verifier: AuditVerifier;
  readonly exporter: AuditExporter;
  /** The scheduler's run (seal, detect, verify), and anchor restore for the embedded runtime. */
  readonly maintenance: AuditMaintenance;
}

const trails = new WeakMap<VaultCore, AuditTrail>();
const composed = new WeakMap<VaultCore, Audit>();

const forwarderOf = (core: VaultCore, logger: Logger): SyslogForwarder | undefined => {
  const { syslogUrl, syslogCaFile, syslogCaPem, syslogFacility, syslogHostname, syslogAppName, syslogBufferSize } = core.config.audit;
  if (!syslogUrl) return undefined;
  const forwarder = new SyslogForwarder({
    url: syslogUrl,
    caFile: syslogCaFile,
    caPem: syslogCaPem,
    capacity: syslogBufferSize,
    format: { facility: syslogFacility, hostname: syslogHostname, appName: syslogAppName },
    onWarning: (message) => logger.warn(message, { component: 'syslog' }),
  });
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
  const store = new DynamoDbAuditStore(core.dynamodb, core.config.audit.table, core.config.audit.sealGraceSeconds * 500);
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

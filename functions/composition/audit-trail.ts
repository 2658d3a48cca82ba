// The audit trail's write side, which every function composes: the store, the
// fail-closed log and its syslog copy. Sealing, verification and export
// (./audit.ts) need more code and the audit bucket; the api composes them on
// their first call, so a cold start does not load them.
import { DynamoDbAuditStore } from '../adapters/dynamodb/dynamodb-audit-store.js';
import { SyslogForwarder } from '../adapters/syslog/syslog-forwarder.js';
import { ConfigError, type VaultConfig } from '../config.js';
import { AuditHmac, AuditLog } from '../domain/audit/audit-log.js';
import { isValidGlob } from '../domain/auth/path-glob.js';
import type { AuditExporter } from '../domain/audit/audit-export.js';
import type { AuditVerifier } from '../domain/audit/audit-chain.js';
import type { AuditStore } from '../domain/ports/audit.js';
import type { Logger } from '../observability/logger.js';
import { ENV } from '../runtime/definitions.js';
import type { VaultCore } from './vault-core.js';

/** The write side every function needs: the store and the fail-closed log. */
export interface AuditTrail {
  readonly store: AuditStore;
  readonly log: AuditLog;
  readonly forwarder: SyslogForwarder | undefined;
}

/** What the api's routes and gauges call on the chain: in the api, composed with its first call. */
export interface AuditChainServices {
  readonly verifier: Pick<AuditVerifier, 'verifyAndRecord' | 'divergenceGauge'>;
  readonly exporter: Pick<AuditExporter, 'sealedThrough' | 'manifest'>;
}

const trails = new WeakMap<VaultCore, AuditTrail>();

/** The audit bucket sealing and export need, and valid sensitive-path globs: checked where a function starts, not at first use. */
export const auditBucketOf = (config: VaultConfig): string => {
  const bucket = config.auditBucket;
  if (!bucket) throw new ConfigError(`environment variable ${ENV.auditBucket} is required`);
  const invalid = config.audit.sensitivePaths.find((glob) => !isValidGlob(glob));
  if (invalid) throw new ConfigError(`${ENV.auditSensitivePaths} entry "${invalid}" is not a valid path glob`);
  return bucket;
};

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

// Dynamic secrets wired once per core: the api's engines, roles and leases, the
// scheduler's probes and revocations, and the lease gauges for a scrape.
import { DynamoDbDynamicRepository } from '../adapters/dynamodb/dynamodb-dynamic-repository.js';
import { PostgresDatabaseDriver } from '../adapters/postgres/postgres-database-driver.js';
import { NotFoundError } from '../domain/errors.js';
import { DynamicConfigService, type ConnectionSecretReader } from '../domain/dynamic/dynamic-config-service.js';
import { LeaseRevocation } from '../domain/dynamic/lease-revocation.js';
import { LeaseScheduler } from '../domain/dynamic/lease-scheduler.js';
import { LeaseService } from '../domain/dynamic/lease-service.js';
import { RegistryLeaseMetrics, readLeaseGauges } from '../observability/lease-metrics.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsSnapshot } from '../observability/metric-registry.js';
import { composeAuditTrail } from './audit-trail.js';
import type { VaultCore } from './vault-core.js';
import { egressPolicyOf } from './egress.js';

export interface Dynamic {
  readonly dynamicConfig: DynamicConfigService;
  readonly leases: LeaseService;
  readonly leaseScheduler: LeaseScheduler;
  readonly leaseGauges: () => Promise<MetricsSnapshot>;
  readonly driver: PostgresDatabaseDriver;
  readonly leaseMetrics: RegistryLeaseMetrics;
}

/** Due leases one scheduler run revokes at most; the rest are the next run's. */
const SCHEDULER_BATCH = 200;

const composed = new WeakMap<VaultCore, Dynamic>();

/** The admin URL an engine's connection secret holds: the current version, in the engine's own tenant. */
const connectionSecretReader =
  ({ secretRepository, keys }: VaultCore): ConnectionSecretReader =>
  async (tenantId, path) => {
    const head = await secretRepository.getHead(tenantId, path);
    if (!head || head.deletedAt) throw new NotFoundError(`secret ${path} does not exist`);
    return keys.open(head.sealed, { tenantId, path, version: head.version });
  };

export const composeDynamic = (core: VaultCore, logger: Logger): Dynamic => {
  const existing = composed.get(core);
  if (existing) return existing;
  const { config } = core;
  const repository = new DynamoDbDynamicRepository(core.dynamodb, config.stateTable);
  const metrics = new RegistryLeaseMetrics(core.registry, core.signals);
  const driver = new PostgresDatabaseDriver({
    egress: egressPolicyOf(config),
    observe: (operation, status, seconds) => metrics.externalCall('postgresql', operation, status, seconds),
  });
  const readConnectionSecret = connectionSecretReader(core);
  const now = Date.now;
  const revocation = new LeaseRevocation({
    repository,
    driver,
    readConnectionSecret,
    events: core.events,
    metrics,
    audit: composeAuditTrail(core, logger).log,
    logger,
    policy: {
      baseMs: config.leaseRevokeBackoffBaseMs,
      capMs: Math.max(3_600_000, config.leaseRevokeBackoffBaseMs),
      maxAttempts: config.leaseRevokeMaxAttempts,
    },
    now,
  });
  const dynamic: Dynamic = {
    dynamicConfig: new DynamicConfigService(repository, driver, core.auth, readConnectionSecret, now),
    leases: new LeaseService({ repository, driver, auth: core.auth, readConnectionSecret, revocation, events: core.events, metrics, now }),
    leaseScheduler: new LeaseScheduler({ repository, driver, readConnectionSecret, revocation, logger, now, batch: SCHEDULER_BATCH }),
    leaseGauges: () => readLeaseGauges(repository),
    driver,
    leaseMetrics: metrics,
  };
  composed.set(core, dynamic);
  return dynamic;
};

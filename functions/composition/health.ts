// Readiness checks and the state gauges: shared by the api (probes, scrapes) and the scheduler (checks every run, pushes).
import { s3Client } from '../adapters/aws-clients.js';
import { oldestPendingAgeSeconds } from '../adapters/dynamodb/dynamodb-outbox.js';
import { DynamoDbScheduledChecks } from '../adapters/dynamodb/dynamodb-scheduled-checks.js';
import { DynamoDbTokenExpiryIndex } from '../adapters/dynamodb/dynamodb-token-expiry-index.js';
import { DynamoDbTableProbe } from '../adapters/dynamodb/dynamodb-table-probe.js';
import { S3BucketProbe } from '../adapters/s3/s3-bucket-probe.js';
import { sqsQueueCounts } from '../adapters/sqs/sqs-queue-depth.js';
import { SqsQueueProbe } from '../adapters/sqs/sqs-queue-probe.js';
import { HealthService } from '../domain/health/health-service.js';
import { KeyProviderProbe } from '../domain/health/key-provider-probe.js';
import type { JobQueueName } from '../domain/jobs/jobs.js';
import type { DependencyProbe, ScheduledChecksStore } from '../domain/ports/health.js';
import { checkDurationRecorder } from '../observability/fleet-snapshot.js';
import { type AuditChainState, StateGauges } from '../observability/state-gauges.js';
import type { AuditTrail } from './audit-trail.js';
import type { VaultCore } from './vault-core.js';

export interface HealthComposition {
  readonly health: HealthService;
  readonly stateGauges: StateGauges;
  readonly scheduledChecks: ScheduledChecksStore;
}

/** What readiness checks: the state table, the key provider, the queues and the audit sink and bucket that are configured. */
const probesOf = ({ config, dynamodb, sqs, keyWrapper, clients }: VaultCore): DependencyProbe[] => {
  const probes: DependencyProbe[] = [new DynamoDbTableProbe(dynamodb, config.stateTable), new KeyProviderProbe(keyWrapper)];
  if (config.rotationQueueUrl) probes.push(new SqsQueueProbe('rotation_queue', sqs, config.rotationQueueUrl));
  if (config.webhookQueueUrl) probes.push(new SqsQueueProbe('webhook_queue', sqs, config.webhookQueueUrl));
  if (config.audit.exportQueueUrl) probes.push(new SqsQueueProbe('audit_export_queue', sqs, config.audit.exportQueueUrl));
  // Requests are refused while the audit table cannot take their records: readiness says so.
  probes.push(new DynamoDbTableProbe(dynamodb, config.audit.table, 'audit_sink'));
  if (config.auditBucket) probes.push(new S3BucketProbe('audit_bucket', s3Client(clients), config.auditBucket));
  return probes;
};

const stateGaugesOf = (core: VaultCore, audit: Pick<AuditTrail, 'store'> & AuditGauge) => {
  const { config, authRepository, secretRepository, sqs, dynamodb } = core;
  const queueUrls: Record<JobQueueName, string | undefined> = {
    rotation: config.rotationQueueUrl,
    webhook: config.webhookQueueUrl,
    'audit-export': config.audit.exportQueueUrl,
  };
  const tokenExpiry = new DynamoDbTokenExpiryIndex(dynamodb, config.stateTable);
  return new StateGauges(
    {
      tenantIds: () => authRepository.listTenantIds(),
      liveSecrets: (tenantId) => secretRepository.countLive(tenantId),
      queueDepth: async (queue) => (queueUrls[queue] ? sqsQueueCounts(sqs, queueUrls[queue]) : undefined),
      oldestPendingAgeSeconds: (queue) => oldestPendingAgeSeconds(dynamodb, config.stateTable, queue, Date.now()),
      auditChain: () => readAuditChain(audit),
      // The lease and PKI gauges load their stores with the first scrape, not with the api's cold start.
      leaseGauges: async () => {
        const [{ readLeaseGauges }, { DynamoDbDynamicRepository }] = await Promise.all([
          import('../observability/lease-metrics.js'),
          import('../adapters/dynamodb/dynamodb-dynamic-repository.js'),
        ]);
        return readLeaseGauges(new DynamoDbDynamicRepository(dynamodb, config.stateTable));
      },
      keyRotations: async () => {
        const { DynamoDbKeyRotationStore } = await import('../adapters/dynamodb/dynamodb-key-rotation-store.js');
        return new DynamoDbKeyRotationStore(dynamodb, config.stateTable).list();
      },
      certificateGauges: async () => (await import('./pki.js')).composePki(core).gauges(),
      tokensExpiringWithin: (seconds) => {
        const now = Date.now();
        return tokenExpiry.countExpiring(now, now + seconds * 1000);
      },
    },
    config.version,
    config.metricsStateCacheSeconds * 1000,
  );
};

interface AuditGauge {
  readonly verifier: { divergenceGauge(): Promise<number> };
}

/** The newest seal's time (Unix seconds, 0 before the first), the head block, what is unsealed and the divergence gauge: for a scrape, a push and CloudWatch alike. */
export const readAuditChain = async (audit: Pick<AuditTrail, 'store'> & AuditGauge): Promise<AuditChainState> => {
  const [head, divergence, genesis] = await Promise.all([audit.store.latestBlock(), audit.verifier.divergenceGauge(), audit.store.genesis()]);
  // Before the first seal every event since the chain began (or ever, before its genesis) is unsealed.
  const unsealed = await audit.store.countEventsAfter(head?.throughKey ?? genesis ?? '');
  return { lastSealSeconds: head ? Math.floor(Date.parse(head.sealedAt) / 1000) : 0, divergence, headBlock: head?.seq, unsealed };
};

const composed = new WeakMap<VaultCore, HealthComposition>();

/** Once per process, like the core: in the embedded runtime the api's detailed view shares the scheduler's check history. */
export const composeHealth = (core: VaultCore, audit: Pick<AuditTrail, 'store'> & AuditGauge): HealthComposition => {
  let health = composed.get(core);
  if (!health) {
    health = {
      health: new HealthService(probesOf(core), core.config.readinessCheckTimeoutMs, checkDurationRecorder(core.registry)),
      stateGauges: stateGaugesOf(core, audit),
      scheduledChecks: new DynamoDbScheduledChecks(core.dynamodb, core.config.stateTable),
    };
    composed.set(core, health);
  }
  return health;
};

import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  dynamoDbClient,
  kmsClient,
  observeLatency,
  readSecretString,
  s3Client,
  secretsManagerClient,
  socketPoolStats,
  sqsClient,
  type ClientOptions,
} from '../adapters/aws-clients.js';
import { DynamoDbAuthRepository } from '../adapters/dynamodb/dynamodb-auth-repository.js';
import { DynamoDbRateLimitStore } from '../adapters/dynamodb/dynamodb-rate-limit-store.js';
import { DynamoDbSecretRepository } from '../adapters/dynamodb/dynamodb-secret-repository.js';
import { DynamoDbTableProbe } from '../adapters/dynamodb/dynamodb-table-probe.js';
import { AwsKmsKeyWrapper } from '../adapters/kms/aws-kms-key-wrapper.js';
import { LocalKeyWrapper, loadOrCreateMasterKey } from '../adapters/local-key/local-key-wrapper.js';
import { S3BucketProbe } from '../adapters/s3/s3-bucket-probe.js';
import { SqsQueueProbe } from '../adapters/sqs/sqs-queue-probe.js';
import type { VaultConfig } from '../config.js';
import { AuthService } from '../domain/auth/auth-service.js';
import { DataKeyCache } from '../domain/crypto/data-key-cache.js';
import { KeyManager } from '../domain/crypto/key-manager.js';
import { HealthService } from '../domain/health/health-service.js';
import { KeyProviderProbe } from '../domain/health/key-provider-probe.js';
import type { DependencyProbe, KeyWrapper } from '../domain/ports.js';
import { RateLimiter } from '../domain/rate-limit/rate-limiter.js';
import { SecretService } from '../domain/secrets/secret-service.js';
import type { Logger } from '../observability/logger.js';
import { defaultTracing } from '../observability/tracing.js';
import { httpTracing, withRequestSpan } from '../observability/tracing-middleware.js';
import { ApiApp, type VaultContext } from './api-app.js';
import { buildRoutes, type ApiServices } from './api-routes.js';
import { accessLog, problemErrors, requestContext, requestMetrics } from './middleware.js';
import { DynamoDbFleetMetricsStore } from '../adapters/dynamodb/dynamodb-fleet-metrics-store.js';
import { oldestPendingAgeSeconds } from '../adapters/dynamodb/dynamodb-outbox.js';
import { sqsQueueDepth } from '../adapters/sqs/sqs-queue-depth.js';
import { FleetMetrics } from '../observability/fleet-metrics.js';
import { InstrumentedKeyWrapper } from '../observability/instrumented-key-wrapper.js';
import { METRICS } from '../observability/metric-catalogue.js';
import { MetricRegistry } from '../observability/metric-registry.js';
import { StateGauges } from '../observability/state-gauges.js';
import { VaultMetrics } from '../observability/vault-metrics.js';
import { CloudWatchRequestMetrics } from '../observability/cloudwatch-metrics.js';
import { Router } from './router.js';

export interface Api extends ApiServices {
  readonly handler: middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;
}

const createKeyWrapper = (config: VaultConfig, clients: ClientOptions): KeyWrapper =>
  config.keyProvider === 'local'
    ? new LocalKeyWrapper(loadOrCreateMasterKey(config.localKeyFile ?? ''))
    : new AwsKmsKeyWrapper(kmsClient(clients), config.kmsKeyId ?? '');

/** Runs `task` once and shares its result; a failure is forgotten so the next call retries. */
const retryingOnce = <T>(task: () => Promise<T>, onError?: (error: unknown) => void): (() => Promise<T>) => {
  let running: Promise<T> | undefined;
  return () =>
    (running ??= task().catch((error: unknown) => {
      running = undefined;
      onError?.(error);
      throw error;
    }));
};

/** The composition root of the `api` function: every adapter and service, wired once per container. */
export const composeApi = (config: VaultConfig, logger: Logger): Api => {
  const clients: ClientOptions = { timeoutMs: config.dependencyTimeoutMs, s3ForcePathStyle: config.s3ForcePathStyle };
  const dynamodb = dynamoDbClient(clients);
  const keyWrapper = createKeyWrapper(config, clients);
  const authRepository = new DynamoDbAuthRepository(dynamodb, config.stateTable);
  const registry = new MetricRegistry();
  const metrics = new VaultMetrics(registry);
  observeLatency(dynamodb, 'scaivaultDbLatency', (seconds) => metrics.dynamoDbCall(seconds));
  const keyCache = new DataKeyCache(config.keyCacheTtlSeconds, config.keyCacheMaxEntries, Date.now, (hit) => metrics.keyCacheLookup(hit));
  const keys = new KeyManager(new InstrumentedKeyWrapper(keyWrapper, metrics), authRepository, keyCache);
  const auth = new AuthService(authRepository, keys, config);
  const secretRepository = new DynamoDbSecretRepository(dynamodb, config.stateTable);
  const secrets = new SecretService(secretRepository, keys, auth, Date.now, metrics);
  const probes: DependencyProbe[] = [new DynamoDbTableProbe(dynamodb, config.stateTable), new KeyProviderProbe(keyWrapper)];
  if (config.rotationQueueUrl) probes.push(new SqsQueueProbe('rotation_queue', sqsClient(clients), config.rotationQueueUrl));
  if (config.webhookQueueUrl) probes.push(new SqsQueueProbe('webhook_queue', sqsClient(clients), config.webhookQueueUrl));
  if (config.auditBucket) probes.push(new S3BucketProbe('audit_sink', s3Client(clients), config.auditBucket));
  const health = new HealthService(probes, config.dependencyTimeoutMs);
  registry.collect(() => {
    const pool = socketPoolStats();
    registry.set(METRICS.dbPoolSize, [], pool.open);
    registry.set(METRICS.dbPoolAvailable, [], pool.free);
    registry.set(METRICS.keyCacheEntries, [], keyCache.stats().entries);
  });
  const fleetMetrics = new FleetMetrics(registry, new DynamoDbFleetMetricsStore(dynamodb, config.metricsTable), {
    flushIntervalMs: config.metricsFlushSeconds * 1000,
    retireAfterMs: config.metricsRetireSeconds * 1000,
    labelCap: config.metricsLabelCap,
  });
  const sqs = sqsClient(clients);
  const queueUrls = { rotation: config.rotationQueueUrl, webhook: config.webhookQueueUrl };
  const stateGauges = new StateGauges(
    {
      tenantIds: () => authRepository.listTenantIds(),
      liveSecrets: (tenantId) => secretRepository.countLive(tenantId),
      queueDepth: async (queue) => (queueUrls[queue] ? sqsQueueDepth(sqs, queueUrls[queue]) : undefined),
      oldestPendingAgeSeconds: (queue) => oldestPendingAgeSeconds(dynamodb, config.stateTable, queue, Date.now()),
    },
    config.version,
    config.metricsStateCacheSeconds * 1000,
  );
  const metricsToken = config.metricsTokenSecretArn
    ? retryingOnce(() => readSecretString(secretsManagerClient(clients), config.metricsTokenSecretArn ?? ''))
    : async () => config.metricsToken;
  const services: ApiServices = { config, auth, secrets, health, keyCache, keyWrapper, fleetMetrics, stateGauges, metricsToken, connectionPool: socketPoolStats, tracingEnabled: defaultTracing.enabled };
  const rateLimiter = new RateLimiter(new DynamoDbRateLimitStore(dynamodb, config.stateTable), config.rateLimits, Date.now, metrics);
  const app = new ApiApp(new Router(buildRoutes(services)), auth, rateLimiter, (state) => {
    state.counted = true;
    metrics.requestStarted(state.category);
  });

  // In AWS the root token lives in a KMS-encrypted Secrets Manager secret made by the stack;
  // the first request of each container makes sure its hash is stored.
  const bootstrap = retryingOnce(async () => {
    if (!config.rootTokenSecretArn) return;
    // Secrets Manager generates the 43 random characters; the token prefix is ours.
    const raw = await readSecretString(secretsManagerClient(clients), config.rootTokenSecretArn);
    await auth.bootstrapRoot(raw.startsWith('svt_') ? raw : `svt_${raw}`);
  }, (error) => logger.error('root token bootstrap failed', { error: (error as Error).name }));

  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>()
    .use(httpTracing())
    .use(accessLog(logger))
    .use(requestMetrics(metrics, fleetMetrics, logger, config.cloudWatchNamespace ? new CloudWatchRequestMetrics(config.cloudWatchNamespace, 'scaivault-api') : undefined))
    .use(requestContext())
    .use(problemErrors(logger))
    .handler(withRequestSpan(async (event, context) => {
      // Logged inside; requests with other tokens must not depend on the bootstrap.
      await bootstrap().catch(() => undefined);
      return app.dispatch(event, context.vault!);
    }));
  return { ...services, handler };
};

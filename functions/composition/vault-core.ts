import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoDbClient, kmsClient, observeLatency, socketPoolStats, sqsClient, type ClientOptions } from '../adapters/aws-clients.js';
import { DynamoDbAuthRepository } from '../adapters/dynamodb/dynamodb-auth-repository.js';
import { DynamoDbFleetMetricsStore } from '../adapters/dynamodb/dynamodb-fleet-metrics-store.js';
import { DynamoDbJobRepository } from '../adapters/dynamodb/dynamodb-job-repository.js';
import { DynamoDbSecretRepository } from '../adapters/dynamodb/dynamodb-secret-repository.js';
import { AwsKmsKeyWrapper } from '../adapters/kms/aws-kms-key-wrapper.js';
import { LocalKeyWrapper } from '../adapters/local-key/local-key-wrapper.js';
import { SqsJobQueue } from '../adapters/sqs/sqs-job-queue.js';
import type { SqsSender } from '../adapters/sqs/sqs-sdk.js';
import type { VaultConfig } from '../config.js';
import { AuthService } from '../domain/auth/auth-service.js';
import { DataKeyCache } from '../domain/crypto/data-key-cache.js';
import { KeyManager } from '../domain/crypto/key-manager.js';
import { EventBus } from '../domain/events/event-bus.js';
import { JobService } from '../domain/jobs/jobs.js';
import { SecretService } from '../domain/secrets/secret-service.js';
import { CloudWatchSignals, type SignalEmitter } from '../observability/cloudwatch-signals.js';
import { FleetMetrics } from '../observability/fleet-metrics.js';
import { InstrumentedKeyWrapper } from '../observability/instrumented-key-wrapper.js';
import type { Logger } from '../observability/logger.js';
import { METRICS } from '../observability/metric-catalogue.js';
import { MetricRegistry } from '../observability/metric-registry.js';
import { VaultMetrics } from '../observability/vault-metrics.js';
import type { AuthRepository } from '../domain/ports/auth.js';
import type { JobRepository } from '../domain/ports/jobs.js';
import type { KeyWrapper } from '../domain/ports/keys.js';
import type { SecretRepository } from '../domain/ports/secrets.js';
import { NotifierSlot } from './notifier-slot.js';

/** What every ScaiVault function shares: clients, stores, crypto, auth, secrets, jobs, events and metrics. */
export interface VaultCore {
  readonly config: VaultConfig;
  readonly clients: ClientOptions;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SqsSender;
  readonly keyWrapper: KeyWrapper;
  readonly authRepository: AuthRepository;
  readonly secretRepository: SecretRepository;
  readonly registry: MetricRegistry;
  readonly metrics: VaultMetrics;
  /** The paging signals' EMF; absent without a Powertools Metrics namespace. */
  readonly signals: SignalEmitter | undefined;
  readonly fleetMetrics: FleetMetrics;
  readonly keyCache: DataKeyCache;
  readonly keys: KeyManager;
  readonly auth: AuthService;
  readonly secrets: SecretService;
  readonly jobRepository: JobRepository;
  readonly jobs: JobService;
  /** Register subscribers (webhook fan-out) with `events.add`. */
  readonly events: EventBus;
  /** Chat notifications of operational events: silent until enableNotifications (workers, scheduler) fills it. */
  readonly notifier: NotifierSlot;
}

const createKeyWrapper = (config: VaultConfig, clients: ClientOptions): KeyWrapper =>
  config.keyProvider === 'local' ? LocalKeyWrapper.fromFile(config.localKeyFile ?? '') : new AwsKmsKeyWrapper(kmsClient(clients), config.kmsKeyId ?? '');

let shared: VaultCore | undefined;

/**
 * Built once per process: in Lambda each function is its own process; in the
 * embedded runtime the api and the workers share one core, so one metrics
 * registry stands for the one process.
 */
export const composeCore = (config: VaultConfig, logger: Logger): VaultCore => {
  if (shared) return shared;
  const clients: ClientOptions = { timeoutMs: config.dependencyTimeoutMs, s3ForcePathStyle: config.s3ForcePathStyle };
  const dynamodb = dynamoDbClient(clients);
  const sqs = sqsClient(clients);
  const keyWrapper = createKeyWrapper(config, clients);
  const authRepository = new DynamoDbAuthRepository(dynamodb, config.stateTable);
  const registry = new MetricRegistry();
  const signals = config.cloudWatchNamespace ? new CloudWatchSignals(config.cloudWatchNamespace) : undefined;
  const metrics = new VaultMetrics(registry, signals);
  observeLatency(dynamodb, 'scaivaultDbLatency', (seconds) => metrics.dynamoDbCall(seconds));
  const keyCache = new DataKeyCache(config.keyCacheTtlSeconds, config.keyCacheMaxEntries, Date.now, (hit) => metrics.keyCacheLookup(hit));
  // Expired plaintext keys are zeroed on a timer, not left in memory until their next lookup.
  keyCache.startPurging();
  const keys = new KeyManager(new InstrumentedKeyWrapper(keyWrapper, metrics), authRepository, keyCache);
  const auth = new AuthService(authRepository, keys, config);
  const events = new EventBus((error, event) => logger.warn('event subscriber failed', { event_type: event.type, error: (error as Error).name }));
  const secretRepository = new DynamoDbSecretRepository(dynamodb, config.stateTable);
  const secrets = new SecretService(secretRepository, keys, auth, Date.now, metrics, events);
  registry.collect(() => {
    const pool = socketPoolStats();
    registry.set(METRICS.dbPoolSize, [], pool.open);
    registry.set(METRICS.dbPoolAvailable, [], pool.free);
    registry.set(METRICS.keyCacheEntries, [], keyCache.stats().entries);
  });
  const fleetStore = new DynamoDbFleetMetricsStore(dynamodb, config.metricsTable);
  const fleetMetrics = new FleetMetrics(registry, fleetStore, {
    flushIntervalMs: config.metricsFlushSeconds * 1000,
    retireAfterMs: config.metricsRetireSeconds * 1000,
    labelCap: config.metricsLabelCap,
    view: { store: fleetStore, maxAgeMs: config.metricsViewMaxAgeSeconds * 1000 },
  });
  const jobRepository = new DynamoDbJobRepository(dynamodb, config.stateTable);
  const jobs = new JobService(
    jobRepository,
    new SqsJobQueue(sqs, { rotation: config.rotationQueueUrl, webhook: config.webhookQueueUrl, 'audit-export': config.audit.exportQueueUrl }),
    logger,
    Date.now,
    metrics,
  );
  const notifier = new NotifierSlot();
  shared = {
    config,
    clients,
    dynamodb,
    sqs,
    keyWrapper,
    authRepository,
    secretRepository,
    registry,
    metrics,
    signals,
    fleetMetrics,
    keyCache,
    keys,
    auth,
    secrets,
    jobRepository,
    jobs,
    events,
    notifier,
  };
  return shared;
};

/** Runs `task` once and shares its result; a failure is forgotten so the next call retries. */
export const retryingOnce = <T>(task: () => Promise<T>, onError?: (error: unknown) => void): (() => Promise<T>) => {
  let running: Promise<T> | undefined;
  return () =>
    (running ??= task().catch((error: unknown) => {
      running = undefined;
      onError?.(error);
      throw error;
    }));
};

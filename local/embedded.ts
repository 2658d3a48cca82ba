import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  API_FUNCTION,
  AUDIT_BUCKET,
  AUDIT_TABLE,
  ENV,
  FUNCTIONS,
  METRICS_TABLE,
  QUEUES,
  SCHEDULER_FUNCTION,
  TABLES,
  STATE_TABLE,
  type FunctionDefinition,
  type QueueTrigger,
} from '../functions/runtime/definitions.js';
import { newToken } from '../functions/domain/auth/tokens.js';
import { startDynalite, startFauxqs, type RunningEmulator } from './emulators.js';
import { startBackupTimers, writeRuntimeFile } from './backup-timers.js';
import { startGateway, type ApiHandler, type Gateway } from './gateway.js';
import { ensureBucket, ensureQueue, ensureTable, queueArnOf } from './provision.js';
import { startQueuePoller, startTimer, type QueueHandler, type QueuePoller } from './queue-poller.js';
import type { VaultConfig } from '../functions/config.js';
import type { Logger } from '../functions/observability/logger.js';

export interface EmbeddedOptions {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Use this DynamoDB endpoint instead of starting dynalite (tests stop it to see outages). */
  readonly dynamoDbEndpoint?: string;
  /** Use this SQS and S3 endpoint (a fauxqs of its own) instead of starting fauxqs in this process. */
  readonly sqsS3Endpoint?: string;
  readonly rootToken?: string;
  /** How often the scheduler runs (EventBridge's rate in AWS). */
  readonly schedulerIntervalSeconds: number;
  readonly env: NodeJS.ProcessEnv;
  /** Wraps each function's handler (the api and the queue workers), e.g. to time invocations as Lambda bills them. */
  readonly wrapHandler?: <H extends (...args: never[]) => Promise<unknown>>(functionName: string, handler: H) => H;
}

export interface EmbeddedVault {
  readonly url: string;
  readonly rootTokenFile: string | undefined;
  readonly gateway: Gateway;
  stop(): Promise<void>;
}

const LOCAL_CREDENTIALS = { accessKeyId: 'embedded', secretAccessKey: 'embedded' };

/**
 * The runtime's own clients (provisioning, queue pollers) end their calls too: a
 * hung emulator fails a poll (after well over a poll's 1 s wait) or the start,
 * instead of holding the poller, a clean stop or the start forever.
 */
const POLLER_CALL_TIMEOUT_MS = 10_000;
const PROVISIONING_CALL_TIMEOUT_MS = 30_000;
const runtimeRequestHandler = (timeoutMs: number): NodeHttpHandler =>
  new NodeHttpHandler({ connectionTimeout: 1000, requestTimeout: timeoutMs, socketTimeout: timeoutMs, throwOnRequestTimeout: true });

/** The root token: given, else read from the data dir, else created there with mode 0600. */
const rootTokenOf = (dataDir: string, given: string | undefined): { token: string; file: string | undefined } => {
  if (given) return { token: given, file: undefined };
  const file = join(dataDir, 'root-token');
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${newToken()}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return { token: readFileSync(file, 'utf8').trim(), file };
};

interface Endpoints {
  readonly dynamodb: string;
  readonly sqsS3: string;
}

/** The emulators the options do not point elsewhere, started in this process; each is pushed to `running` as it starts. */
const startEmulators = async (options: EmbeddedOptions, dataDir: string, running: RunningEmulator[]): Promise<Endpoints> => {
  let dynamodb = options.dynamoDbEndpoint;
  if (!dynamodb) {
    const dynalite = await startDynalite({ path: join(dataDir, 'dynamodb') });
    running.push(dynalite);
    dynamodb = dynalite.endpoint;
  }
  let sqsS3 = options.sqsS3Endpoint;
  if (!sqsS3) {
    const fauxqs = await startFauxqs({});
    running.push(fauxqs);
    sqsS3 = fauxqs.endpoint;
  }
  return { dynamodb, sqsS3 };
};

/**
 * Creates what the CDK stack would (tables, queues, the audit bucket) and sets the
 * environment the functions read at module load, exactly as in Lambda. Returns each
 * queue's URL by its environment variable.
 */
const provision = async (
  endpoints: Endpoints,
  sqs: SQSClient,
  options: EmbeddedOptions,
  dataDir: string,
): Promise<{ queueEnv: Record<string, string>; bucket: string }> => {
  const clientConfig = { region: await sqs.config.region(), credentials: LOCAL_CREDENTIALS };
  // One handler each: destroying a client destroys its handler's sockets.
  const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb, requestHandler: runtimeRequestHandler(PROVISIONING_CALL_TIMEOUT_MS) });
  const s3 = new S3Client({
    ...clientConfig,
    endpoint: endpoints.sqsS3,
    forcePathStyle: true,
    requestHandler: runtimeRequestHandler(PROVISIONING_CALL_TIMEOUT_MS),
  });
  try {
    for (const table of TABLES) await ensureTable(dynamodb, table);
    const queueEnv: Record<string, string> = {};
    for (const queue of QUEUES) queueEnv[queue.envVar] = await ensureQueue(sqs, queue);
    const bucket = await ensureBucket(s3, AUDIT_BUCKET);
    Object.assign(process.env, queueEnv, {
      AWS_REGION: clientConfig.region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqsS3,
      AWS_ENDPOINT_URL_S3: endpoints.sqsS3,
      [STATE_TABLE.envVar]: STATE_TABLE.id,
      [METRICS_TABLE.envVar]: METRICS_TABLE.id,
      [AUDIT_TABLE.envVar]: AUDIT_TABLE.id,
      [AUDIT_BUCKET.envVar]: bucket,
      [ENV.keyProvider]: 'local',
      // Instances sharing one DynamoDB must share one master key too.
      [ENV.localKeyFile]: options.env[ENV.localKeyFile] ?? join(dataDir, 'master.key'),
      [ENV.s3ForcePathStyle]: 'true',
    });
    return { queueEnv, bucket };
  } finally {
    dynamodb.destroy();
    s3.destroy();
  }
};

/** The compositions, imported only once the environment they read at module load is set. */
const loadFunctions = async () => {
  const [api, rotationWorker, webhookWorker, scheduler, auditExport, config, logger, tracing, fleetMetrics, core] = await Promise.all([
    import('../functions/composition/api.js'),
    import('../functions/composition/rotation-worker.js'),
    import('../functions/composition/webhook-worker.js'),
    import('../functions/composition/scheduler.js'),
    import('../functions/composition/audit-export.js'),
    import('../functions/config.js'),
    import('../functions/observability/logger.js'),
    import('../functions/observability/tracing.js'),
    import('../functions/observability/fleet-metrics.js'),
    import('../functions/composition/vault-core.js'),
  ]);
  return {
    composeApi: api.composeApi,
    composeScheduler: scheduler.composeScheduler,
    composeCore: core.composeCore,
    loadConfig: config.loadConfig,
    createLogger: logger.createLogger,
    defaultTracing: tracing.defaultTracing,
    flushQuietly: fleetMetrics.flushQuietly,
    // Each queue-triggered function of the runtime's table, by name.
    queueFunctions: {
      'rotation-worker': rotationWorker.composeRotationWorker,
      'webhook-worker': webhookWorker.composeWebhookWorker,
      'audit-export': auditExport.composeAuditExport,
    } as Record<string, (config: VaultConfig, logger: Logger) => { handler: QueueHandler }>,
  };
};

/** The worker functions, fed as Lambda's SQS event source mappings would: one poller per queue-triggered function. */
const startWorkers = async (
  compose: Awaited<ReturnType<typeof loadFunctions>>,
  config: VaultConfig,
  parts: { sqs: SQSClient; queueEnv: Record<string, string>; options: EmbeddedOptions; onError: (error: unknown) => void },
): Promise<QueuePoller[]> => {
  const { sqs, queueEnv, options, onError } = parts;
  const pollers: QueuePoller[] = [];
  for (const fn of FUNCTIONS.filter((fn): fn is FunctionDefinition<QueueTrigger> => fn.trigger.kind === 'queue')) {
    const composeWorker = compose.queueFunctions[fn.name];
    if (!composeWorker) throw new Error(`the embedded runtime has no composition for function "${fn.name}"`);
    const handler = composeWorker(config, compose.createLogger(process.env, { service: fn.service })).handler;
    const queueUrl = queueEnv[fn.trigger.queue.envVar]!;
    pollers.push(
      startQueuePoller({
        client: sqs,
        queueUrl,
        queueArn: await queueArnOf(sqs, queueUrl),
        handler: options.wrapHandler ? options.wrapHandler(fn.name, handler) : handler,
        functionName: fn.service,
        batchSize: fn.trigger.batchSize,
        concurrency: fn.trigger.maxConcurrency,
        onError,
      }),
    );
  }
  return pollers;
};

/**
 * Starts ScaiVault in one process: dynalite and fauxqs on loopback, the local
 * key provider, and the `api` handler behind the API Gateway adapter.
 */
export const startEmbedded = async (options: EmbeddedOptions): Promise<EmbeddedVault> => {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const emulators: RunningEmulator[] = [];
  const stopEmulators = async () => {
    for (const emulator of emulators.reverse()) await emulator.close().catch(() => undefined);
  };
  try {
    const endpoints = await startEmulators(options, dataDir, emulators);
    const region = options.env.AWS_REGION ?? 'us-east-1';
    // Kept for the pollers: they receive with it as long as the runtime runs.
    const sqs = new SQSClient({
      region,
      credentials: LOCAL_CREDENTIALS,
      endpoint: endpoints.sqsS3,
      requestHandler: runtimeRequestHandler(POLLER_CALL_TIMEOUT_MS),
    });
    const { queueEnv, bucket } = await provision(endpoints, sqs, options, dataDir);
    const compose = await loadFunctions();
    const config = compose.loadConfig(process.env);
    const logger = compose.createLogger(process.env, { service: API_FUNCTION.service });
    const api = compose.composeApi(config, logger);
    const root = rootTokenOf(dataDir, options.rootToken);
    await api.auth.bootstrapRoot(root.token);

    const onWorkerError = (error: unknown) => logger.warn('embedded worker error', { error: (error as Error).name });
    const pollers = await startWorkers(compose, config, { sqs, queueEnv, options, onError: onWorkerError });
    // The scheduler, run on a timer as EventBridge's schedule would.
    const backupLogger = compose.createLogger(process.env, { service: 'scaivault-backup' });
    const scheduler = compose.composeScheduler(config, compose.createLogger(process.env, { service: SCHEDULER_FUNCTION.service }));
    // fauxqs keeps messages in memory: after a restart, re-send every job DynamoDB still holds as pending.
    await scheduler.resendAllPending().catch(onWorkerError);
    // fauxqs keeps objects in memory too: the audit anchors are re-derived from the blocks in DynamoDB.
    await scheduler.audit.maintenance.restoreAnchors().catch(onWorkerError);
    const schedulerTimer = startTimer(options.schedulerIntervalSeconds * 1000, async () => void (await scheduler.tick()), onWorkerError);
    // Lambda flushes after invocations; a long-lived process also flushes when idle, so the fleet never lags by more than an interval.
    const metricsFlush = startTimer(api.config.metricsFlushSeconds * 1000, () => compose.flushQuietly(api.fleetMetrics, logger), onWorkerError);
    const backupTimers = await startBackupTimers(compose.composeCore(config, backupLogger), backupLogger, dataDir, options.env);
    const removeRuntimeFile = writeRuntimeFile(dataDir, endpoints.dynamodb);
    // Last: requests are served only once everything behind them runs.
    const apiHandler: ApiHandler = api.handler;
    const gateway = await startGateway({
      handler: options.wrapHandler ? options.wrapHandler(API_FUNCTION.name, apiHandler) : apiHandler,
      host: options.host,
      port: options.port,
    });
    // Where audit exports and anchors can be fetched (S3 API, path-style, any credentials).
    logger.info('embedded stack ready', { api: gateway.url, dynamodb: endpoints.dynamodb, sqs_and_s3: endpoints.sqsS3, audit_bucket: bucket });
    return {
      url: gateway.url,
      rootTokenFile: root.file,
      gateway,
      stop: async () => {
        await gateway.close();
        await schedulerTimer.stop();
        for (const timer of backupTimers) await timer.stop();
        await compose.composeCore(config, logger).notifier.flush();
        removeRuntimeFile();
        await Promise.all(pollers.map((poller) => poller.stop()));
        sqs.destroy();
        await metricsFlush.stop();
        await scheduler.audit.forwarder?.close();
        // The last totals of this instance reach the fleet store before DynamoDB goes away.
        await api.fleetMetrics.flush().catch((error: unknown) => logger.warn('final metrics flush failed', { error: (error as Error).name }));
        // Spans still in the batch leave before the process does.
        await compose.defaultTracing.shutdown();
        await stopEmulators();
      },
    };
  } catch (error) {
    await stopEmulators();
    throw error;
  }
};

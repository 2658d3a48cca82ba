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
    let dynamoEndpoint = options.dynamoDbEndpoint;
    if (!dynamoEndpoint) {
      const dynalite = await startDynalite({ path: join(dataDir, 'dynamodb') });
      emulators.push(dynalite);
      dynamoEndpoint = dynalite.endpoint;
    }
    let sqsS3Endpoint = options.sqsS3Endpoint;
    if (!sqsS3Endpoint) {
      const fauxqs = await startFauxqs({});
      emulators.push(fauxqs);
      sqsS3Endpoint = fauxqs.endpoint;
    }

    const region = options.env.AWS_REGION ?? 'us-east-1';
    const awsEnv: Record<string, string> = {
      AWS_REGION: region,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: dynamoEndpoint,
      AWS_ENDPOINT_URL_SQS: sqsS3Endpoint,
      AWS_ENDPOINT_URL_S3: sqsS3Endpoint,
    };
    const clientConfig = { region, credentials: LOCAL_CREDENTIALS };
    // One handler each: destroying a client destroys its handler's sockets.
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamoEndpoint, requestHandler: runtimeRequestHandler(PROVISIONING_CALL_TIMEOUT_MS) });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsS3Endpoint, requestHandler: runtimeRequestHandler(POLLER_CALL_TIMEOUT_MS) });
    const s3 = new S3Client({
      ...clientConfig,
      endpoint: sqsS3Endpoint,
      forcePathStyle: true,
      requestHandler: runtimeRequestHandler(PROVISIONING_CALL_TIMEOUT_MS),
    });
    for (const table of TABLES) await ensureTable(dynamodb, table);
    const queueEnv: Record<string, string> = {};
    for (const queue of QUEUES) queueEnv[queue.envVar] = await ensureQueue(sqs, queue);
    const bucket = await ensureBucket(s3, AUDIT_BUCKET);
    dynamodb.destroy();
    s3.destroy();

    // The handler reads its configuration once at module load, exactly as in Lambda.
    Object.assign(process.env, awsEnv, queueEnv, {
      [STATE_TABLE.envVar]: STATE_TABLE.id,
      [METRICS_TABLE.envVar]: METRICS_TABLE.id,
      [AUDIT_TABLE.envVar]: AUDIT_TABLE.id,
      [AUDIT_BUCKET.envVar]: bucket,
      [ENV.keyProvider]: 'local',
      // Instances sharing one DynamoDB must share one master key too.
      [ENV.localKeyFile]: options.env[ENV.localKeyFile] ?? join(dataDir, 'master.key'),
      [ENV.s3ForcePathStyle]: 'true',
    });
    const [
      { composeApi },
      { composeRotationWorker },
      { composeWebhookWorker },
      { composeScheduler },
      { composeAuditExport },
      { loadConfig },
      { createLogger },
      { defaultTracing },
      { flushQuietly },
      { composeCore },
    ] = await Promise.all([
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
    const config = loadConfig(process.env);
    const logger = createLogger(process.env, { service: API_FUNCTION.service });
    const api = composeApi(config, logger);
    const root = rootTokenOf(dataDir, options.rootToken);
    await api.auth.bootstrapRoot(root.token);

    // The worker functions, fed as Lambda's SQS event source mappings and EventBridge schedule would.
    const workerLogger = (service: string) => createLogger(process.env, { service });
    const onWorkerError = (error: unknown) => logger.warn('embedded worker error', { error: (error as Error).name });
    // Each queue-triggered function of the runtime's table, by name.
    const composers: Record<string, (config: VaultConfig, logger: Logger) => { handler: QueueHandler }> = {
      'rotation-worker': composeRotationWorker,
      'webhook-worker': composeWebhookWorker,
      'audit-export': composeAuditExport,
    };
    const workers = FUNCTIONS.filter((fn): fn is FunctionDefinition<QueueTrigger> => fn.trigger.kind === 'queue').map((fn) => {
      const compose = composers[fn.name];
      if (!compose) throw new Error(`the embedded runtime has no composition for function "${fn.name}"`);
      const handler = compose(config, workerLogger(fn.service)).handler;
      return { ...fn, handler: options.wrapHandler ? options.wrapHandler(fn.name, handler) : handler };
    });
    const scheduler = composeScheduler(config, workerLogger(SCHEDULER_FUNCTION.service));
    const pollers: QueuePoller[] = [];
    for (const { service, trigger, handler } of workers) {
      const queueUrl = queueEnv[trigger.queue.envVar]!;
      pollers.push(
        startQueuePoller({
          client: sqs,
          queueUrl,
          queueArn: await queueArnOf(sqs, queueUrl),
          handler,
          functionName: service,
          batchSize: trigger.batchSize,
          concurrency: trigger.maxConcurrency,
          onError: onWorkerError,
        }),
      );
    }
    // fauxqs keeps messages in memory: after a restart, re-send every job DynamoDB still holds as pending.
    await scheduler.resendAllPending().catch(onWorkerError);
    // fauxqs keeps objects in memory too: the audit anchors are re-derived from the blocks in DynamoDB.
    await scheduler.audit.maintenance.restoreAnchors().catch(onWorkerError);
    const schedulerTimer = startTimer(options.schedulerIntervalSeconds * 1000, async () => void (await scheduler.tick()), onWorkerError);
    // Lambda flushes after invocations; a long-lived process also flushes when idle, so the fleet never lags by more than an interval.
    const metricsFlush = startTimer(api.config.metricsFlushSeconds * 1000, () => flushQuietly(api.fleetMetrics, logger), onWorkerError);
    const backupTimers = await startBackupTimers(composeCore(config, workerLogger('scaivault-backup')), workerLogger('scaivault-backup'), dataDir, options.env);
    const removeRuntimeFile = writeRuntimeFile(dataDir, dynamoEndpoint);
    // Last: requests are served only once everything behind them runs.
    const apiHandler: ApiHandler = api.handler;
    const gateway = await startGateway({
      handler: options.wrapHandler ? options.wrapHandler(API_FUNCTION.name, apiHandler) : apiHandler,
      host: options.host,
      port: options.port,
    });
    // Where audit exports and anchors can be fetched (S3 API, path-style, any credentials).
    logger.info('embedded stack ready', { api: gateway.url, dynamodb: dynamoEndpoint, sqs_and_s3: sqsS3Endpoint, audit_bucket: bucket });
    return {
      url: gateway.url,
      rootTokenFile: root.file,
      gateway,
      stop: async () => {
        await gateway.close();
        await schedulerTimer.stop();
        for (const timer of backupTimers) await timer.stop();
        await composeCore(config, logger).notifier.flush();
        removeRuntimeFile();
        await Promise.all(pollers.map((poller) => poller.stop()));
        sqs.destroy();
        await metricsFlush.stop();
        await scheduler.audit.forwarder?.close();
        // The last totals of this instance reach the fleet store before DynamoDB goes away.
        await api.fleetMetrics.flush().catch((error: unknown) => logger.warn('final metrics flush failed', { error: (error as Error).name }));
        // Spans still in the batch leave before the process does.
        await defaultTracing.shutdown();
        await stopEmulators();
      },
    };
  } catch (error) {
    await stopEmulators();
    throw error;
  }
};

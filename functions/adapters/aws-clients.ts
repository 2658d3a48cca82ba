import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent } from 'node:https';
import { traceAwsClient } from '../observability/tracing.js';
import { guardWriteOutcomes } from './dynamodb/write-outcome.js';
import { kmsSdk, type KmsSender } from './kms/kms-sdk.js';
import { lazyClient } from './lazy-sdk.js';
import { s3Sdk, type S3Sender } from './s3/s3-sdk.js';
import { secretsManagerSdk, type SecretsManagerSender } from './secrets-manager/secrets-manager-sdk.js';
import { sqsSdk, type SqsSender } from './sqs/sqs-sdk.js';

// One client of each kind per container, created on first use. Endpoints come
// from the SDK's own AWS_ENDPOINT_URL_<SERVICE> variables, which the embedded
// runtime sets to its local emulators.

export interface ClientOptions {
  readonly timeoutMs: number;
  readonly s3ForcePathStyle: boolean;
}

// Not `import … from 'node:http'`: on Node 24 an ES module import of node:http fills its
// namespace through every getter, and the WebSocket ones load undici: ~60 ms of cold start.
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');

const sockets = { keepAlive: true, maxSockets: 64 };
/** Every agent made here, for the pool statistics. */
const agents: Array<HttpAgent | Agent> = [];

/**
 * A request handler whose deadlines end the call: the connection must open
 * within `connectionTimeout`, the answer must start within `requestTimeout`
 * (which, with throwOnRequestTimeout, destroys the socket and fails the call
 * instead of only logging a warning), and a socket silent for `socketTimeout`
 * is closed. Each client gets its own agents, so a dependency that hangs holds
 * only its own sockets and never starves the others' pool.
 */
export const boundedRequestHandler = (timeoutMs: number): NodeHttpHandler => {
  const httpAgent = new http.Agent(sockets);
  const httpsAgent = new https.Agent(sockets);
  agents.push(httpAgent, httpsAgent);
  return new NodeHttpHandler({
    connectionTimeout: Math.min(timeoutMs, 1000),
    requestTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    throwOnRequestTimeout: true,
    httpAgent,
    httpsAgent,
  });
};

const handler = (options: ClientOptions): NodeHttpHandler => boundedRequestHandler(options.timeoutMs);

/** One AWS call, as a price estimate counts it. */
export interface AwsCallUsage {
  /** The SDK client, e.g. `DynamoDBClient`. */
  readonly client: string;
  /** The SDK command, e.g. `GetItemCommand`. */
  readonly command: string;
  /** DynamoDB only: the tables the call touched, and the request units it consumed. */
  readonly tables: readonly string[];
  readonly readUnits: number;
  readonly writeUnits: number;
}

export type AwsUsageRecorder = (usage: AwsCallUsage) => void;

let usageRecorder: AwsUsageRecorder | undefined;

/**
 * Hears of every call the clients made here send; while one listens, DynamoDB
 * calls ask for their consumed capacity (ReturnConsumedCapacity TOTAL, which
 * costs nothing). For price estimates (bench/price.bench.ts); off by default.
 */
export const recordAwsUsage = (recorder: AwsUsageRecorder | undefined): void => {
  usageRecorder = recorder;
};

const CAPACITY_COMMANDS = new Set(
  ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems'].map(
    (name) => `${name}Command`,
  ),
);
const READ_COMMANDS = new Set(['GetItemCommand', 'QueryCommand', 'ScanCommand', 'BatchGetItemCommand', 'TransactGetItemsCommand']);

interface ConsumedCapacity {
  readonly TableName?: string;
  readonly CapacityUnits?: number;
}

const usageOf = (client: string, command: string, output: unknown): AwsCallUsage => {
  const consumed = (output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] } | undefined)?.ConsumedCapacity;
  const list = consumed === undefined ? [] : Array.isArray(consumed) ? consumed : [consumed];
  const units = list.reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
  const read = READ_COMMANDS.has(command);
  return { client, command, tables: list.map((entry) => entry.TableName ?? ''), readUnits: read ? units : 0, writeUnits: read ? 0 : units };
};

interface UsageContext {
  readonly clientName?: string;
  readonly commandName?: string;
}

/** The usage recorder's middleware: a no-op unless recordAwsUsage set one. */
const withUsage = <C extends MiddlewareClient>(client: C): C => {
  client.middlewareStack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<{ output: unknown }>, context: UsageContext) =>
      async (args: { input: Record<string, unknown> }) => {
        const recorder = usageRecorder;
        if (!recorder) return next(args);
        const command = context.commandName ?? 'unknown';
        const input =
          CAPACITY_COMMANDS.has(command) && context.clientName === 'DynamoDBClient' ? { ...args.input, ReturnConsumedCapacity: 'TOTAL' } : args.input;
        const result = await next({ ...args, input });
        recorder(usageOf(context.clientName ?? 'unknown', command, result.output));
        return result;
      },
    { step: 'initialize', name: 'scaivaultUsage' },
  );
  return client;
};

/**
 * The SDK's logger middleware filters every call's input and output for sensitive members
 * (walking each item) before handing them to a logger, even the no-op one clients get by
 * default: about 3 % of an api instance's CPU under load. The vault logs its calls itself.
 */
const withoutSdkLogging = <C extends MiddlewareClient>(client: C): C => {
  client.middlewareStack.remove('loggerMiddleware');
  return client;
};

/**
 * Two attempts (a call's deadline bounds the rest), and each command's resolved middleware kept
 * rather than rebuilt on every call (about 5 % of an api instance's CPU): the vault adds its
 * middlewares when it makes a client, and `observeLatency` only once.
 */
const CLIENT_DEFAULTS = { maxAttempts: 2, cacheMiddleware: true } as const;

/** Every AWS client the vault makes: traced, counted when asked, and without the SDK's own logging. */
const vaultClient = <C extends MiddlewareClient>(client: C): C => withUsage(traceAwsClient(withoutSdkLogging(client)));

let dynamodb: DynamoDBClient | undefined;
let kms: KmsSender | undefined;
let sqs: SqsSender | undefined;
let s3: S3Sender | undefined;
let secretsManager: SecretsManagerSender | undefined;

export const dynamoDbClient = (options: ClientOptions): DynamoDBClient =>
  (dynamodb ??= vaultClient(guardWriteOutcomes(new DynamoDBClient({ ...CLIENT_DEFAULTS, requestHandler: handler(options) }))));

/** Made, with the KMS SDK loaded, on the first call sent through it (a data-key cache miss). */
export const kmsClient = (options: ClientOptions): KmsSender =>
  (kms ??= lazyClient(async (): Promise<KMSClient> => vaultClient(new (await kmsSdk()).KMSClient({ ...CLIENT_DEFAULTS, requestHandler: handler(options) }))));

/** Made, with the SQS SDK loaded, on the first call sent through it (a job sent, a queue probed). */
export const sqsClient = (options: ClientOptions): SqsSender =>
  (sqs ??= lazyClient(
    async (): Promise<SQSClient> =>
      vaultClient(new (await sqsSdk()).SQSClient({ ...CLIENT_DEFAULTS, requestHandler: handler(options), useQueueUrlAsEndpoint: false })),
  ));

/** Made, with the S3 SDK loaded, on the first call sent through it. */
export const s3Client = (options: ClientOptions): S3Sender =>
  (s3 ??= lazyClient(
    async (): Promise<S3Client> =>
      vaultClient(new (await s3Sdk()).S3Client({ ...CLIENT_DEFAULTS, requestHandler: handler(options), forcePathStyle: options.s3ForcePathStyle })),
  ));

/** Made, with the Secrets Manager SDK loaded, on the first call sent through it. */
export const secretsManagerClient = (options: ClientOptions): SecretsManagerSender =>
  (secretsManager ??= lazyClient(
    async (): Promise<SecretsManagerClient> =>
      vaultClient(new (await secretsManagerSdk()).SecretsManagerClient({ ...CLIENT_DEFAULTS, requestHandler: handler(options) })),
  ));

/** The string value of a Secrets Manager secret (bootstrap tokens the stack generates). */
export const readSecretString = async (client: SecretsManagerSender, secretId: string): Promise<string> => {
  const { GetSecretValueCommand } = await secretsManagerSdk();
  const secret = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  return (secret.SecretString ?? '').trim();
};

/** Sockets the SDK clients hold open and waiting for them (the connection pool). */
export const socketPoolStats = (): { open: number; free: number; pending: number; max: number } => {
  const count = (pick: (agent: HttpAgent | Agent) => NodeJS.Dict<unknown[]>): number =>
    agents.reduce((total, agent) => total + Object.values(pick(agent)).reduce((n, list) => n + (list?.length ?? 0), 0), 0);
  const busy = count((agent) => agent.sockets);
  const free = count((agent) => agent.freeSockets);
  return { open: busy + free, free, pending: count((agent) => agent.requests), max: sockets.maxSockets };
};

interface MiddlewareClient {
  middlewareStack: {
    add(middleware: unknown, options: { step: 'initialize'; name: string }): void;
    remove(name: string): boolean;
  };
}

const latencyObservers = new WeakMap<MiddlewareClient, Map<string, (seconds: number) => void>>();

/**
 * Reports the wall time of every call made through `client`, retries included, to the
 * observer last given under `name`. The middleware is added once: the clients cache their
 * resolved middleware (`cacheMiddleware`), so a stack changed after a first call would not count.
 */
export const observeLatency = (client: MiddlewareClient, name: string, observe: (seconds: number) => void): void => {
  let observers = latencyObservers.get(client);
  if (!observers) latencyObservers.set(client, (observers = new Map()));
  const added = observers.has(name);
  observers.set(name, observe);
  if (added) return;
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      const started = performance.now();
      try {
        return await next(args);
      } finally {
        observers.get(name)?.((performance.now() - started) / 1000);
      }
    },
    { step: 'initialize', name },
  );
};

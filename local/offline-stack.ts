// What `npm run backup` and `npm run restore` run on: the DynamoDB of a data dir
// (the running vault's, found through its runtime file, or dynalite opened on the
// directory when no vault holds it) and the environment the functions read.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AUDIT_TABLE, ENV, METRICS_TABLE, STATE_TABLE } from '../functions/runtime/definitions.js';
import { RUNTIME_FILE } from './backup-timers.js';
import { startDynalite } from './emulators.js';
import type { Logger } from '../functions/observability/logger.js';

export interface OfflineDynamoDb {
  readonly endpoint: string;
  /** Whether this process opened the data dir itself (no vault was running on it). */
  readonly opened: boolean;
  close(): Promise<void>;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The running vault's DynamoDB endpoint when its runtime file names a live process. */
const runningEndpoint = (dataDir: string): string | undefined => {
  const file = join(dataDir, RUNTIME_FILE);
  if (!existsSync(file)) return undefined;
  const runtime = JSON.parse(readFileSync(file, 'utf8')) as { dynamodb?: string; pid?: number };
  return runtime.pid && alive(runtime.pid) ? runtime.dynamodb : undefined;
};

export const openDynamoDb = async (dataDir: string, endpoint: string | undefined): Promise<OfflineDynamoDb> => {
  const given = endpoint ?? runningEndpoint(dataDir);
  if (given) return { endpoint: given, opened: false, close: async () => undefined };
  const dynalite = await startDynalite({ path: join(dataDir, 'dynamodb') });
  return { endpoint: dynalite.endpoint, opened: true, close: () => dynalite.close() };
};

/** The environment the functions' configuration reads, for the embedded tables at `endpoint`. */
export const offlineEnv = (dataDir: string, endpoint: string, env: NodeJS.ProcessEnv): Record<string, string> => ({
  AWS_REGION: env.AWS_REGION ?? 'us-east-1',
  AWS_ACCESS_KEY_ID: 'embedded',
  AWS_SECRET_ACCESS_KEY: 'embedded',
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
  [STATE_TABLE.envVar]: STATE_TABLE.id,
  [METRICS_TABLE.envVar]: METRICS_TABLE.id,
  [AUDIT_TABLE.envVar]: AUDIT_TABLE.id,
  [ENV.keyProvider]: 'local',
  [ENV.localKeyFile]: env[ENV.localKeyFile] ?? join(dataDir, 'master.key'),
  // A one-shot process flushes its metrics once, at the end.
  [ENV.metricsFlushSeconds]: '3600',
});

/** Runs a one-shot command's `main` and exits: 0 when it resolves, 1 (logged, error class and message) when it throws. */
export const runCommand = (main: () => Promise<void>, logger: Pick<Logger, 'error'>, what: string): void => {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error(`${what} failed`, { error: (error as Error).name, detail: (error as Error).message });
      process.exit(1);
    },
  );
};

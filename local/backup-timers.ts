import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VaultCore } from '../functions/composition/vault-core.js';
import type { Logger } from '../functions/observability/logger.js';
import { startTimer, type Timer } from './queue-poller.js';

/** Where a running embedded vault's DynamoDB listens: `npm run backup` finds it here (the LevelDB files are locked while it runs). */
export const RUNTIME_FILE = 'runtime.json';

export const writeRuntimeFile = (dataDir: string, dynamodb: string): (() => void) => {
  const file = join(dataDir, RUNTIME_FILE);
  writeFileSync(file, `${JSON.stringify({ dynamodb, pid: process.pid })}\n`, { mode: 0o600 });
  return () => rmSync(file, { force: true });
};

/** The embedded runtime's backup and drill schedules (SCAIVAULT_BACKUP_INTERVAL_MINUTES, SCAIVAULT_RESTORE_DRILL_INTERVAL_MINUTES). */
export const startBackupTimers = async (core: VaultCore, logger: Logger, dataDir: string, env: NodeJS.ProcessEnv): Promise<Timer[]> => {
  const [{ loadBackupConfig }, { backupDirOf, composeBackups }] = await Promise.all([
    import('../functions/ops-config.js'),
    import('../functions/composition/backups.js'),
  ]);
  const config = loadBackupConfig(env);
  if (config.intervalMinutes <= 0 && config.drillIntervalMinutes <= 0) return [];
  const backups = composeBackups(core, logger, { ...config, dir: backupDirOf(config, dataDir) });
  const onError = (error: unknown) => logger.warn('scheduled backup job failed', { error: (error as Error).name });
  const timers: Timer[] = [];
  if (config.intervalMinutes > 0) timers.push(startTimer(config.intervalMinutes * 60_000, async () => void (await backups.backup()), onError));
  if (config.drillIntervalMinutes > 0) timers.push(startTimer(config.drillIntervalMinutes * 60_000, async () => void (await backups.runDrill()), onError));
  return timers;
};

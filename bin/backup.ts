// `npm run backup`: a backup of every table of the embedded vault in $SCAIVAULT_DATA_DIR
// (running or not) to <data dir>/backups/<timestamp>/; prints where it went.
import { resolve } from 'node:path';
import { getOptionalString, getString } from '../functions/config.js';
import { createLogger } from '../functions/observability/logger.js';
import { openDynamoDb, offlineEnv, runCommand } from '../local/offline-stack.js';

const logger = createLogger(process.env, { service: 'scaivault-backup' });

const main = async (): Promise<void> => {
  const dataDir = resolve(getString(process.env, 'SCAIVAULT_DATA_DIR', '.scaivault'));
  const dynamodb = await openDynamoDb(dataDir, getOptionalString(process.env, 'SCAIVAULT_DYNAMODB_ENDPOINT'));
  try {
    Object.assign(process.env, offlineEnv(dataDir, dynamodb.endpoint, process.env));
    const [{ loadConfig }, { loadBackupConfig }, { composeCore }, { backupDirOf, composeBackups }] = await Promise.all([
      import('../functions/config.js'),
      import('../functions/ops-config.js'),
      import('../functions/composition/vault-core.js'),
      import('../functions/composition/backups.js'),
    ]);
    const core = composeCore(loadConfig(process.env), logger);
    const config = loadBackupConfig(process.env);
    const backups = composeBackups(core, logger, { ...config, dir: backupDirOf(config, dataDir) });
    try {
      const manifest = await backups.backup();
      process.stdout.write(`${backups.store.locationOf(manifest.backupId)}\n`);
    } finally {
      // This run's counts reach the fleet's /v1/metrics.
      await core.fleetMetrics.flush().catch((error: unknown) => logger.warn('metrics flush failed', { error: (error as Error).name }));
      await core.notifier.flush();
    }
  } finally {
    await dynamodb.close();
  }
};

runCommand(main, logger, 'backup');

// `npm start`: ScaiVault on the embedded stack, http://127.0.0.1:${PORT:-8200}.
import { getNumber, getOptionalString, getString } from '../functions/config.js';
import { createLogger } from '../functions/observability/logger.js';
import { startEmbedded } from '../local/embedded.js';
import { unprotectedMetricsProblem } from '../local/listen-guard.js';

const logger = createLogger(process.env, { service: 'scaivault-embedded' });

const main = async (): Promise<void> => {
  const host = getString(process.env, 'SCAIVAULT_HOST', '127.0.0.1');
  const exposure = unprotectedMetricsProblem(host, process.env);
  if (exposure) {
    logger.error('scaivault refuses to start', { detail: exposure });
    process.exit(1);
  }
  const vault = await startEmbedded({
    dataDir: getString(process.env, 'SCAIVAULT_DATA_DIR', '.scaivault'),
    host,
    port: getNumber(process.env, 'PORT', 8200),
    dynamoDbEndpoint: getOptionalString(process.env, 'SCAIVAULT_DYNAMODB_ENDPOINT'),
    sqsS3Endpoint: getOptionalString(process.env, 'SCAIVAULT_SQS_S3_ENDPOINT'),
    rootToken: getOptionalString(process.env, 'SCAIVAULT_ROOT_TOKEN'),
    schedulerIntervalSeconds: getNumber(process.env, 'SCAIVAULT_SCHEDULER_INTERVAL_SECONDS', 30, 0.1),
    env: process.env,
  });
  logger.info('scaivault listening', {
    url: vault.url,
    root_token: vault.rootTokenFile ? `in ${vault.rootTokenFile}` : 'from SCAIVAULT_ROOT_TOKEN',
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('scaivault stopping', { signal });
    try {
      await vault.stop();
      logger.info('scaivault stopped', { signal });
      process.exit(0);
    } catch (error) {
      logger.error('scaivault failed to stop cleanly', { error: (error as Error).name });
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
};

main().catch((error: unknown) => {
  logger.error('scaivault failed to start', { error: (error as Error).name, detail: (error as Error).message });
  process.exit(1);
});

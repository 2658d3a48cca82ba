import type { SecretsManagerRotationEvent } from 'aws-lambda';
import { type ClientOptions, secretsManagerClient } from '../adapters/aws-clients.js';
import { SecretsManagerRotatingSecret } from '../adapters/secrets-manager/secrets-manager-rotating-secret.js';
import { TokenRotation } from '../domain/auth/token-rotation.js';
import { describeError, type Logger } from '../observability/logger.js';

export interface MetricsTokenRotation {
  readonly handler: (event: SecretsManagerRotationEvent) => Promise<void>;
}

// Needs none of the vault's tables, so it loads no VaultConfig; each step is a few Secrets Manager calls.
const CLIENTS: ClientOptions = { timeoutMs: 5000, s3ForcePathStyle: false };

/** The `metrics-token-rotation` function: Secrets Manager invokes it with each step of a rotation of the metrics token secret. */
export const composeMetricsTokenRotation = (logger: Logger, clients: ClientOptions = CLIENTS): MetricsTokenRotation => {
  const client = secretsManagerClient(clients);
  return {
    handler: async ({ Step, SecretId, ClientRequestToken }) => {
      const fields = { step: Step, version_id: ClientRequestToken };
      try {
        await new TokenRotation(new SecretsManagerRotatingSecret(client, SecretId)).run(Step, ClientRequestToken);
        logger.info('metrics token rotation step done', fields);
      } catch (error) {
        logger.error('metrics token rotation step failed', { ...fields, error: describeError(error) });
        throw error;
      }
    },
  };
};

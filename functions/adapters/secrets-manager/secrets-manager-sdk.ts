// The Secrets Manager SDK loads when a bootstrap or metrics token is first read, not with every function.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { lazyModule } from '../../domain/lazy-module.js';

/** What an adapter needs of a Secrets Manager client: a real one, or aws-clients' lazily made one. */
export type SecretsManagerSender = Pick<SecretsManagerClient, 'send'>;

export const secretsManagerSdk = lazyModule(() => import('@aws-sdk/client-secrets-manager'));

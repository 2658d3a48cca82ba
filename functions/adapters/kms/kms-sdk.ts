// The KMS SDK loads on the first data-key cache miss, not with every function.
import type { KMSClient } from '@aws-sdk/client-kms';
import { lazyModule } from '../../domain/lazy-module.js';

/** What the key wrapper needs of a KMS client: a real one, or aws-clients' lazily made one. */
export type KmsSender = Pick<KMSClient, 'send'>;

export const kmsSdk = lazyModule(() => import('@aws-sdk/client-kms'));

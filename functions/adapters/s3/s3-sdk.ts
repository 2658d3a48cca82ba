// The S3 SDK (about 40 ms of a cold start) loads on the first S3 call, not with
// every function: the api touches the audit bucket only to seal, verify,
// export and probe readiness.
import type { S3Client } from '@aws-sdk/client-s3';
import { lazyModule } from '../../domain/lazy-module.js';

/** What an adapter needs of an S3 client: a real one, or aws-clients' lazily made one. */
export type S3Sender = Pick<S3Client, 'send'>;

export const s3Sdk = lazyModule(() => import('@aws-sdk/client-s3'));

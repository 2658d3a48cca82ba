// The S3 SDK (about 40 ms of a cold start) loads on the first S3 call, not with
// every function: the api touches the audit bucket only to seal, verify,
// export and probe readiness.
import type { S3Client } from '@aws-sdk/client-s3';

export type S3Sdk = typeof import('@aws-sdk/client-s3');

/** What an adapter needs of an S3 client: a real one, or aws-clients' lazily made one. */
export type S3Sender = Pick<S3Client, 'send'>;

let sdk: Promise<S3Sdk> | undefined;

export const s3Sdk = (): Promise<S3Sdk> => {
  sdk ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    sdk = undefined;
    throw error;
  });
  return sdk;
};

// The SQS SDK (about 5 ms of a cold start) loads on the first queue call: an api
// instance serving reads never sends a job, and probes the queues only for
// readiness and the detailed health.
import type { SQSClient } from '@aws-sdk/client-sqs';
import { lazyModule } from '../../domain/lazy-module.js';

/** What an adapter needs of an SQS client: a real one, or aws-clients' lazily made one. */
export type SqsSender = Pick<SQSClient, 'send'>;

export const sqsSdk = lazyModule(() => import('@aws-sdk/client-sqs'));

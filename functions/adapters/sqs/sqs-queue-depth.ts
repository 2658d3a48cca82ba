import { sqsSdk, type SqsSender } from './sqs-sdk.js';

const COUNTS = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/**
 * `waiting`: messages visible to a receiver (the contract's queue depth).
 * `backlog`: every message not yet finished: waiting, in flight (a worker has
 * it, or it waits out a retry's backoff) and delayed; a job backing off between
 * attempts is backlog too, though SQS counts it apart from the waiting ones.
 */
export const sqsQueueCounts = async (client: SqsSender, queueUrl: string): Promise<{ waiting: number; backlog: number }> => {
  const { GetQueueAttributesCommand } = await sqsSdk();
  const result = await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...COUNTS] }));
  const counts = COUNTS.map((name) => Number(result.Attributes?.[name] ?? 0));
  return { waiting: counts[0] ?? 0, backlog: counts.reduce((total, count) => total + count, 0) };
};

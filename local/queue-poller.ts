import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';

// Embedded stand-in for a Lambda SQS event source mapping: long-polls a queue from
// as many loops as the mapping's maxConcurrency, hands batches to the worker handler,
// deletes what succeeded and leaves reported failures to the visibility timeout
// (and so the redrive policy's DLQ).

export type QueueHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface QueuePollerOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: QueueHandler;
  readonly batchSize?: number;
  readonly waitTimeSeconds?: number;
  /** Receive loops running at once, as Lambda runs up to a mapping's maxConcurrency invocations. */
  readonly concurrency?: number;
  readonly functionName: string;
  readonly onError?: (error: unknown) => void;
}

export interface QueuePoller {
  stop(): Promise<void>;
}

const toRecord = (message: Message, queueArn: string, region: string): SQSRecord => ({
  messageId: message.MessageId ?? '',
  receiptHandle: message.ReceiptHandle ?? '',
  body: message.Body ?? '',
  attributes: {
    ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1',
    SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
    SenderId: message.Attributes?.SenderId ?? 'embedded',
    ApproximateFirstReceiveTimestamp: message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  },
  messageAttributes: Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
      name,
      {
        stringValue: value.StringValue,
        binaryValue: value.BinaryValue ? Buffer.from(value.BinaryValue).toString('base64') : undefined,
        stringListValues: [],
        binaryListValues: [],
        dataType: value.DataType ?? 'String',
      },
    ]),
  ),
  md5OfBody: message.MD5OfBody ?? '',
  eventSource: 'aws:sqs',
  eventSourceARN: queueArn,
  awsRegion: region,
});

export const startQueuePoller = (options: QueuePollerOptions): QueuePoller => {
  let running = true;
  const region = options.queueArn.split(':')[3] ?? 'us-east-1';
  const poll = async () => {
    while (running) {
      try {
        const received = await options.client.send(
          new ReceiveMessageCommand({
            QueueUrl: options.queueUrl,
            MaxNumberOfMessages: options.batchSize ?? 10,
            WaitTimeSeconds: options.waitTimeSeconds ?? 1,
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) continue;
        const event: SQSEvent = { Records: messages.map((m) => toRecord(m, options.queueArn, region)) };
        let failed: Set<string>;
        try {
          const response = await options.handler(event, lambdaContext(options.functionName, 60_000));
          failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
        } catch (error) {
          // A thrown handler fails the whole batch, as with Lambda.
          options.onError?.(error);
          failed = new Set(messages.map((m) => m.MessageId ?? ''));
        }
        const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
        if (done.length > 0) {
          await options.client.send(
            new DeleteMessageBatchCommand({
              QueueUrl: options.queueUrl,
              Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
            }),
          );
        }
      } catch (error) {
        options.onError?.(error);
        if (running) await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  };
  const loops = Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 1) }, poll));
  return {
    stop: async () => {
      running = false;
      await loops;
    },
  };
};

export interface Timer {
  stop(): Promise<void>;
}

/** Embedded stand-in for an EventBridge schedule: runs `task` every interval; a tick that finds it still running is skipped. */
export const startTimer = (intervalMs: number, task: () => Promise<void>, onError?: (error: unknown) => void): Timer => {
  let current: Promise<void> | undefined;
  const timer = setInterval(() => {
    current ??= task()
      .catch((error: unknown) => onError?.(error))
      .finally(() => {
        current = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await current;
    },
  };
};

import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFauxqs, type RunningEmulator } from '../../local/emulators.js';
import { ensureQueue } from '../../local/provision.js';
import { startQueuePoller, startTimer } from '../../local/queue-poller.js';
import { waitFor } from './support/processes.js';

describe('embedded queue poller on fauxqs', () => {
  let fauxqs: RunningEmulator;
  let client: SQSClient;

  beforeAll(async () => {
    fauxqs = await startFauxqs({});
    client = new SQSClient({ endpoint: fauxqs.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  });

  afterAll(async () => {
    client?.destroy();
    await fauxqs?.close();
  });

  it('deletes what the handler finished and redrives reported failures to the DLQ', async () => {
    const queue = { id: 'poller-test', envVar: 'UNUSED', visibilityTimeoutSeconds: 1, maxReceiveCount: 2, retentionDays: 1 };
    const queueUrl = await ensureQueue(client, queue);
    const queueArn = (await client.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    const dlqUrl = (await client.send(new CreateQueueCommand({ QueueName: 'poller-test-dlq' }))).QueueUrl!;
    const handled: string[] = [];
    const attempts = new Map<string, number>();
    const poller = startQueuePoller({
      client,
      queueUrl,
      queueArn,
      functionName: 'test-worker',
      waitTimeSeconds: 1,
      handler: async (event: SQSEvent): Promise<SQSBatchResponse> => {
        const batchItemFailures = [];
        for (const record of event.Records) {
          attempts.set(record.body, (attempts.get(record.body) ?? 0) + 1);
          if (record.body.startsWith('fail')) batchItemFailures.push({ itemIdentifier: record.messageId });
          else handled.push(record.body);
        }
        return { batchItemFailures };
      },
    });
    try {
      for (const body of ['ok-1', 'fail-1', 'ok-2']) await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
      const dead: string[] = [];
      await waitFor(
        async () => {
          const received = await client.send(new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
          dead.push(...(received.Messages ?? []).map((m) => m.Body ?? ''));
          return dead.length > 0;
        },
        20_000,
        'the failing message in the DLQ',
      );
      expect(dead).toEqual(['fail-1']);
      expect(handled.sort()).toEqual(['ok-1', 'ok-2']);
      expect(attempts.get('fail-1')).toBe(2);
      expect(attempts.get('ok-1')).toBe(1);
    } finally {
      await poller.stop();
    }
  });

  it('runs a timer task without overlapping runs', async () => {
    let running = 0;
    let maxRunning = 0;
    let runs = 0;
    const timer = startTimer(10, async () => {
      running += 1;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 30));
      running -= 1;
      runs += 1;
    });
    await waitFor(async () => runs >= 3, 10_000, 'three runs');
    await timer.stop();
    expect(maxRunning).toBe(1);
  });
});

import type { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { context as otelContext, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { SqsJobQueue } from '../../functions/adapters/sqs/sqs-job-queue.js';
import { Tracing, traceparentOf } from '../../functions/observability/tracing.js';
import { UNIT_TRACING_CONFIG } from './support/tracing-config.js';

const CONFIG = UNIT_TRACING_CONFIG;
const URLS = { rotation: 'http://sqs/rotation', webhook: 'http://sqs/webhook', 'audit-export': undefined };

const recordingClient = () => {
  const sent: SendMessageCommand['input'][] = [];
  const client = { send: async (command: SendMessageCommand) => void sent.push(command.input) } as unknown as SQSClient;
  return { client, sent };
};

describe('SqsJobQueue', () => {
  it("carries the sender's trace context and baggage as message attributes", async () => {
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(new InMemorySpanExporter()));
    const { client, sent } = recordingClient();
    const queue = new SqsJobQueue(client, URLS, tracing);
    const withBaggage = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ 'tenant.tier': { value: 'gold' } }));
    const { span, context } = tracing.startServerSpan('POST /v1/secrets/{path+}/rotate', withBaggage, {});
    await otelContext.with(context, () => queue.send('rotation', 'rot_0123456789'));
    span.end();

    expect(sent[0]).toMatchObject({ QueueUrl: URLS.rotation, MessageBody: '{"job_id":"rot_0123456789"}' });
    expect(sent[0]!.MessageAttributes).toEqual({
      traceparent: { DataType: 'String', StringValue: traceparentOf(span) },
      baggage: { DataType: 'String', StringValue: 'tenant.tier=gold' },
    });
    await tracing.shutdown();
  });

  it('sends no attributes outside a trace, and refuses a queue with no URL', async () => {
    const { client, sent } = recordingClient();
    const queue = new SqsJobQueue(client, URLS, new Tracing(CONFIG, undefined));
    await queue.send('webhook', 'whd_0123456789');
    expect(sent[0]!.MessageAttributes).toBeUndefined();
    await expect(queue.send('audit-export', 'exp_0123456789')).rejects.toThrow('no URL configured for the audit-export queue');
  });

  it('sends ten messages a request and answers the ids SQS did not take, or a whole batch whose request failed', async () => {
    const batches: SendMessageBatchCommand['input'][] = [];
    const client = {
      send: async (command: SendMessageBatchCommand) => {
        batches.push(command.input);
        if (batches.length === 2) throw new Error('throttled');
        return batches.length === 1 ? { Failed: [{ Id: '4', SenderFault: false, Code: 'InternalError' }] } : {};
      },
    } as unknown as SQSClient;
    const queue = new SqsJobQueue(client, URLS, new Tracing(CONFIG, undefined));
    const ids = Array.from({ length: 23 }, (_, i) => `whd_${String(i).padStart(10, '0')}`);
    const unsent = await queue.sendAll('webhook', ids);
    expect(batches.map((batch) => batch.Entries?.length)).toEqual([10, 10, 3]);
    expect(batches[0]!.Entries![3]).toMatchObject({ Id: '3', MessageBody: `{"job_id":"${ids[3]}"}` });
    expect(unsent.map((job) => job.jobId).sort()).toEqual([ids[4], ...ids.slice(10, 20)].sort());
    expect(unsent.find((job) => job.jobId === ids[4])?.error).toBe('InternalError');
    expect(unsent.find((job) => job.jobId === ids[10])?.error).toBe('Error');
  });

  it("puts the sender's trace on every message of a batch", async () => {
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(new InMemorySpanExporter()));
    const batches: SendMessageBatchCommand['input'][] = [];
    const client = { send: async (command: SendMessageBatchCommand) => void batches.push(command.input) } as unknown as SQSClient;
    const queue = new SqsJobQueue(client, URLS, tracing);
    const { span, context } = tracing.startServerSpan('PUT /v1/secrets/{path+}', ROOT_CONTEXT, {});
    await otelContext.with(context, () => queue.sendAll('webhook', ['whd_0123456789', 'whd_9876543210']));
    span.end();
    expect(batches[0]!.Entries!.map((entry) => entry.MessageAttributes)).toEqual(
      Array(2).fill({ traceparent: { DataType: 'String', StringValue: traceparentOf(span) } }),
    );
    await tracing.shutdown();
  });
});

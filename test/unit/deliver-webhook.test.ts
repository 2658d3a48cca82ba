import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import type { JobQueueName } from '../../functions/domain/jobs/jobs.js';
import { backoffCeilingMs } from '../../functions/domain/webhooks/backoff.js';
import { DeliverWebhook } from '../../functions/domain/webhooks/deliver-webhook.js';
import { deliveryJobId } from '../../functions/domain/webhooks/webhook-event-publisher.js';
import { InMemoryJobRepository, webhookFixture } from './support/webhook-fixtures.js';
import type { WebhookRequest, WebhookResponse } from '../../functions/domain/ports/webhooks.js';

class FakeSender {
  readonly requests: WebhookRequest[] = [];
  constructor(public answer: WebhookResponse = { kind: 'response', statusCode: 204, latencyMs: 12 }) {}
  async send(request: WebhookRequest): Promise<WebhookResponse> {
    this.requests.push(request);
    return this.answer;
  }
}

class RecordingMetrics {
  readonly deliveries: [boolean, number][] = [];
  readonly deadLetters: JobQueueName[] = [];
  webhookDelivery(success: boolean, seconds: number): void {
    this.deliveries.push([success, seconds]);
  }
  deadLettered(queue: JobQueueName): void {
    this.deadLetters.push(queue);
  }
}

const silent = { info: () => undefined, warn: () => undefined };
const backoff = { baseMs: 1000, capMs: 8000 };

const setup = async (options: { maxAttempts?: number; now?: () => number } = {}) => {
  let clock = Date.now();
  const now = options.now ?? (() => clock);
  const fixture = await webhookFixture(now);
  const { webhook, secret } = await fixture.webhooks.create(fixture.admin, { url: 'https://hooks.example.com/in', eventTypes: ['secret.created'] });
  const jobs = new InMemoryJobRepository();
  const jobId = deliveryJobId('evt_1', webhook.webhookId);
  await jobs.create({
    jobId,
    queue: 'webhook',
    kind: 'deliver-webhook',
    tenantId: 'acme',
    payload: {
      webhookId: webhook.webhookId,
      eventId: 'evt_1',
      eventType: 'secret.created',
      occurredAt: '2026-03-01T00:00:00.000Z',
      data: { path: 'db/pw', version: 1 },
    },
    createdAt: new Date().toISOString(),
    status: 'pending',
  });
  const sender = new FakeSender();
  const metrics = new RecordingMetrics();
  const deliver = new DeliverWebhook(
    jobs,
    fixture.repository,
    fixture.keys,
    sender,
    metrics,
    silent,
    {
      timeoutMs: 5000,
      backoff,
      maxAttempts: options.maxAttempts ?? 8,
      maxReceiveCount: 8,
    },
    now,
  );
  return { ...fixture, webhook, secret, jobs, jobId, sender, metrics, deliver, advance: (ms: number) => (clock += ms) };
};

describe('webhook delivery', () => {
  it('POSTs the signed event and finishes the job on a 2xx', async () => {
    const { deliver, jobId, sender, jobs, secret, repository, metrics } = await setup();
    expect(await deliver.deliver({ jobId, receiveCount: 1, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' })).toEqual({
      action: 'done',
    });
    expect(sender.requests).toHaveLength(1);
    const request = sender.requests[0]!;
    expect(request.url).toBe('https://hooks.example.com/in');
    expect(request.timeoutMs).toBe(5000);
    expect(request.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(request.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': 'ScaiVault-Webhooks/1', 'webhook-id': jobId });
    expect(Number(request.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1);
    expect(new Webhook(secret).verify(request.body, { ...request.headers })).toEqual({
      type: 'secret.created',
      timestamp: '2026-03-01T00:00:00.000Z',
      data: { path: 'db/pw', version: 1 },
    });
    expect(jobs.jobs.get(jobId)).toMatchObject({ status: 'succeeded', outcome: 'delivered: HTTP 204' });
    expect(repository.attempts).toMatchObject([{ jobId, attempt: 1, statusCode: 204, error: null, latencyMs: 12, outcome: 'success', retryInMs: null }]);
    expect(metrics.deliveries).toEqual([[true, 0.012]]);

    // The same message again (a redelivery) has no further effect.
    expect(await deliver.deliver({ jobId, receiveCount: 2, traceparent: undefined })).toEqual({ action: 'done' });
    expect(sender.requests).toHaveLength(1);
  });

  it('retries a failure with a backoff inside the growing bound, and records each attempt', async () => {
    const { deliver, jobId, sender, jobs, repository, metrics } = await setup();
    sender.answer = { kind: 'response', statusCode: 500, latencyMs: 30 };
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const decision = await deliver.deliver({ jobId, receiveCount: attempt, traceparent: undefined });
      expect(decision.action).toBe('retry');
      const seconds = decision.action === 'retry' ? decision.delaySeconds : -1;
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThanOrEqual(Math.ceil(backoffCeilingMs(backoff, attempt) / 1000));
    }
    expect(repository.attempts.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([1, 2, 3, 4, 5].map((n) => [n, 500, 'retrying']));
    expect(repository.attempts.every((a) => a.retryInMs !== null && a.retryInMs % 1000 === 0)).toBe(true);
    expect(jobs.jobs.get(jobId)?.status).toBe('pending');
    expect(metrics.deliveries.every(([success]) => !success)).toBe(true);
    expect(sender.requests.map((r) => r.headers['webhook-id'])).toEqual(Array(5).fill(jobId));
  });

  it('gives up on the last receive: job failed, dead-letter counted, message left for the DLQ', async () => {
    const { deliver, jobId, sender, jobs, repository, metrics } = await setup();
    sender.answer = { kind: 'error', error: 'ECONNREFUSED', final: false, latencyMs: 2 };
    expect(await deliver.deliver({ jobId, receiveCount: 8, traceparent: undefined })).toEqual({ action: 'dead-letter' });
    expect(jobs.jobs.get(jobId)).toMatchObject({ status: 'failed', outcome: 'gave up after 8 attempts: ECONNREFUSED' });
    expect(repository.attempts.at(-1)).toMatchObject({ attempt: 8, statusCode: null, error: 'ECONNREFUSED', outcome: 'failed', retryInMs: null });
    expect(metrics.deadLetters).toEqual(['webhook']);
    // When the redrive happens the job is finished: nothing more is sent.
    expect(await deliver.deliver({ jobId, receiveCount: 9, traceparent: undefined })).toEqual({ action: 'done' });
    expect(sender.requests).toHaveLength(1);
  });

  it('gives up early under a lower attempt limit and deletes the message', async () => {
    const { deliver, jobId, sender, jobs, metrics } = await setup({ maxAttempts: 3 });
    sender.answer = { kind: 'response', statusCode: 503, latencyMs: 2 };
    expect((await deliver.deliver({ jobId, receiveCount: 2, traceparent: undefined })).action).toBe('retry');
    expect(await deliver.deliver({ jobId, receiveCount: 3, traceparent: undefined })).toEqual({ action: 'done' });
    expect(jobs.jobs.get(jobId)?.status).toBe('failed');
    expect(metrics.deadLetters).toEqual(['webhook']);
  });

  it('treats a refused destination as final: no retry storm', async () => {
    const { deliver, jobId, sender, jobs, repository, metrics } = await setup();
    sender.answer = { kind: 'error', error: 'EgressRefusedError', final: true, latencyMs: 1 };
    expect(await deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined })).toEqual({ action: 'done' });
    expect(jobs.jobs.get(jobId)).toMatchObject({ status: 'failed', outcome: 'not delivered: EgressRefusedError' });
    expect(repository.attempts).toMatchObject([{ error: 'EgressRefusedError', outcome: 'failed', statusCode: null }]);
    expect(metrics.deliveries).toEqual([[false, 0.001]]);
    expect(metrics.deadLetters).toEqual([]);
  });

  it('does not deliver while another copy of the job holds the lease', async () => {
    const { deliver, jobId, sender, repository } = await setup();
    await repository.claimDelivery(jobId, 'someone-else', Date.now(), 60_000);
    const decision = await deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined });
    expect(decision).toEqual({ action: 'retry', delaySeconds: 20 });
    expect(sender.requests).toHaveLength(0);
    expect(repository.leases.get(jobId)?.holder).toBe('someone-else');
  });

  it('records an attempt before its POST, so one answered but never finished still shows as unknown', async () => {
    const { deliver, jobId, sender, repository, jobs } = await setup();
    const record = repository.recordAttempt.bind(repository);
    let postsBeforeRecord = -1;
    repository.recordAttempt = async (attempt) => {
      if (postsBeforeRecord < 0) postsBeforeRecord = sender.requests.length;
      return record(attempt);
    };
    // The receiver answered 204, then the job could not be finished (DynamoDB down, or the worker died).
    const finish = jobs.finish.bind(jobs);
    jobs.finish = async () => {
      throw new Error('dynamodb down');
    };
    await expect(deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined })).rejects.toThrow('dynamodb down');
    expect(postsBeforeRecord).toBe(0);
    expect(sender.requests).toHaveLength(1);
    expect(repository.attempts).toMatchObject([{ jobId, attempt: 1, outcome: 'unknown', statusCode: null }]);
    expect(jobs.jobs.get(jobId)?.status).toBe('pending');
    // The retry posts again (receivers deduplicate by webhook-id) and is the one success; the unknown attempt stays.
    jobs.finish = finish;
    expect(await deliver.deliver({ jobId, receiveCount: 2, traceparent: undefined })).toEqual({ action: 'done' });
    expect(sender.requests).toHaveLength(2);
    expect(repository.attempts.map((a) => [a.attempt, a.outcome])).toEqual([
      [1, 'unknown'],
      [2, 'success'],
    ]);
    expect(jobs.jobs.get(jobId)?.status).toBe('succeeded');
  });

  it('does not deliver a job another copy finished just before this one claimed it, and keeps the finished lease', async () => {
    const { deliver, jobId, sender, repository, jobs } = await setup();
    // The other copy finishes the job while this copy claims the lease.
    const claim = repository.claimDelivery.bind(repository);
    repository.claimDelivery = async (...args: Parameters<typeof claim>) => {
      await jobs.finish(jobId, 'succeeded', 'delivered: HTTP 204');
      return claim(...args);
    };
    expect(await deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined })).toEqual({ action: 'done' });
    expect(sender.requests).toHaveLength(0);
    expect(repository.attempts).toHaveLength(0);
    // Its lease is left to run out; a later copy, turned away by it, reads the job finished and is done too.
    const holder = repository.leases.get(jobId)?.holder;
    expect(holder).toBeDefined();
    repository.claimDelivery = claim;
    expect(await deliver.deliver({ jobId, receiveCount: 2, traceparent: undefined })).toEqual({ action: 'done' });
    expect(repository.leases.get(jobId)?.holder).toBe(holder);
    expect(sender.requests).toHaveLength(0);
  });

  it('signs with both secrets during the rotation grace period, and with the new one only after it', async () => {
    const { deliver, jobId, sender, webhooks, admin, webhook, secret: oldSecret, jobs, advance } = await setup();
    const { secret: newSecret } = await webhooks.rotateSecret(admin, webhook.webhookId);
    sender.answer = { kind: 'response', statusCode: 500, latencyMs: 1 };
    await deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined });
    const during = sender.requests[0]!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(new Webhook(newSecret).verify(during.body, { ...during.headers })).toBeTruthy();
    expect(new Webhook(oldSecret).verify(during.body, { ...during.headers })).toBeTruthy();

    advance(24 * 3600 * 1000 + 1);
    sender.answer = { kind: 'response', statusCode: 200, latencyMs: 1 };
    await deliver.deliver({ jobId, receiveCount: 2, traceparent: undefined });
    const after = sender.requests[1]!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    // The verifier's clock is real time: check the signature itself rather than the (future) timestamp.
    const expected = new Webhook(newSecret).sign(jobId, new Date(Number(after.headers['webhook-timestamp']) * 1000), after.body);
    expect(after.headers['webhook-signature']).toBe(expected);
    expect(jobs.jobs.get(jobId)?.status).toBe('succeeded');
  });

  it('finishes jobs whose webhook was deleted, and ignores messages that name no delivery job', async () => {
    const { deliver, jobId, sender, jobs, webhooks, admin, webhook } = await setup();
    expect(await deliver.deliver({ jobId: 'whd_doesnotexist0000', receiveCount: 1, traceparent: undefined })).toEqual({ action: 'done' });
    await webhooks.delete(admin, webhook.webhookId);
    expect(await deliver.deliver({ jobId, receiveCount: 1, traceparent: undefined })).toEqual({ action: 'done' });
    expect(jobs.jobs.get(jobId)).toMatchObject({ status: 'failed', outcome: 'webhook deleted before delivery' });
    expect(sender.requests).toHaveLength(0);
  });
});

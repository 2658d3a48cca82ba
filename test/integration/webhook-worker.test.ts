import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLES } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { composeCore, type VaultCore } from '../../functions/composition/vault-core.js';
import { composeWebhooks } from '../../functions/composition/webhooks.js';
import { composeWebhookService } from '../../functions/composition/webhook-service.js';
import type { SubscriptionCache } from '../../functions/domain/webhooks/subscription-cache.js';
import { loadConfig } from '../../functions/config.js';
import type { Principal } from '../../functions/domain/auth/principal.js';
import { deliveryJobId, eventIdOf } from '../../functions/domain/webhooks/webhook-event-publisher.js';
import { WebhookService } from '../../functions/domain/webhooks/webhook-service.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import type { WebhookRepository } from '../../functions/domain/ports/webhooks.js';
import { Logger } from '../../functions/observability/logger.js';
import { composeWebhookWorker, type WebhookWorker } from '../../functions/composition/webhook-worker.js';
import { DynaliteProcess, tempDir } from './support/processes.js';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver.js';

// The webhook-worker handler in this process against a real DynamoDB API
// (dynalite) and a real HTTP receiver, fed SQS events the way Lambda's event
// source mapping would: duplicates, redeliveries, failures, refusals.

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const record = (jobId: string, messageId: string, receiveCount = 1): SQSRecord => ({
  messageId,
  receiptHandle: `receipt-${messageId}`,
  body: JSON.stringify({ job_id: jobId }),
  attributes: { ApproximateReceiveCount: String(receiveCount), SentTimestamp: '0', SenderId: 'test', ApproximateFirstReceiveTimestamp: '0' },
  messageAttributes: { traceparent: { stringValue: TRACEPARENT, dataType: 'String', stringListValues: [], binaryListValues: [] } },
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:scaivault-webhook',
  awsRegion: 'us-east-1',
});

const lambdaContext = { functionName: 'scaivault-webhook-worker', awsRequestId: 'test' } as Context;

describe('webhook worker against DynamoDB and a live receiver', () => {
  let dynalite: DynaliteProcess;
  let receiver: WebhookReceiver;
  let worker: WebhookWorker;
  let core: VaultCore;
  let webhooks: WebhookService;
  let webhookRepository: WebhookRepository;
  let subscriptions: SubscriptionCache;
  let admin: Principal;
  const logs: string[] = [];
  const visibility: { receiptHandle: string; seconds: number }[] = [];
  let sequence = 0;
  const secrets: string[] = [];

  /** Creates a webhook, publishes an event through the fan-out, and returns the delivery job's id. */
  const deliveryFor = async (url: string, service = webhooks): Promise<{ jobId: string; secret: string; webhookId: string }> => {
    const { webhook, secret } = await service.create(admin, { url, eventTypes: ['secret.created'] });
    sequence += 1;
    const event: VaultEvent = {
      type: 'secret.created',
      tenantId: 'acme',
      data: { path: `app/key-${sequence}`, version: 1, type: 'generic' },
      occurredAt: new Date().toISOString(),
    };
    await core.events.publish(event);
    const jobId = deliveryJobId(eventIdOf(event), webhook.webhookId);
    expect((await core.jobRepository.get(jobId))?.status).toBe('pending');
    return { jobId, secret, webhookId: webhook.webhookId };
  };

  const run = (...records: SQSRecord[]) => worker.handler({ Records: records } as SQSEvent, lambdaContext);

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    receiver = await WebhookReceiver.start();
    Object.assign(process.env, {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    });
    const setup = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    for (const table of TABLES) await ensureTable(setup, table);
    setup.destroy();
    const config = loadConfig({
      SCAIVAULT_STATE_TABLE: 'scaivault-state',
      SCAIVAULT_METRICS_TABLE: 'scaivault-metrics',
      SCAIVAULT_AUDIT_TABLE: 'scaivault-audit',
      SCAIVAULT_KEY_PROVIDER: 'local',
      SCAIVAULT_LOCAL_KEY_FILE: join(tempDir('webhook-worker'), 'master.key'),
      SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
      SCAIVAULT_WEBHOOK_BACKOFF_BASE_MS: '2000',
      SCAIVAULT_WEBHOOK_BACKOFF_CAP_MS: '4000',
      SCAIVAULT_WEBHOOK_TIMEOUT_MS: '3000',
    });
    const logger = new Logger('debug', 'json', { service: 'test' }, (line) => void logs.push(line));
    worker = composeWebhookWorker(config, logger, {
      visibility: { delay: async (receiptHandle, seconds) => void visibility.push({ receiptHandle, seconds }) },
    });
    core = composeCore(config, logger);
    const fanOut = composeWebhooks(core, logger);
    ({ repository: webhookRepository, subscriptions } = fanOut);
    webhooks = composeWebhookService(core, fanOut);
    await core.auth.ensureTenant('acme', 'Acme');
    const issued = await core.auth.createIdentity({
      tenantId: 'acme',
      identityId: 'sa:ops',
      policies: ['admin'],
      ttlSeconds: 3600,
      renewable: false,
      maxTtlSeconds: 3600,
    });
    admin = await core.auth.authenticate(`Bearer ${issued.token}`);
  });

  afterAll(async () => {
    await receiver?.close();
    core?.dynamodb.destroy();
    await dynalite?.stop();
  });

  it('delivers once for a duplicate in one batch and for a redelivery in a later batch', async () => {
    const { jobId, secret } = await deliveryFor(receiver.url('/once'));
    secrets.push(secret);
    expect(await run(record(jobId, 'm-1'), record(jobId, 'm-2'))).toEqual({ batchItemFailures: [] });
    expect(await run(record(jobId, 'm-1', 2))).toEqual({ batchItemFailures: [] });
    expect(await run(record(jobId, 'm-3'))).toEqual({ batchItemFailures: [] });

    const deliveries = receiver.at('/once');
    expect(deliveries).toHaveLength(1);
    const delivery = deliveries[0]!;
    expect(verifyDelivery(secret, delivery)).toMatchObject({ type: 'secret.created', data: { version: 1, type: 'generic' } });
    expect(delivery.headers['webhook-id']).toBe(jobId);
    expect(delivery.headers['user-agent']).toBe('ScaiVault-Webhooks/1');
    expect(delivery.headers['content-type']).toBe('application/json');
    // The event's trace continues into the receiver (a new span id, the same trace id).
    expect(delivery.headers.traceparent).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    expect((await core.jobRepository.get(jobId))?.status).toBe('succeeded');
  });

  it('reports a failing delivery for retry with a backoff visibility, then dead-letters it on the last receive', async () => {
    receiver.statusByPath.set('/down', 500);
    const { jobId, webhookId } = await deliveryFor(receiver.url('/down'));
    visibility.length = 0;
    expect(await run(record(jobId, 'm-down'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-down' }] });
    expect(visibility).toHaveLength(1);
    expect(visibility[0]!.receiptHandle).toBe('receipt-m-down');
    expect(visibility[0]!.seconds).toBeLessThanOrEqual(2);

    expect(await run(record(jobId, 'm-down', 8))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm-down' }] });
    // Visible again at once, so the redrive policy moves it to the DLQ without waiting.
    expect(visibility[1]).toEqual({ receiptHandle: 'receipt-m-down', seconds: 0 });
    expect(await core.jobRepository.get(jobId)).toMatchObject({ status: 'failed', outcome: 'gave up after 8 attempts: HTTP 500' });
    const history = await webhooks.deliveries(admin, webhookId, 10, undefined);
    expect(history.items.map((a) => [a.attempt, a.statusCode, a.outcome])).toEqual([
      [8, 500, 'failed'],
      [1, 500, 'retrying'],
    ]);
    expect(receiver.at('/down')).toHaveLength(2);
    const snapshot = core.registry.snapshot();
    expect(snapshot.scaivault_jobs_dead_letter_total?.webhook).toBe(1);
    expect(snapshot.scaivault_webhook_deliveries_total?.failed).toBeGreaterThanOrEqual(2);
  });

  it('refuses a loopback destination that is not allowlisted at creation, and at delivery without retrying', async () => {
    const url = receiver.url('/refused', 'localhost');
    await expect(webhooks.create(admin, { url, eventTypes: ['secret.created'] })).rejects.toMatchObject({ name: 'ValidationError', field: 'url' });
    // As if created while the allowlist still held localhost, or before its name was rebound: delivery decides again.
    const lenient = new WebhookService(
      webhookRepository,
      core.keys,
      core.auth,
      { refusal: async () => undefined },
      {
        onSubscriptionsChanged: (tenantId) => subscriptions.forget(tenantId),
      },
    );
    const { jobId, webhookId } = await deliveryFor(url, lenient);
    expect(await run(record(jobId, 'm-refused'))).toEqual({ batchItemFailures: [] });
    expect(receiver.at('/refused')).toHaveLength(0);
    expect(await core.jobRepository.get(jobId)).toMatchObject({ status: 'failed', outcome: 'not delivered: EgressRefusedError' });
    const history = await webhooks.deliveries(admin, webhookId, 10, undefined);
    expect(history.items).toMatchObject([{ attempt: 1, statusCode: null, error: 'EgressRefusedError', outcome: 'failed' }]);
  });

  it('pages through the delivery history with a cursor', async () => {
    receiver.statusByPath.set('/flaky', 503);
    const { jobId, webhookId } = await deliveryFor(receiver.url('/flaky'));
    for (let attempt = 1; attempt <= 3; attempt += 1) await run(record(jobId, 'm-flaky', attempt));
    const first = await webhooks.deliveries(admin, webhookId, 2, undefined);
    expect(first.items.map((a) => a.attempt)).toEqual([3, 2]);
    expect(first.nextCursor).toBeDefined();
    const second = await webhooks.deliveries(admin, webhookId, 2, first.nextCursor);
    expect(second.items.map((a) => a.attempt)).toEqual([1]);
  });

  it('never logs a signing secret', () => {
    const text = logs.join('\n');
    expect(text).toContain('webhook delivered');
    expect(text).not.toContain('whsec_');
    for (const secret of secrets) expect(text).not.toContain(secret.slice(6, 26));
  });
});

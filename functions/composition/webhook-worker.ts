import { trace } from '@opentelemetry/api';
import { enableNotifications } from './notifications.js';
import type { SQSRecord } from 'aws-lambda';
import { createEgressAgent } from '../adapters/http/egress-agent.js';
import { HttpWebhookSender } from '../adapters/http/http-webhook-sender.js';
import { SqsMessageVisibility } from '../adapters/sqs/sqs-message-visibility.js';
import { ConfigError, type VaultConfig } from '../config.js';
import type { MessageVisibility, WebhookSender } from '../domain/ports/webhooks.js';
import { DeliverWebhook } from '../domain/webhooks/deliver-webhook.js';
import { WebhookDeliveryJob, type ReceivedDelivery } from '../domain/webhooks/webhook-delivery-job.js';
import type { Logger } from '../observability/logger.js';
import { defaultTracing } from '../observability/tracing.js';
import { ENV, WEBHOOK_QUEUE } from '../runtime/definitions.js';
import { flushMetricsNow, jobWorker, type JobWorkerHandler } from '../workers/worker-middlewares.js';
import { composeAuditTrail } from './audit-trail.js';
import { composeCore, type VaultCore } from './vault-core.js';
import { egressPolicyOf } from './egress.js';
import { composeWebhooks } from './webhooks.js';

export interface WebhookWorkerOptions {
  /** Test seams; production uses SQS and the egress-guarded HTTP sender. */
  readonly visibility?: MessageVisibility;
  readonly sender?: WebhookSender;
}

export interface WebhookWorker {
  readonly deliveries: DeliverWebhook;
  readonly handler: JobWorkerHandler;
  /** Writes this process's metrics to the fleet store now (the embedded runtime calls it at stop). */
  flushMetrics(): Promise<void>;
}

const visibilityOf = (core: VaultCore, options: WebhookWorkerOptions): MessageVisibility => {
  if (options.visibility) return options.visibility;
  if (!core.config.webhookQueueUrl) throw new ConfigError(`environment variable ${ENV.webhookQueueUrl} is required by the webhook worker`);
  return new SqsMessageVisibility(core.sqs, core.config.webhookQueueUrl);
};

const deliveriesOf = (core: VaultCore, logger: Logger, sender: WebhookSender | undefined): DeliverWebhook => {
  const { config } = core;
  const timeoutMs = config.webhookTimeoutMs;
  const agent = createEgressAgent(egressPolicyOf(config), { connectTimeoutMs: timeoutMs, headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs });
  return new DeliverWebhook(
    core.jobRepository,
    composeWebhooks(core, logger).repository,
    core.keys,
    sender ?? new HttpWebhookSender(agent, defaultTracing),
    core.metrics,
    logger,
    {
      timeoutMs,
      backoff: { baseMs: config.webhookBackoffBaseMs, capMs: config.webhookBackoffCapMs },
      maxAttempts: config.webhookMaxAttempts ?? WEBHOOK_QUEUE.maxReceiveCount,
      maxReceiveCount: WEBHOOK_QUEUE.maxReceiveCount,
    },
  );
};

const receivedDelivery = (record: SQSRecord, jobId: string): ReceivedDelivery => ({
  jobId,
  messageId: record.messageId,
  receiptHandle: record.receiptHandle,
  receiveCount: Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1),
  traceparent: record.messageAttributes?.traceparent?.stringValue,
});

/**
 * The `webhook-worker` function: delivery jobs from the webhook queue, run
 * concurrently, with partial batch responses (WebhookDeliveryJob has the steps).
 */
export const composeWebhookWorker = (config: VaultConfig, logger: Logger, options: WebhookWorkerOptions = {}): WebhookWorker => {
  const core = composeCore(config, logger);
  enableNotifications(core, logger);
  const audit = composeAuditTrail(core, logger);
  const visibility = visibilityOf(core, options);
  const deliveries = deliveriesOf(core, logger, options.sender);
  const job = new WebhookDeliveryJob(visibility, audit.log, logger);
  // The job span (the batch helper's) says what the delivery decided.
  const deliver = async (message: ReceivedDelivery) => {
    const decision = await deliveries.deliver(message);
    trace.getActiveSpan()?.setAttribute('scaivault.job.decision', decision.action);
    return decision;
  };
  const handler = jobWorker(core.fleetMetrics, logger, (context) => ({
    queue: 'webhook',
    maxReceiveCount: WEBHOOK_QUEUE.maxReceiveCount,
    logger,
    metrics: core.metrics,
    concurrent: true,
    run: async (jobId, record) => {
      const result = await job.run(receivedDelivery(record, jobId), deliver);
      // A give-up feeds the dead-letter alert: flush it now rather than with a later batch that may never come.
      if (result.gaveUp) flushMetricsNow(context);
      if (result.gaveUp) return 'dead-letter';
      return result.keep ? 'keep' : 'done';
    },
  }));
  return { deliveries, handler, flushMetrics: () => core.fleetMetrics.flush() };
};

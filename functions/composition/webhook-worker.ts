import middy from '@middy/core';
import { context as otelContext, type TextMapGetter } from '@opentelemetry/api';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ENV, WEBHOOK_QUEUE } from '../runtime/definitions.js';
import { createEgressAgent, EgressPolicy } from '../adapters/http/egress-guard.js';
import { HttpWebhookSender } from '../adapters/http/http-webhook-sender.js';
import { SqsMessageVisibility } from '../adapters/sqs/sqs-message-visibility.js';
import { composeCore } from './vault-core.js';
import { composeWebhooks } from './webhooks.js';
import { composeAuditTrail, recordAfter } from './audit.js';
import { ConfigError, type VaultConfig } from '../config.js';
import { jobIdOf } from '../domain/jobs/jobs.js';
import { DeliverWebhook, type DeliveryDecision } from '../domain/webhooks/deliver-webhook.js';
import { describeError, type Logger } from '../observability/logger.js';
import { defaultTracing, markSpanFailed } from '../observability/tracing.js';
import type { MessageVisibility, WebhookSender } from '../domain/ports/webhooks.js';

export interface WebhookWorkerOptions {
  /** Test seams; production uses SQS and the egress-guarded HTTP sender. */
  readonly visibility?: MessageVisibility;
  readonly sender?: WebhookSender;
}

export interface WebhookWorker {
  readonly deliveries: DeliverWebhook;
  readonly handler: middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;
  /** Writes this process's metrics to the fleet store now (the embedded runtime calls it at stop). */
  flushMetrics(): Promise<void>;
}

const attributeGetter: TextMapGetter<SQSRecord['messageAttributes']> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key]?.stringValue,
};

/**
 * The `webhook-worker` function: delivery jobs from the webhook queue, with
 * partial batch responses. A failed attempt schedules its own retry by
 * changing its message's visibility (exponential backoff, full jitter); the
 * queue's redrive policy takes it to the DLQ after its last attempt.
 */
export const composeWebhookWorker = (config: VaultConfig, logger: Logger, options: WebhookWorkerOptions = {}): WebhookWorker => {
  const core = composeCore(config, logger);
  const { repository } = composeWebhooks(core, logger);
  const audit = composeAuditTrail(core, logger);
  const tracing = defaultTracing;
  let visibility = options.visibility;
  if (!visibility) {
    if (!config.webhookQueueUrl) throw new ConfigError(`environment variable ${ENV.webhookQueueUrl} is required by the webhook worker`);
    visibility = new SqsMessageVisibility(core.sqs, config.webhookQueueUrl);
  }
  const timeoutMs = config.webhookTimeoutMs;
  const sender =
    options.sender ??
    new HttpWebhookSender(
      createEgressAgent(new EgressPolicy({ allowlist: config.egressAllowlist }), { connectTimeoutMs: timeoutMs, headersTimeoutMs: timeoutMs, bodyTimeoutMs: timeoutMs }),
      tracing,
    );
  const deliveries = new DeliverWebhook(core.jobRepository, repository, core.keys, sender, core.metrics, logger, {
    timeoutMs,
    backoff: { baseMs: config.webhookBackoffBaseMs, capMs: config.webhookBackoffCapMs },
    maxAttempts: config.webhookMaxAttempts ?? WEBHOOK_QUEUE.maxReceiveCount,
    maxReceiveCount: WEBHOOK_QUEUE.maxReceiveCount,
  });

  const deliver = async (record: SQSRecord, jobId: string): Promise<DeliveryDecision> => {
    const message = {
      jobId,
      receiveCount: Math.max(1, Number(record.attributes.ApproximateReceiveCount) || 1),
      traceparent: record.messageAttributes?.traceparent?.stringValue,
    };
    if (!tracing.enabled) return deliveries.deliver(message);
    // The delivery continues the trace of the request that caused the event.
    const parent = tracing.extract(record.messageAttributes ?? {}, attributeGetter);
    const { span, context } = tracing.startServerSpan('webhook deliver', parent, {
      'messaging.system': 'aws_sqs',
      'messaging.operation.type': 'process',
      'messaging.message.id': record.messageId,
      'scaivault.job.id': jobId,
      'scaivault.job.attempt': message.receiveCount,
    });
    try {
      const decision = await otelContext.with(context, () => deliveries.deliver(message));
      span.setAttribute('scaivault.job.decision', decision.action);
      return decision;
    } catch (error) {
      markSpanFailed(span, (error as Error).name || 'Error');
      throw error;
    } finally {
      span.end();
    }
  };

  /** True when SQS should keep the message (a retry or the DLQ), false to delete it. */
  const processRecord = async (record: SQSRecord, jobId: string): Promise<{ keep: boolean; gaveUp: boolean }> => {
    try {
      const decision = await deliver(record, jobId);
      await recordAfter(
        audit,
        { type: 'webhook.delivery', outcome: decision.action === 'done' ? 'success' : 'failure', identityId: 'system:webhook-worker', details: { job_id: jobId, decision: decision.action } },
        logger,
      );
      if (decision.action === 'done') return { keep: false, gaveUp: false };
      const seconds = decision.action === 'retry' ? decision.delaySeconds : 0;
      // Without the new visibility the message still comes back, after the queue's default timeout.
      await visibility.delay(record.receiptHandle, seconds).catch((error: unknown) =>
        logger.warn('could not reschedule webhook delivery', { job_id: jobId, error: describeError(error) }),
      );
      return { keep: true, gaveUp: decision.action === 'dead-letter' };
    } catch (error) {
      logger.error('webhook delivery errored', { job_id: jobId, message_id: record.messageId, error: describeError(error) });
      return { keep: true, gaveUp: false };
    }
  };

  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().handler(async (event) => {
    const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
    const firstMessageOf = new Map<string, string>();
    const work: Promise<void>[] = [];
    let gaveUp = false;
    for (const record of event.Records) {
      const jobId = jobIdOf(record.body);
      if (!jobId) {
        logger.warn('dropping a message that names no job', { queue: 'webhook', message_id: record.messageId });
        continue;
      }
      // The same job twice in one batch is delivered once; another message for it is deleted,
      // and a second copy of the same message shares the first one's fate.
      if (firstMessageOf.has(jobId)) continue;
      firstMessageOf.set(jobId, record.messageId);
      // Records run concurrently: ten slow receivers must not add up past the visibility timeout.
      work.push(
        processRecord(record, jobId).then((result) => {
          gaveUp ||= result.gaveUp;
          if (result.keep) batchItemFailures.push({ itemIdentifier: record.messageId });
        }),
      );
    }
    await Promise.all(work);
    // A give-up feeds the dead-letter alert: flush it now rather than with a later batch that may never come.
    await (gaveUp ? core.fleetMetrics.flush() : core.fleetMetrics.maybeFlush()).catch((error: unknown) =>
      logger.warn('metrics flush failed', { error: describeError(error) }),
    );
    await tracing.endInvocation();
    return { batchItemFailures };
  });

  return { deliveries, handler, flushMetrics: () => core.fleetMetrics.flush() };
};

// Webhook subscriptions and delivery attempts on the wire.
import * as z from 'zod/mini';
import type { WebhookSummary } from '../../domain/webhooks/webhook-service.js';
import type { DeliveryAttempt } from '../../domain/webhooks/webhooks.js';
import { nextCursor, nullableTimestamp, timestamp } from '../schemas.js';

const webhookFields = {
  id: z.string(),
  url: z.string(),
  event_types: z.array(z.string()),
  description: z.string(),
  created_at: timestamp,
  created_by: z.string(),
  secret_version: z.int(),
  previous_secret_expires_at: nullableTimestamp,
};

export const webhookSchema = z.strictObject(webhookFields).check(z.meta({ id: 'Webhook' }));

/** The signing secret is in this answer only: at creation and at rotation. */
export const webhookWithSecretSchema = z.strictObject({ ...webhookFields, secret: z.string() });

export const webhookListSchema = z.strictObject({ webhooks: z.array(webhookSchema) });

export const deliveriesSchema = z.strictObject({
  deliveries: z.array(
    z.strictObject({
      job_id: z.string(),
      event_type: z.string(),
      attempt: z.int(),
      attempted_at: timestamp,
      status_code: z.nullable(z.int()),
      error: z.nullable(z.string()),
      latency_ms: z.number(),
      outcome: z.string(),
      retry_in_ms: z.nullable(z.number()),
    }),
  ),
  next_cursor: nextCursor,
});

export const webhookJson = (webhook: WebhookSummary): z.infer<typeof webhookSchema> => ({
  id: webhook.webhookId,
  url: webhook.url,
  event_types: [...webhook.eventTypes],
  description: webhook.description,
  created_at: webhook.createdAt,
  created_by: webhook.createdBy,
  secret_version: webhook.secretVersion,
  previous_secret_expires_at: webhook.previousSecretExpiresAt,
});

export const attemptJson = (attempt: DeliveryAttempt): z.infer<typeof deliveriesSchema>['deliveries'][number] => ({
  job_id: attempt.jobId,
  event_type: attempt.eventType,
  attempt: attempt.attempt,
  attempted_at: attempt.attemptedAt,
  status_code: attempt.statusCode,
  error: attempt.error,
  latency_ms: attempt.latencyMs,
  outcome: attempt.outcome,
  retry_in_ms: attempt.retryInMs,
});

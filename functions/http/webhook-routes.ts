import type { DeliveryAttempt } from '../domain/webhooks/webhooks.js';
import type { WebhookService, WebhookSummary } from '../domain/webhooks/webhook-service.js';
import { Fields, parseJsonBody, parseQuery, positiveIntegerParam } from './body.js';
import type { Route } from './router.js';
import { json } from './responses.js';

const webhookJson = (webhook: WebhookSummary) => ({
  id: webhook.webhookId,
  url: webhook.url,
  event_types: webhook.eventTypes,
  description: webhook.description,
  created_at: webhook.createdAt,
  created_by: webhook.createdBy,
  secret_version: webhook.secretVersion,
  previous_secret_expires_at: webhook.previousSecretExpiresAt,
});

const attemptJson = (attempt: DeliveryAttempt) => ({
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

/** `/v1/webhooks`: subscriptions (admin on `sys`, in the caller's tenant) and their delivery history. */
export const webhookRoutes = (webhooks: WebhookService): Route[] => [
  {
    method: 'POST',
    pattern: '/v1/webhooks',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal }) => {
      parseQuery(event, []);
      const body = new Fields(parseJsonBody(event), ['url', 'event_types', 'description']);
      const created = await webhooks.create(principal, {
        url: body.string('url', { required: true, max: 4096 }),
        eventTypes: body.stringArray('event_types', { required: true, maxItems: 32 }) ?? [],
        description: body.string('description', { max: 1000 }),
      });
      // The signing secret is shown once, here, and never stored unsealed or logged.
      return json(201, { ...webhookJson(created.webhook), secret: created.secret }, { location: `/v1/webhooks/${created.webhook.webhookId}` });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/webhooks',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal }) => {
      parseQuery(event, []);
      return json(200, { webhooks: (await webhooks.list(principal)).map(webhookJson) });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/webhooks/{id}',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal, params }) => {
      parseQuery(event, []);
      return json(200, webhookJson(await webhooks.get(principal, params.id ?? '')));
    },
  },
  {
    method: 'DELETE',
    pattern: '/v1/webhooks/{id}',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal, params }) => {
      parseQuery(event, []);
      await webhooks.delete(principal, params.id ?? '');
      return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
    },
  },
  {
    method: 'POST',
    pattern: '/v1/webhooks/{id}/rotate-secret',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal, params }) => {
      parseQuery(event, []);
      const rotated = await webhooks.rotateSecret(principal, params.id ?? '');
      return json(200, { ...webhookJson(rotated.webhook), secret: rotated.secret });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/webhooks/{id}/deliveries',
    category: 'webhooks',
    rateLimit: 'admin',
    handle: async ({ event, principal, params }) => {
      const query = parseQuery(event, ['limit', 'cursor']);
      const page = await webhooks.deliveries(principal, params.id ?? '', positiveIntegerParam(query.get('limit'), 'limit', 200) ?? 50, query.get('cursor'));
      return json(200, { deliveries: page.items.map(attemptJson), next_cursor: page.nextCursor ?? null });
    },
  },
];

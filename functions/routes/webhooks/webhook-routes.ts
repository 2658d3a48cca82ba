// `/v1/webhooks`: subscriptions (admin on `sys`, in the caller's tenant) and their delivery history.
import * as z from 'zod/mini';
import type { WebhookService } from '../../domain/webhooks/webhook-service.js';
import { json, noContent } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { idParams, optional, positiveIntegerQuery } from '../schemas.js';
import { attemptJson, deliveriesSchema, webhookJson, webhookListSchema, webhookSchema, webhookWithSecretSchema } from './webhook-json.js';

export interface WebhookRouteServices {
  readonly webhooks: WebhookService;
}

type IdRequest<B = undefined, Q = unknown> = RouteRequest<B, Q, z.infer<typeof idParams>>;

const createBody = z.strictObject({
  url: z.string().check(z.maxLength(4096)),
  event_types: z.array(z.string()).check(z.maxLength(32)),
  description: optional(z.string().check(z.maxLength(1000))),
});
const deliveriesQuery = z.strictObject({ limit: positiveIntegerQuery(200), cursor: z.optional(z.string()) });

const createWebhook = async ({ webhooks }: WebhookRouteServices, { principal, body }: RouteRequest<z.infer<typeof createBody>>) => {
  const created = await webhooks.create(principal, { url: body.url, eventTypes: body.event_types, description: body.description ?? undefined });
  // The signing secret is shown once, here, and never stored unsealed or logged.
  return json(201, { ...webhookJson(created.webhook), secret: created.secret }, { location: `/v1/webhooks/${created.webhook.webhookId}` });
};

const listWebhooks = async ({ webhooks }: WebhookRouteServices, { principal }: RouteRequest) =>
  json(200, { webhooks: (await webhooks.list(principal)).map(webhookJson) });

const readWebhook = async ({ webhooks }: WebhookRouteServices, { principal, params }: IdRequest) =>
  json(200, webhookJson(await webhooks.get(principal, params.id)));

const deleteWebhook = async ({ webhooks }: WebhookRouteServices, { principal, params }: IdRequest) => {
  await webhooks.delete(principal, params.id);
  return noContent();
};

const rotateWebhookSecret = async ({ webhooks }: WebhookRouteServices, { principal, params }: IdRequest) => {
  const rotated = await webhooks.rotateSecret(principal, params.id);
  return json(200, { ...webhookJson(rotated.webhook), secret: rotated.secret });
};

const listDeliveries = async ({ webhooks }: WebhookRouteServices, { principal, params, query }: IdRequest<undefined, z.infer<typeof deliveriesQuery>>) => {
  const page = await webhooks.deliveries(principal, params.id, query.limit ?? 50, query.cursor);
  return json(200, { deliveries: page.items.map(attemptJson), next_cursor: page.nextCursor ?? null });
};

const route = routesOver<WebhookRouteServices>();
const admin = { category: 'webhooks', rateLimit: 'admin', capability: 'admin' } as const;

export const webhookRoutes: RouteGroup<WebhookRouteServices> = {
  name: 'webhooks',
  routes: [
    route.authenticated({
      ...admin,
      method: 'POST',
      pattern: '/v1/webhooks',
      summary: 'Subscribe a URL to events; the signing secret is shown once',
      request: { body: createBody },
      responses: { 201: { description: 'The subscription and its signing secret', schema: webhookWithSecretSchema } },
      handle: createWebhook,
    }),
    route.authenticated({
      ...admin,
      method: 'GET',
      pattern: '/v1/webhooks',
      summary: "List the tenant's subscriptions",
      responses: { 200: { description: 'Subscriptions', schema: webhookListSchema } },
      handle: listWebhooks,
    }),
    route.authenticated({
      ...admin,
      method: 'GET',
      pattern: '/v1/webhooks/{id}',
      summary: 'Read a subscription',
      request: { params: idParams },
      responses: { 200: { description: 'The subscription', schema: webhookSchema } },
      handle: readWebhook,
    }),
    route.authenticated({
      ...admin,
      method: 'DELETE',
      pattern: '/v1/webhooks/{id}',
      summary: 'Delete a subscription',
      request: { params: idParams },
      responses: { 204: { description: 'Deleted' } },
      handle: deleteWebhook,
    }),
    route.authenticated({
      ...admin,
      method: 'POST',
      pattern: '/v1/webhooks/{id}/rotate-secret',
      summary: 'Rotate the signing secret; the old one signs too for a grace period',
      request: { params: idParams },
      responses: { 200: { description: 'The subscription and its new signing secret', schema: webhookWithSecretSchema } },
      handle: rotateWebhookSecret,
    }),
    route.authenticated({
      ...admin,
      method: 'GET',
      pattern: '/v1/webhooks/{id}/deliveries',
      summary: 'Delivery attempts of a subscription, newest first',
      request: { params: idParams, query: deliveriesQuery },
      responses: { 200: { description: 'A page of delivery attempts', schema: deliveriesSchema } },
      handle: listDeliveries,
    }),
  ],
};

import { DynamoDbWebhookRepository } from '../adapters/dynamodb/dynamodb-webhook-repository.js';
import type { WebhookRepository } from '../domain/ports/webhooks.js';
import { WebhookEventPublisher } from '../domain/webhooks/webhook-event-publisher.js';
import { SubscriptionCache } from '../domain/webhooks/subscription-cache.js';
import type { Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';

export interface Webhooks {
  readonly repository: WebhookRepository;
  /** Already subscribed to `core.events`. */
  readonly publisher: WebhookEventPublisher;
  /** The fan-out's per-instance view of each tenant's subscriptions; the service (./webhook-service.ts) keeps it current. */
  readonly subscriptions: SubscriptionCache;
}

const composed = new WeakMap<VaultCore, Webhooks>();

/**
 * Webhook subscriptions' store and the fan-out of domain events to them, once per
 * core: every function that publishes events (api, rotation-worker) calls it,
 * and in the embedded runtime, where they share one core, the fan-out is
 * still subscribed only once.
 */
export const composeWebhooks = (core: VaultCore, logger: Logger): Webhooks => {
  const existing = composed.get(core);
  if (existing) return existing;
  const repository = new DynamoDbWebhookRepository(core.dynamodb, core.config.stateTable);
  const subscriptions = new SubscriptionCache(repository, core.config.webhookSubscriptionCacheSeconds * 1000);
  const publisher = new WebhookEventPublisher(subscriptions, core.jobs, logger);
  core.events.add(publisher);
  const webhooks = { repository, publisher, subscriptions };
  composed.set(core, webhooks);
  return webhooks;
};

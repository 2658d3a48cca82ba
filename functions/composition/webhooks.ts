import { DynamoDbWebhookRepository } from '../adapters/dynamodb/dynamodb-webhook-repository.js';
import { EgressPolicyCheck } from '../adapters/http/egress-check.js';
import { EgressPolicy } from '../adapters/http/egress-guard.js';
import type { VaultConfig } from '../config.js';
import type { WebhookRepository } from '../domain/ports/webhooks.js';
import { WebhookEventPublisher } from '../domain/webhooks/webhook-event-publisher.js';
import { WebhookService } from '../domain/webhooks/webhook-service.js';
import { SubscriptionCache } from '../domain/webhooks/subscription-cache.js';
import type { Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';

export interface Webhooks {
  readonly repository: WebhookRepository;
  readonly service: WebhookService;
  /** Already subscribed to `core.events`. */
  readonly publisher: WebhookEventPublisher;
  /** The fan-out's per-instance view of each tenant's subscriptions; `service` keeps it current. */
  readonly subscriptions: SubscriptionCache;
}

/** The egress policy every outbound call on a tenant's behalf obeys: at webhook creation and at delivery. */
export const egressPolicyOf = (config: Pick<VaultConfig, 'egressAllowlist'>): EgressPolicy => new EgressPolicy({ allowlist: config.egressAllowlist });

const composed = new WeakMap<VaultCore, Webhooks>();

/**
 * Webhook subscriptions and the fan-out of domain events to them, once per
 * core: every function that publishes events (api, rotation-worker) calls it,
 * and in the embedded runtime, where they share one core, the fan-out is
 * still subscribed only once.
 */
export const composeWebhooks = (core: VaultCore, logger: Logger): Webhooks => {
  const existing = composed.get(core);
  if (existing) return existing;
  const repository = new DynamoDbWebhookRepository(core.dynamodb, core.config.stateTable);
  const subscriptions = new SubscriptionCache(repository, core.config.webhookSubscriptionCacheSeconds * 1000);
  const service = new WebhookService(repository, core.keys, core.auth, new EgressPolicyCheck(egressPolicyOf(core.config)), {
    onSubscriptionsChanged: (tenantId) => subscriptions.forget(tenantId),
  });
  const publisher = new WebhookEventPublisher(subscriptions, core.jobs, logger);
  core.events.add(publisher);
  const webhooks = { repository, service, publisher, subscriptions };
  composed.set(core, webhooks);
  return webhooks;
};

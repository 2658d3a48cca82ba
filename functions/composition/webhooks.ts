import { DynamoDbWebhookRepository } from '../adapters/dynamodb/dynamodb-webhook-repository.js';
import { EgressPolicyCheck } from '../adapters/http/egress-check.js';
import { EgressPolicy } from '../adapters/http/egress-guard.js';
import type { VaultConfig } from '../config.js';
import type { WebhookRepository } from '../domain/ports/webhooks.js';
import { WebhookEventPublisher } from '../domain/webhooks/webhook-event-publisher.js';
import { WebhookService } from '../domain/webhooks/webhook-service.js';
import type { Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';

export interface Webhooks {
  readonly repository: WebhookRepository;
  readonly service: WebhookService;
  /** Already subscribed to `core.events`. */
  readonly publisher: WebhookEventPublisher;
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
  const service = new WebhookService(repository, core.keys, core.auth, new EgressPolicyCheck(egressPolicyOf(core.config)));
  const publisher = new WebhookEventPublisher(repository, core.jobs, logger);
  core.events.add(publisher);
  const webhooks = { repository, service, publisher };
  composed.set(core, webhooks);
  return webhooks;
};

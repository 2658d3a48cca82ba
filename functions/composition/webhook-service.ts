import { EgressPolicyCheck } from '../adapters/http/egress-check.js';
import { WebhookService } from '../domain/webhooks/webhook-service.js';
import { egressPolicyOf } from './egress.js';
import type { VaultCore } from './vault-core.js';
import type { Webhooks } from './webhooks.js';

/** The subscriptions' API (create, list, rotate a secret, delete): the api composes it with the first webhook request. */
export const composeWebhookService = (core: VaultCore, { repository, subscriptions }: Pick<Webhooks, 'repository' | 'subscriptions'>): WebhookService =>
  new WebhookService(repository, core.keys, core.auth, new EgressPolicyCheck(egressPolicyOf(core.config)), {
    onSubscriptionsChanged: (tenantId) => subscriptions.forget(tenantId),
  });

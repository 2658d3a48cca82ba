import { TtlCache } from '../ttl-cache.js';
import type { WebhookRepository } from '../ports/webhooks.js';
import type { WebhookSubscription } from './webhooks.js';

/**
 * Each tenant's subscriptions as the event fan-out reads them: once per tenant
 * and `ttlMs` on an instance, instead of a query on every change that raises an
 * event. A subscription created or deleted on this instance is seen at once
 * (`forget`); on another instance, within `ttlMs`. A deleted one never gets a
 * delivery meanwhile: the worker reads the subscription before each POST.
 */
export class SubscriptionCache implements Pick<WebhookRepository, 'list'> {
  private readonly entries: TtlCache<Promise<WebhookSubscription[]>>;

  constructor(
    private readonly repository: Pick<WebhookRepository, 'list'>,
    ttlMs: number,
    now: () => number = Date.now,
  ) {
    this.entries = new TtlCache(ttlMs, 10_000, now);
  }

  list(tenantId: string): Promise<WebhookSubscription[]> {
    const cached = this.entries.get(tenantId);
    if (cached) return cached;
    // Concurrent events of one tenant share one read; a failed read is not kept.
    const reading = this.repository.list(tenantId);
    this.entries.set(tenantId, reading);
    reading.catch(() => this.entries.delete(tenantId));
    return reading;
  }

  forget(tenantId: string): void {
    this.entries.delete(tenantId);
  }
}

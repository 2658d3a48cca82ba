import { describe, expect, it } from 'vitest';
import { SubscriptionCache } from '../../functions/domain/webhooks/subscription-cache.js';
import { WebhookService } from '../../functions/domain/webhooks/webhook-service.js';
import type { WebhookSubscription } from '../../functions/domain/webhooks/webhooks.js';
import { webhookFixture } from './support/webhook-fixtures.js';

describe("the event fan-out's subscription cache", () => {
  const counting = () => {
    const reads: string[] = [];
    let fail = false;
    const repository = {
      list: async (tenantId: string): Promise<WebhookSubscription[]> => {
        reads.push(tenantId);
        if (fail) throw new Error('dynamodb down');
        return [];
      },
    };
    return { reads, repository, failNext: (value: boolean) => void (fail = value) };
  };

  it('reads a tenant once per interval, concurrent events sharing the read, and again once it expires', async () => {
    let now = 0;
    const { reads, repository } = counting();
    const cache = new SubscriptionCache(repository, 5000, () => now);
    await Promise.all([cache.list('acme'), cache.list('acme'), cache.list('globex')]);
    await cache.list('acme');
    expect(reads).toEqual(['acme', 'globex']);
    now = 5000;
    await cache.list('acme');
    expect(reads).toEqual(['acme', 'globex', 'acme']);
  });

  it('keeps no failed read, forgets a tenant when told, and with a zero interval reads every time', async () => {
    const { reads, repository, failNext } = counting();
    const cache = new SubscriptionCache(repository, 5000);
    failNext(true);
    await expect(cache.list('acme')).rejects.toThrow('dynamodb down');
    failNext(false);
    await cache.list('acme');
    cache.forget('acme');
    await cache.list('acme');
    expect(reads).toEqual(['acme', 'acme', 'acme']);

    const uncached = counting();
    const never = new SubscriptionCache(uncached.repository, 0);
    await never.list('acme');
    await never.list('acme');
    expect(uncached.reads).toEqual(['acme', 'acme']);
  });

  it('is told by the webhook service when this instance creates or deletes a subscription', async () => {
    const fixture = await webhookFixture();
    const cache = new SubscriptionCache(fixture.repository, 60_000);
    const webhooks = new WebhookService(
      fixture.repository,
      fixture.keys,
      fixture.auth,
      { refusal: async () => undefined },
      {
        onSubscriptionsChanged: (tenantId) => cache.forget(tenantId),
      },
    );
    expect(await cache.list('acme')).toEqual([]);
    const { webhook } = await webhooks.create(fixture.admin, { url: 'https://a.example/', eventTypes: ['secret.created'] });
    expect((await cache.list('acme')).map((s) => s.webhookId)).toEqual([webhook.webhookId]);
    await webhooks.delete(fixture.admin, webhook.webhookId);
    expect(await cache.list('acme')).toEqual([]);
  });
});

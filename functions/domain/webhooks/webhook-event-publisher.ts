import { createHash } from 'node:crypto';
import type { VaultEvent } from '../events/events.js';
import type { JobService } from '../jobs/jobs.js';
import { DELIVER_WEBHOOK } from './webhooks.js';
import type { EventPublisher, PublishOptions } from '../ports/events.js';
import type { DomainLogger } from '../ports/logging.js';
import type { WebhookRepository } from '../ports/webhooks.js';

/** What a delivery job carries: everything the worker needs to rebuild the exact same body on every attempt. */
export interface DeliveryPayload {
  readonly webhookId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/**
 * An event's id: the one it carries, else a digest of its content, so the
 * same event published twice names the same deliveries.
 */
export const eventIdOf = (event: VaultEvent & { readonly id?: string }): string => {
  if (event.id) return event.id;
  const data = Object.entries(event.data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `evt_${sha256(JSON.stringify([event.tenantId, event.type, event.occurredAt, data])).slice(0, 32)}`;
};

/** One delivery job per (event, subscription): a re-published event finds its jobs already there. */
export const deliveryJobId = (eventId: string, webhookId: string): string => `whd_${sha256(`${eventId}\n${webhookId}`).slice(0, 40)}`;

/**
 * Fans an event out to the tenant's subscriptions that asked for its type,
 * submitting one delivery job each through the outbox. Never throws unless
 * asked to (`required`): the fact being reported has already happened.
 */
export class WebhookEventPublisher implements EventPublisher {
  constructor(
    private readonly repository: Pick<WebhookRepository, 'list'>,
    private readonly jobs: Pick<JobService, 'submitAll'>,
    private readonly logger: Pick<DomainLogger, 'warn'>,
  ) {}

  async publish(event: VaultEvent, options: PublishOptions = {}): Promise<void> {
    try {
      const subscriptions = (await this.repository.list(event.tenantId)).filter((s) => s.eventTypes.includes(event.type));
      if (subscriptions.length === 0) return;
      const eventId = eventIdOf(event);
      const deliveries = subscriptions.map((subscription) => {
        const payload: DeliveryPayload = { webhookId: subscription.webhookId, eventId, eventType: event.type, occurredAt: event.occurredAt, data: event.data };
        return { jobId: deliveryJobId(eventId, subscription.webhookId), kind: DELIVER_WEBHOOK, tenantId: event.tenantId, payload: { ...payload } };
      });
      const results = await this.jobs.submitAll('webhook', deliveries);
      const lost = results.flatMap((result, index) => (result.status === 'rejected' ? [{ delivery: deliveries[index]!, error: result.reason as Error }] : []));
      for (const { delivery, error } of lost) {
        this.logger.warn('webhook delivery not recorded', {
          tenant_id: event.tenantId,
          webhook_id: delivery.payload.webhookId,
          job_id: delivery.jobId,
          error: error.name,
        });
      }
      if (lost.length > 0 && options.required) throw lost[0]!.error;
    } catch (error) {
      // A caller that requires the event retries, and the event bus logs the failure.
      if (options.required) throw error;
      this.logger.warn('webhook fan-out failed', { tenant_id: event.tenantId, event_type: event.type, error: (error as Error).name });
    }
  }
}

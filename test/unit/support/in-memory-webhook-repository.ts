import { ConflictError } from '../../../functions/domain/errors.js';
import type { DeliveryAttempt, SealedSigningSecret, WebhookSubscription } from '../../../functions/domain/webhooks/webhooks.js';
import type { Page } from '../../../functions/domain/ports/secrets.js';
import type { WebhookRepository } from '../../../functions/domain/ports/webhooks.js';

/** The WebhookRepository port in memory, with the DynamoDB adapter's conditions. */
export class InMemoryWebhookRepository implements WebhookRepository {
  readonly subscriptions = new Map<string, WebhookSubscription>();
  readonly attempts: DeliveryAttempt[] = [];
  readonly leases = new Map<string, { holder: string; until: number }>();

  async create(subscription: WebhookSubscription): Promise<void> {
    const key = `${subscription.tenantId}/${subscription.webhookId}`;
    if (this.subscriptions.has(key)) throw new ConflictError('exists');
    this.subscriptions.set(key, subscription);
  }

  async get(tenantId: string, webhookId: string): Promise<WebhookSubscription | undefined> {
    return this.subscriptions.get(`${tenantId}/${webhookId}`);
  }

  async list(tenantId: string): Promise<WebhookSubscription[]> {
    return [...this.subscriptions.values()].filter((s) => s.tenantId === tenantId);
  }

  async delete(tenantId: string, webhookId: string): Promise<boolean> {
    return this.subscriptions.delete(`${tenantId}/${webhookId}`);
  }

  async replaceSecrets(tenantId: string, webhookId: string, expectedVersion: number, secrets: readonly SealedSigningSecret[]): Promise<void> {
    const current = this.subscriptions.get(`${tenantId}/${webhookId}`);
    if (!current || current.secretVersion !== expectedVersion) throw new ConflictError('changed concurrently');
    this.subscriptions.set(`${tenantId}/${webhookId}`, { ...current, secrets, secretVersion: secrets[0]!.version });
  }

  /** One record per (time, job, attempt), as the table's key: an attempt's outcome replaces its `unknown` record. */
  async recordAttempt(attempt: DeliveryAttempt): Promise<void> {
    const same = this.attempts.findIndex((a) => a.attemptedAt === attempt.attemptedAt && a.jobId === attempt.jobId && a.attempt === attempt.attempt);
    if (same >= 0) this.attempts[same] = attempt;
    else this.attempts.push(attempt);
  }

  async listAttempts(tenantId: string, webhookId: string, limit: number, cursor: string | undefined): Promise<Page<DeliveryAttempt>> {
    const all = this.attempts.filter((a) => a.tenantId === tenantId && a.webhookId === webhookId).reverse();
    const start = cursor ? Number(cursor) : 0;
    const items = all.slice(start, start + limit);
    return { items, nextCursor: start + limit < all.length ? String(start + limit) : undefined };
  }

  async claimDelivery(jobId: string, holder: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const lease = this.leases.get(jobId);
    if (lease && lease.until >= nowMs) return false;
    this.leases.set(jobId, { holder, until: nowMs + leaseMs });
    return true;
  }

  async releaseDelivery(jobId: string, holder: string): Promise<void> {
    if (this.leases.get(jobId)?.holder === holder) this.leases.delete(jobId);
  }
}

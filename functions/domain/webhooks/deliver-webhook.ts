import { randomUUID } from 'node:crypto';
import type { KeyManager } from '../crypto/key-manager.js';
import type { Job } from '../jobs/jobs.js';
import { backoffMs, visibilitySeconds, type BackoffPolicy } from './backoff.js';
import type { DeliveryPayload } from './webhook-event-publisher.js';
import { signedHeaders } from './webhook-signing.js';
import { DELIVER_WEBHOOK, signingSecretContext, type AttemptOutcome, type DeliveryAttempt, type WebhookSubscription } from './webhooks.js';
import type { JobRepository } from '../ports/jobs.js';
import type { WebhookRepository, WebhookResponse, WebhookSender } from '../ports/webhooks.js';
import type { WebhookMetrics } from '../ports/metrics.js';
import type { DomainLogger } from '../ports/logging.js';

export const WEBHOOK_USER_AGENT = 'ScaiVault-Webhooks/1';

export interface DeliverySettings {
  readonly timeoutMs: number;
  readonly backoff: BackoffPolicy;
  /** Attempts before a delivery is given up; at most the queue's maxReceiveCount. */
  readonly maxAttempts: number;
  /** The queue's redrive policy: a message received this often goes to the DLQ when it fails again. */
  readonly maxReceiveCount: number;
}

export interface DeliveryMessage {
  readonly jobId: string;
  /** SQS ApproximateReceiveCount: this is attempt number `receiveCount` of this message. */
  readonly receiveCount: number;
  readonly traceparent: string | undefined;
}

/**
 * What the queue should do with the message: `done` deletes it; `retry` makes
 * it visible again after a backoff; `dead-letter` makes it visible at once and
 * leaves it undeleted, so the redrive policy moves it to the DLQ.
 */
export type DeliveryDecision = { readonly action: 'done' } | { readonly action: 'retry'; readonly delaySeconds: number } | { readonly action: 'dead-letter' };

const DONE: DeliveryDecision = { action: 'done' };
/** A delivery's lease outlasts its HTTP timeout, so it never lapses mid-attempt. */
const LEASE_MARGIN_MS = 15_000;

const parsePayload = (payload: Readonly<Record<string, unknown>>): DeliveryPayload | undefined => {
  const { webhookId, eventId, eventType, occurredAt, data } = payload;
  if (typeof webhookId !== 'string' || typeof eventId !== 'string' || typeof eventType !== 'string' || typeof occurredAt !== 'string') return undefined;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  return { webhookId, eventId, eventType, occurredAt, data: data as DeliveryPayload['data'] };
};

/**
 * Delivers one webhook job: POSTs the signed event, records the attempt, and
 * finishes the job on success, on a refused destination, or when attempts run
 * out. Idempotent per job: a finished job is never delivered again, and a
 * short lease keeps two copies of one job from being delivered at once.
 */
export class DeliverWebhook {
  constructor(
    private readonly jobs: Pick<JobRepository, 'get' | 'finish'>,
    private readonly repository: WebhookRepository,
    private readonly keys: Pick<KeyManager, 'open'>,
    private readonly sender: WebhookSender,
    private readonly metrics: WebhookMetrics,
    private readonly logger: Pick<DomainLogger, 'info' | 'warn'>,
    private readonly settings: DeliverySettings,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  async deliver(message: DeliveryMessage): Promise<DeliveryDecision> {
    // Claimed before the job is read: the read under the lease is the one that counts, so a read before it would be a wasted call.
    const holder = randomUUID();
    const leaseMs = this.settings.timeoutMs + LEASE_MARGIN_MS;
    if (!(await this.repository.claimDelivery(message.jobId, holder, this.now(), leaseMs))) {
      // A finished job keeps its lease until it runs out: a copy that comes later is done.
      if ((await this.jobs.get(message.jobId))?.status !== 'pending') return DONE;
      // Another copy is being delivered right now; look again once its lease is over.
      return { action: 'retry', delaySeconds: visibilitySeconds(leaseMs) };
    }
    let settled = false;
    try {
      const job = await this.jobs.get(message.jobId);
      if (!job || job.kind !== DELIVER_WEBHOOK) {
        this.logger.warn('webhook message names no delivery job; dropped', { job_id: message.jobId });
        settled = true;
        return DONE;
      }
      // Already finished: a redelivered or re-sent message has no further effect.
      settled = job.status !== 'pending';
      if (settled) return DONE;
      const decision = await this.attempt(job, message);
      settled = decision === DONE;
      return decision;
    } finally {
      // A job settled for good needs no release: any later copy that claims the lease reads it finished. A retry
      // (or an error) releases it, so the next copy of the message is not turned away until the lease runs out.
      if (!settled) await this.repository.releaseDelivery(message.jobId, holder).catch(() => undefined);
    }
  }

  private async attempt(job: Job, message: DeliveryMessage): Promise<DeliveryDecision> {
    const payload = parsePayload(job.payload);
    if (!payload) {
      await this.jobs.finish(job.jobId, 'failed', 'malformed delivery job');
      return DONE;
    }
    const subscription = await this.repository.get(job.tenantId, payload.webhookId);
    if (!subscription) {
      await this.jobs.finish(job.jobId, 'failed', 'webhook deleted before delivery');
      return DONE;
    }
    const startedAt = this.now();
    const { body, headers } = await this.signedRequest(job.jobId, payload, subscription, startedAt);
    const attempt = message.receiveCount;
    const recorded = {
      tenantId: job.tenantId,
      webhookId: subscription.webhookId,
      jobId: job.jobId,
      eventType: payload.eventType,
      attempt,
      attemptedAt: new Date(startedAt).toISOString(),
    };
    // Recorded before the POST and replaced by its outcome after: a crash or a lost write in between
    // leaves the attempt in the history as `unknown`, so every POST a receiver gets is one the history shows.
    await this.repository.recordAttempt({
      ...recorded,
      statusCode: null,
      error: null,
      latencyMs: 0,
      outcome: 'unknown',
      retryInMs: null,
    } satisfies DeliveryAttempt);
    const response = await this.sender.send({ url: subscription.url, headers, body, timeoutMs: this.settings.timeoutMs, traceparent: message.traceparent });
    const success = response.kind === 'response' && response.statusCode >= 200 && response.statusCode < 300;
    this.metrics.webhookDelivery(success, response.latencyMs / 1000);
    const record = (outcome: AttemptOutcome, retryInMs: number | null): Promise<void> =>
      this.repository.recordAttempt({
        ...recorded,
        statusCode: response.kind === 'response' ? response.statusCode : null,
        error: response.kind === 'error' ? response.error : null,
        latencyMs: Math.round(response.latencyMs),
        outcome,
        retryInMs,
      } satisfies DeliveryAttempt);
    const fields = {
      tenant_id: job.tenantId,
      webhook_id: subscription.webhookId,
      job_id: job.jobId,
      attempt,
      status: response.kind === 'response' ? response.statusCode : null,
      error: response.kind === 'error' ? response.error : null,
      duration_ms: Math.round(response.latencyMs),
    };
    return this.settle(job.jobId, attempt, response, success, record, fields);
  }

  /** The body every attempt of a delivery sends, and its headers signed with the subscription's current secrets. */
  private async signedRequest(jobId: string, payload: DeliveryPayload, subscription: WebhookSubscription, startedAt: number) {
    const body = JSON.stringify({ type: payload.eventType, timestamp: payload.occurredAt, data: payload.data });
    const headers = {
      'content-type': 'application/json',
      'user-agent': WEBHOOK_USER_AGENT,
      // The job id is the message id: stable across retries, so receivers can deduplicate.
      ...signedHeaders(await this.signingSecrets(subscription, startedAt), jobId, Math.floor(startedAt / 1000), body),
    };
    return { body, headers };
  }

  /** What one answered (or failed) POST means for its job: done, given up, or retried later. */
  private async settle(
    jobId: string,
    attempt: number,
    response: WebhookResponse,
    success: boolean,
    record: (outcome: AttemptOutcome, retryInMs: number | null) => Promise<void>,
    fields: Record<string, string | number | null>,
  ): Promise<DeliveryDecision> {
    const result = response.kind === 'response' ? `HTTP ${response.statusCode}` : response.error;
    // The job is finished before its attempt says so: a success in the history is one the job will not repeat
    // (a worker that dies in between leaves the attempt `unknown`, and the job's retry finds it finished).
    if (success) {
      await this.jobs.finish(jobId, 'succeeded', `delivered: ${result}`);
      await record('success', null);
      this.logger.info('webhook delivered', fields);
      return DONE;
    }
    if (response.kind === 'error' && response.final) {
      // Retrying cannot change the answer, and a retry storm against a refused address helps no one.
      await this.jobs.finish(jobId, 'failed', `not delivered: ${result}`);
      await record('failed', null);
      this.logger.warn('webhook refused', fields);
      return DONE;
    }
    const maxAttempts = Math.min(this.settings.maxAttempts, this.settings.maxReceiveCount);
    if (attempt >= maxAttempts) {
      await this.jobs.finish(jobId, 'failed', `gave up after ${attempt} attempts: ${result}`);
      await record('failed', null);
      this.metrics.deadLettered('webhook');
      this.logger.warn('webhook delivery failed for good', fields);
      // At the receive limit the message is left to the redrive policy, so the DLQ keeps it for inspection.
      return attempt >= this.settings.maxReceiveCount ? { action: 'dead-letter' } : DONE;
    }
    const delaySeconds = visibilitySeconds(backoffMs(this.settings.backoff, attempt, this.random));
    await record('retrying', delaySeconds * 1000);
    this.logger.info('webhook delivery failed; will retry', { ...fields, retry_in_ms: delaySeconds * 1000 });
    return { action: 'retry', delaySeconds };
  }

  /** Current secret first, then a rotated-out one still in its grace period. */
  private async signingSecrets(subscription: WebhookSubscription, now: number): Promise<string[]> {
    const usable = subscription.secrets.filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now);
    return Promise.all(
      usable.map((secret) => this.keys.open(secret.sealed, signingSecretContext(subscription.tenantId, subscription.webhookId, secret.version))),
    );
  }
}

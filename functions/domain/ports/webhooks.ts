// Webhook subscriptions' repository, the HTTP sender and the queue's message visibility.

import type { DeliveryAttempt, SealedSigningSecret, WebhookSubscription } from '../webhooks/webhooks.js';
import type { Page } from './secrets.js';

export interface WebhookRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
  /** The W3C traceparent of the event that caused the delivery, if it carried one. */
  readonly traceparent: string | undefined;
}

export type WebhookResponse =
  | { readonly kind: 'response'; readonly statusCode: number; readonly latencyMs: number }
  /** No HTTP answer. `final` errors (a refused destination) are not worth retrying. */
  | { readonly kind: 'error'; readonly error: string; readonly final: boolean; readonly latencyMs: number };

/** Sends one delivery over HTTP; never throws for the receiver's or the network's failures. */
export interface WebhookSender {
  send(request: WebhookRequest): Promise<WebhookResponse>;
}

export interface WebhookRepository {
  /** Stores a new subscription; ConflictError if the id exists. */
  create(subscription: WebhookSubscription): Promise<void>;
  get(tenantId: string, webhookId: string): Promise<WebhookSubscription | undefined>;
  list(tenantId: string): Promise<WebhookSubscription[]>;
  /** False when there was nothing to delete. */
  delete(tenantId: string, webhookId: string): Promise<boolean>;
  /** Replaces the signing secrets if the current version is still `expectedVersion`; ConflictError otherwise. */
  replaceSecrets(tenantId: string, webhookId: string, expectedVersion: number, secrets: readonly SealedSigningSecret[]): Promise<void>;
  recordAttempt(attempt: DeliveryAttempt): Promise<void>;
  /** Newest first. */
  listAttempts(tenantId: string, webhookId: string, limit: number, cursor: string | undefined): Promise<Page<DeliveryAttempt>>;
  /**
   * Takes the short lease that lets one worker at a time deliver a job; false
   * while another holds an unexpired one. Leases expire on their own.
   */
  claimDelivery(jobId: string, holder: string, nowMs: number, leaseMs: number): Promise<boolean>;
  releaseDelivery(jobId: string, holder: string): Promise<void>;
}

/**
 * Whether the vault may send to a host at all: the egress policy deliveries
 * obey, asked when a subscription is created so a forbidden URL is refused then.
 */
export interface EgressCheck {
  /** Why `host` (a URL's hostname) may not be reached, or undefined when it may. */
  refusal(host: string): Promise<string | undefined>;
}

/** Where a worker makes a received message visible again. */
export interface MessageVisibility {
  delay(receiptHandle: string, seconds: number): Promise<void>;
}

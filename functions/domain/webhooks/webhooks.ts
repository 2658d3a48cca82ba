// Webhook subscriptions, their signing secrets and delivery history: the types
// the webhook use cases depend on (their repository port is in ports/webhooks.ts).

import type { EventType } from '../events/events.js';
import type { SealContext } from '../crypto/envelope.js';
import type { SealedValue } from '../ports/secrets.js';

/** The job kind the webhook worker runs, on the `webhook` queue. */
export const DELIVER_WEBHOOK = 'deliver-webhook';

/** How long a rotated-out signing secret keeps signing deliveries beside the new one. */
export const PREVIOUS_SECRET_GRACE_MS = 24 * 3600 * 1000;

/** A webhook id as the API shows it: `wh_` and 24 hex digits. */
export const WEBHOOK_ID_PATTERN = /^wh_[0-9a-f]{24}$/;

export interface SealedSigningSecret {
  readonly version: number;
  readonly sealed: SealedValue;
  readonly createdAt: string;
  /** When a rotated-out secret stops signing; null for the current one. */
  readonly expiresAt: string | null;
}

export interface WebhookSubscription {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly url: string;
  readonly eventTypes: readonly EventType[];
  readonly description: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Version of the current signing secret; bumped by each rotation. */
  readonly secretVersion: number;
  /** Current secret first, then the previous one while its grace period lasts. */
  readonly secrets: readonly SealedSigningSecret[];
}

/**
 * What became of one attempt: `success` (2xx), `retrying` (failed, the message
 * comes back after a backoff) or `failed` (final: attempts exhausted, or the
 * destination was refused); `unknown` while it is being made, and for good when
 * the worker died or could not record the answer (the receiver may have it).
 */
export type AttemptOutcome = 'success' | 'retrying' | 'failed' | 'unknown';

export interface DeliveryAttempt {
  readonly tenantId: string;
  readonly webhookId: string;
  readonly jobId: string;
  readonly eventType: string;
  /** 1-based; the queue's receive count of the message that carried it. */
  readonly attempt: number;
  readonly attemptedAt: string;
  readonly statusCode: number | null;
  /** An error class (`TimeoutError`, `ECONNREFUSED`, `EgressRefusedError`), never a message. */
  readonly error: string | null;
  readonly latencyMs: number;
  readonly outcome: AttemptOutcome;
  /** The backoff chosen before the next attempt, when one follows. */
  readonly retryInMs: number | null;
}

/**
 * The AAD of a signing secret. `:` never occurs in a secret path, so a sealed
 * signing secret can never be passed off as a secret version or vice versa.
 */
export const signingSecretContext = (tenantId: string, webhookId: string, version: number): SealContext => ({
  tenantId,
  path: `sys:webhooks/${webhookId}`,
  version,
});

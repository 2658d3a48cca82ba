// Domain events that subscribers (webhooks) can receive.

import type { EventPublisher } from '../ports/events.js';

export const EVENT_TYPES = [
  'secret.created',
  'secret.updated',
  'secret.deleted',
  'secret.rotated',
  'rotation.failed',
  // Dynamic secrets (functions/domain/dynamic/).
  'lease.created',
  'lease.revoked',
  'lease.revocation_failed',
  // Audit-driven detections (functions/domain/audit/detections.ts).
  'audit.policy_violation_spike',
  'audit.dormant_secret_read',
  'audit.new_identity_sensitive_read',
  // Certificates (ACME-managed ones from functions/domain/acme/acme-renewals.ts).
  'certificate.issued',
  'certificate.renewed',
  'certificate.renewal_failed',
  // Data-key rotation (functions/domain/crypto/key-rotation.ts).
  'key.rotation_started',
  'key.rotation_finished',
  // PKI (functions/domain/pki/); certificate.issued above covers both.
  'certificate.revoked',
  'certificate.expiring',
  // A token's expiry is near (functions/domain/auth/token-expiry.ts): once per token and expiry.
  'token.expiring',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface VaultEvent {
  readonly type: EventType;
  readonly tenantId: string;
  /** Event data: paths, versions, reasons. Never a secret value. */
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
  readonly occurredAt: string;
}

export const NO_EVENTS: EventPublisher = { publish: async () => undefined };

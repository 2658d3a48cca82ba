// What an audit record says about one request. It names who did what to which
// path and how it ended; it never carries a secret value, so it can leave the
// vault (syslog, SIEM) without widening who sees secrets.

export type AuditOutcome = 'success' | 'failure' | 'denied' | 'error';

export interface AuditEvent {
  readonly eventId: string;
  /** ISO 8601 instant, e.g. `2026-04-21T14:23:45.123Z`. */
  readonly time: string;
  /** Dotted event name, e.g. `secret.read`, `secret.rotate`, `auth.login`. */
  readonly type: string;
  readonly outcome: AuditOutcome;
  readonly tenantId?: string;
  readonly identityId?: string;
  /** Secret path the request addressed; the path, never the value. */
  readonly path?: string;
  readonly requestId?: string;
  readonly sourceAddress?: string;
  readonly userAgent?: string;
}

// What an audit record says about one request or background action. It names
// who did what to which path and how it ended; sensitive values (tokens, secret
// values) appear only as HMACs, so a record can leave the vault (syslog, SIEM)
// without widening who sees secrets.
import { createHash, randomUUID } from 'node:crypto';

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied', 'error', 'attempted'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

export type AuditDetailValue = string | number | boolean;

export interface AuditEvent {
  /** `aev_` and 32 hex digits. */
  readonly eventId: string;
  /** ISO 8601 instant with milliseconds, e.g. `2026-04-21T14:23:45.123Z`. */
  readonly time: string;
  /** Dotted event name, e.g. `secret.read`, `rotation.completed`, `policy_violation`. */
  readonly type: string;
  readonly outcome: AuditOutcome;
  readonly tenantId?: string;
  readonly identityId?: string;
  /** Secret path or route pattern; the path, never the value. */
  readonly path?: string;
  readonly requestId?: string;
  readonly sourceAddress?: string;
  readonly userAgent?: string;
  readonly method?: string;
  readonly status?: number;
  /** Sensitive values by name, as `hmac-sha256:<hex>` under the deployment's audit key. */
  readonly hmac?: Readonly<Record<string, string>>;
  /** Non-sensitive facts: versions, job ids, counts, reasons. */
  readonly details?: Readonly<Record<string, AuditDetailValue>>;
}

/** An event before the log gives it an id and a time. */
export type AuditDraft = Omit<AuditEvent, 'eventId' | 'time' | 'hmac'> & {
  /** Sensitive values to HMAC; the raw values never reach storage. */
  readonly sensitive?: Readonly<Record<string, string>>;
};

export class InvalidAuditEventError extends Error {
  override readonly name = 'InvalidAuditEventError';
}

/** Cuts free text (user agents) to the schema's limit instead of refusing the request. */
export const clip = (value: string | undefined, max: number): string | undefined =>
  value === undefined ? undefined : value.replace(/[\u0000-\u001f\u007f]/g, '_').slice(0, max);

/**
 * The chain's start, recorded before the first event: a minute before now, so
 * an instance whose clock runs slightly behind cannot write its first event
 * before the start of the chain (and outside every sealed window).
 */
export const genesisTime = (now: number): string => new Date(now - 60_000).toISOString();

export const newAuditEventId = (): string => `aev_${randomUUID().replaceAll('-', '')}`;

/** The event's storage and ordering key: time first, so keys sort chronologically across days. */
export const auditKeyOf = (event: Pick<AuditEvent, 'time' | 'eventId'>): string => `${event.time}#${event.eventId}`;

/** JSON with object keys sorted at every level and undefined members dropped: one byte string per event. */
export const canonicalJson = (value: unknown): string => {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
};

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

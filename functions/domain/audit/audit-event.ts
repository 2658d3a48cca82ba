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

const LIMITS = { tenantId: 128, identityId: 256, path: 1024, requestId: 200, sourceAddress: 64, userAgent: 256, method: 10 } as const;
const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const NAME = /^[a-z][a-z0-9_]{0,39}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

/** Throws InvalidAuditEventError unless `event` has the schema every stored record has. */
export const validateAuditEvent = (event: AuditEvent): AuditEvent => {
  const fail = (message: string): never => {
    throw new InvalidAuditEventError(`audit event ${message}`);
  };
  if (!/^aev_[0-9a-f]{32}$/.test(event.eventId)) fail('id must be aev_ and 32 hex digits');
  if (!TIME.test(event.time) || Number.isNaN(Date.parse(event.time))) fail('time must be an ISO instant with milliseconds');
  if (event.type.length > 64 || !TYPE.test(event.type)) fail(`type "${event.type}" must be a dotted lower-case name`);
  if (!(AUDIT_OUTCOMES as readonly string[]).includes(event.outcome)) fail(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`);
  for (const [field, max] of Object.entries(LIMITS)) {
    const value = event[field as keyof typeof LIMITS];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > max || !PRINTABLE.test(value)) fail(`${field} must be printable text of at most ${max} characters`);
  }
  if (event.status !== undefined && (!Number.isInteger(event.status) || event.status < 100 || event.status > 599)) fail('status must be an HTTP status');
  for (const [name, value] of Object.entries(event.hmac ?? {})) {
    if (!NAME.test(name) || !HMAC.test(value)) fail(`hmac.${name} must be hmac-sha256:<64 hex>`);
  }
  const details = Object.entries(event.details ?? {});
  if (details.length > 20) fail('has more than 20 details');
  for (const [name, value] of details) {
    if (!NAME.test(name)) fail(`detail name "${name}" is not a lower-case name`);
    const ok = typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length <= 512 && PRINTABLE.test(value));
    if (!ok) fail(`detail ${name} must be a boolean, a finite number or printable text of at most 512 characters`);
  }
  return event;
};

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

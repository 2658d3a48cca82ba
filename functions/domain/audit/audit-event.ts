// What an audit record says about one request or background action. It names
// who did what to which path and how it ended; sensitive values (tokens, secret
// values) appear only as HMACs, so a record can leave the vault (syslog, SIEM)
// without widening who sees secrets.
import { createHash, randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import '../zod-english.js';

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

const TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
const NAME = /^[a-z][a-z0-9_]{0,39}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const HMAC = /^hmac-sha256:[0-9a-f]{64}$/;
const PRINTABLE = /^[^\u0000-\u001f\u007f]*$/;

const text = (max: number) => z.string().check(z.maxLength(max), z.regex(PRINTABLE, 'must be printable text'));
const name = z.string().check(z.regex(NAME, 'must be a lower-case name'));

/** The schema every stored record has; also the audit query's answer, so what is stored is what is served. */
export const auditEventSchema = z.strictObject({
  eventId: z.string().check(z.regex(/^aev_[0-9a-f]{32}$/, 'must be aev_ and 32 hex digits')),
  time: z.string().check(
    z.regex(TIME, 'must be an ISO instant with milliseconds'),
    z.refine((time) => !Number.isNaN(Date.parse(time)), 'must be a real instant'),
  ),
  type: z.string().check(z.maxLength(64), z.regex(TYPE, 'must be a dotted lower-case name')),
  outcome: z.enum(AUDIT_OUTCOMES),
  tenantId: z.optional(text(128)),
  identityId: z.optional(text(256)),
  path: z.optional(text(1024)),
  requestId: z.optional(text(200)),
  sourceAddress: z.optional(text(64)),
  userAgent: z.optional(text(256)),
  method: z.optional(text(10)),
  status: z.optional(z.int().check(z.gte(100), z.lte(599))),
  hmac: z.optional(z.record(name, z.string().check(z.regex(HMAC, 'must be hmac-sha256:<64 hex>')))),
  details: z.optional(
    z.record(name, z.union([z.boolean(), z.number(), text(512)])).check(z.refine((details) => Object.keys(details).length <= 20, 'has more than 20 details')),
  ),
});

/** Throws InvalidAuditEventError unless `event` has the schema every stored record has. */
export const validateAuditEvent = (event: AuditEvent): AuditEvent => {
  const result = auditEventSchema.safeParse(event);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new InvalidAuditEventError(`audit event ${issue.path.join('.') || 'record'} ${issue.message}`);
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

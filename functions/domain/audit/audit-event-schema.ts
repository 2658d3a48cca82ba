// The schema every stored audit record has, and the check each record passes
// before it is written. Apart from audit-event.ts so that zod loads with the
// first record a process writes (AuditLog loads this module then), not with
// the cold start of every function.
import * as z from 'zod/mini';
import '../zod-english.js';
import { AUDIT_OUTCOMES, InvalidAuditEventError, type AuditEvent } from './audit-event.js';

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

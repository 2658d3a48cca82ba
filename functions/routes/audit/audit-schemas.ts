// What the audit routes accept: instants, filters, cursors and block numbers.
import * as z from 'zod/mini';
import { AUDIT_OUTCOMES } from '../../domain/audit/audit-event.js';
import type { ExportFilters } from '../../domain/audit/audit-export.js';
import { ValidationError } from '../../domain/errors.js';
import { optional, positiveIntegerQuery } from '../schemas.js';

const MAX_RANGE_DAYS = 366;
export const DAY_MS = 86_400_000;
// An event key, or the end of a day a query read through before its time ran out.
const KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(aev_[0-9a-f]{32}|~)$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/** An ISO 8601 instant, normalised to milliseconds in UTC. */
const instant = z.pipe(
  z.string().check(
    z.maxLength(40),
    z.refine((raw) => INSTANT.test(raw) && !Number.isNaN(Date.parse(raw)), 'must be an ISO 8601 instant with a time zone, e.g. 2026-11-22T10:00:00Z'),
  ),
  z.transform((raw) => new Date(Date.parse(raw)).toISOString()),
);

/** A cursor this API returned: the base64url of an event key. */
const cursor = z
  .pipe(
    z.string(),
    z.transform((raw) => Buffer.from(raw, 'base64url').toString('utf8')),
  )
  .check(z.refine((key) => KEY.test(key), 'is not one this API returned'));

export const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

const filterFields = {
  type: z.string().check(z.regex(/^[a-z][a-z0-9_.]{0,63}$/, 'must be an audit event type, e.g. secret.read')),
  outcome: z.enum(AUDIT_OUTCOMES),
  identity_id: z.string().check(z.minLength(1), z.maxLength(256)),
  tenant_id: z.string().check(z.minLength(1), z.maxLength(128)),
  path: z.string().check(z.minLength(1), z.maxLength(1024)),
};

export const eventsQuery = z.strictObject({
  from: z.optional(instant),
  to: z.optional(instant),
  type: z.optional(filterFields.type),
  outcome: z.optional(filterFields.outcome),
  identity_id: z.optional(filterFields.identity_id),
  tenant_id: z.optional(filterFields.tenant_id),
  path: z.optional(filterFields.path),
  limit: positiveIntegerQuery(1000),
  cursor: z.optional(cursor),
});

export const exportBody = z.strictObject({
  from: instant,
  to: optional(instant),
  type: optional(filterFields.type),
  outcome: optional(filterFields.outcome),
  identity_id: optional(filterFields.identity_id),
  tenant_id: optional(filterFields.tenant_id),
  path: optional(filterFields.path),
});

export const verifyQuery = z.strictObject({
  from_block: z.optional(z.pipe(z.string().check(z.regex(/^(0|[1-9]\d{0,15})$/, 'must be a block number')), z.transform(Number))),
  max_blocks: positiveIntegerQuery(1_000_000),
});

export const hashBody = z.strictObject({ input: z.string().check(z.maxLength(65_536)) });

export const exportIdParams = z.strictObject({ id: z.string().check(z.minLength(1)) });

type Filters = Partial<Record<'type' | 'outcome' | 'identity_id' | 'tenant_id' | 'path', string | null>>;

/** The filters an events query or an export names, in the domain's terms. */
export const filtersOf = (given: Filters): ExportFilters => {
  const filters: Record<string, string> = {};
  for (const [name, field] of [
    ['type', 'type'],
    ['outcome', 'outcome'],
    ['identity_id', 'identityId'],
    ['tenant_id', 'tenantId'],
    ['path', 'path'],
  ] as const) {
    const value = given[name];
    if (value != null) filters[field] = value;
  }
  return filters;
};

export const checkRange = (from: string, to: string): void => {
  if (from > to) throw new ValidationError('from must not be after to', 'from');
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * DAY_MS) throw new ValidationError(`a range spans at most ${MAX_RANGE_DAYS} days`, 'from');
};

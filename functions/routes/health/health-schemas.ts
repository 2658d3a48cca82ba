// Health's answers as schemas: the OpenAPI document's and the contract tests'.
// Loaded with the document, never with a probe (health-routes.ts gives loaders).
import * as z from 'zod/mini';
import { nullableTimestamp, timestamp } from '../schemas.js';

const readinessStatus = z.enum(['ready', 'not_ready']);
const checkStatus = z.enum(['up', 'down']);

export const livenessSchema = z.strictObject({ status: z.literal('ok'), version: z.string(), timestamp });

const checkSchema = z.strictObject({ status: checkStatus, latency_ms: z.number(), error: z.optional(z.string()), last_check: timestamp });

export const readinessSchema = z
  .strictObject({
    status: readinessStatus,
    timestamp,
    version: z.string(),
    checks: z.record(z.string(), checkSchema),
  })
  .check(z.meta({ id: 'Readiness' }));

/** The scheduler's latest run of the readiness checks: when, and what each found. */
export const scheduledChecksSchema = z
  .nullable(z.strictObject({ checked_at: timestamp, status: readinessStatus, checks: z.record(z.string(), checkSchema) }))
  .check(z.meta({ id: 'ScheduledChecks', description: 'null before the scheduler first ran its checks, or while they cannot be read' }));

export const keyCacheSchema = z.strictObject({
  hits: z.int(),
  misses: z.int(),
  evictions: z.int(),
  entries: z.int(),
  max_entries: z.int(),
  ttl_seconds: z.number(),
  oldest_access: nullableTimestamp.check(z.meta({ description: 'When the least recently used cached key was last used; null when empty' })),
  newest_access: nullableTimestamp.check(z.meta({ description: 'When a cached key was last used; null when empty' })),
});

const queueSchema = z.strictObject({ depth: z.nullable(z.number()), oldest_age_seconds: z.nullable(z.number()) });

export const detailedHealthSchema = z
  .strictObject({
    status: readinessStatus,
    version: z.string(),
    timestamp,
    checks: z.record(
      z.string(),
      z.strictObject({
        status: checkStatus,
        latency_ms: z.number(),
        last_check: timestamp,
        last_error: z.nullable(z.string()),
        last_error_at: nullableTimestamp,
        last_success_at: nullableTimestamp,
      }),
    ),
    kms: z.strictObject({ provider: z.string(), key_id: z.optional(z.string()), key_state: z.string() }),
    key_cache: keyCacheSchema,
    queues: z.strictObject({ rotation: queueSchema, webhook: queueSchema }),
    connection_pool: z.strictObject({ size: z.int(), available: z.int(), pending: z.int(), max: z.number() }),
    scheduled_checks: scheduledChecksSchema,
  })
  .check(z.meta({ id: 'DetailedHealth' }));

// Health on the wire: readiness for load balancers, the detailed view for operators.
import * as z from 'zod/mini';
import type { KeyCacheStats } from '../../domain/crypto/data-key-cache.js';
import type { CheckHistory, Readiness } from '../../domain/health/health-service.js';
import type { ScheduledChecks } from '../../domain/ports/health.js';
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
const scheduledChecksSchema = z
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

export const keyCacheJson = (stats: KeyCacheStats): z.infer<typeof keyCacheSchema> => ({
  hits: stats.hits,
  misses: stats.misses,
  evictions: stats.evictions,
  entries: stats.entries,
  max_entries: stats.maxEntries,
  ttl_seconds: stats.ttlSeconds,
  oldest_access: stats.oldestAccessAt === null ? null : new Date(stats.oldestAccessAt).toISOString(),
  newest_access: stats.newestAccessAt === null ? null : new Date(stats.newestAccessAt).toISOString(),
});

/** `checkedAt`: when a check that does not say (a record from before checks were timed) ran. */
export const readinessJson = (
  readiness: Pick<Readiness, 'ready' | 'checks'>,
  checkedAt: string,
): Omit<z.infer<typeof readinessSchema>, 'timestamp' | 'version'> => ({
  status: readiness.ready ? 'ready' : 'not_ready',
  checks: Object.fromEntries(
    Object.entries(readiness.checks).map(([name, check]) => [
      name,
      { status: check.status, latency_ms: check.latencyMs, ...(check.error ? { error: check.error } : {}), last_check: check.checkedAt ?? checkedAt },
    ]),
  ),
});

/** Each check with its latest result and its history (last error, last success). */
export const detailedChecksJson = (readiness: Readiness, history: Readonly<Record<string, CheckHistory>>): z.infer<typeof detailedHealthSchema>['checks'] =>
  Object.fromEntries(
    Object.entries(readiness.checks).map(([name, check]) => [
      name,
      {
        status: check.status,
        latency_ms: check.latencyMs,
        last_check: check.checkedAt ?? new Date().toISOString(),
        last_error: history[name]?.lastError ?? null,
        last_error_at: history[name]?.lastErrorAt ?? null,
        last_success_at: history[name]?.lastSuccessAt ?? null,
      },
    ]),
  );

export const scheduledChecksJson = (scheduled: ScheduledChecks): NonNullable<z.infer<typeof scheduledChecksSchema>> => ({
  checked_at: scheduled.checkedAt,
  ...readinessJson(scheduled, scheduled.checkedAt),
});

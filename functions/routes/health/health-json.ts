// Health on the wire: readiness for load balancers, the detailed view for
// operators. The shapes are health-schemas.ts's; only their types are used here,
// so a probe loads no zod.
import type * as z from 'zod/mini';
import type { KeyCacheStats } from '../../domain/crypto/data-key-cache.js';
import type { CheckHistory, Readiness } from '../../domain/health/health-service.js';
import type { ScheduledChecks } from '../../domain/ports/health.js';
import type { detailedHealthSchema, keyCacheSchema, readinessSchema, scheduledChecksSchema } from './health-schemas.js';

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

// `/v1/admin`: integration status and features, and clearing the key cache.
import type { VaultConfig } from '../../config.js';
import type { AuthService } from '../../domain/auth/auth-service.js';
import type { DataKeyCache } from '../../domain/crypto/data-key-cache.js';
import type { HealthService } from '../../domain/health/health-service.js';
import type { KeyWrapper } from '../../domain/ports/keys.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import type { RequestWindowStats } from '../../observability/request-window.js';
import { keyCacheJson } from '../health/health-json.js';
import { cacheClearedSchema, cacheJson, rateLimitsJson, statusSchema, syslogTestSchema, type Features } from './admin-json.js';
import type { SyslogForwarder } from '../../adapters/syslog/syslog-forwarder.js';
import { ConflictError } from '../../domain/errors.js';
import { ENV } from '../../runtime/definitions.js';

export interface AdminRouteServices {
  readonly config: Pick<VaultConfig, 'version' | 'rateLimits' | 'cloudWatchNamespace'>;
  readonly auth: Pick<AuthService, 'requireOperator'>;
  readonly health: Pick<HealthService, 'readiness'>;
  readonly keyWrapper: Pick<KeyWrapper, 'describe' | 'provider'>;
  readonly keyCache: Pick<DataKeyCache, 'stats' | 'clear'>;
  readonly tracingEnabled: boolean;
  /** The audit trail's syslog copy; absent when SCAIVAULT_SYSLOG_URL is unset. */
  readonly syslog: Pick<SyslogForwarder, 'test'> | undefined;
  /** This instance's requests over the last interval. */
  readonly recentRequests: () => RequestWindowStats;
  /** Derived from the route groups the api was composed with (loading them all, once). */
  readonly features: () => Promise<Features>;
}

const status = async (services: AdminRouteServices, { principal }: RouteRequest) => {
  const { config } = services;
  await services.auth.requireOperator(principal);
  const checkedAt = new Date().toISOString();
  const [readiness, key, features] = await Promise.all([services.health.readiness(), services.keyWrapper.describe().catch(() => null), services.features()]);
  const recent = services.recentRequests();
  return json(200, {
    version: config.version,
    timestamp: checkedAt,
    last_check: checkedAt,
    success_rate: recent.successRate,
    avg_response_time_ms: recent.avgResponseTimeMs,
    requests: { interval_seconds: recent.intervalSeconds, total: recent.total, scope: 'instance' },
    status: readiness.ready ? 'healthy' : 'degraded',
    key_provider: key ? { provider: key.provider, key_id: key.keyId, state: key.state } : { provider: services.keyWrapper.provider, state: 'unreachable' },
    features,
    telemetry: { prometheus: true, tracing: services.tracingEnabled, cloudwatch_emf: config.cloudWatchNamespace !== undefined },
    health: Object.fromEntries(Object.entries(readiness.checks).map(([name, check]) => [name, check.status])),
    cache: cacheJson(services.keyCache.stats()),
    rate_limits: rateLimitsJson(config.rateLimits),
    monitoring: { metrics: '/v1/metrics', readiness: '/v1/health/ready', liveness: '/v1/health' },
  });
};

const testSyslog = async ({ auth, syslog }: AdminRouteServices, { principal, requestId }: RouteRequest) => {
  await auth.requireOperator(principal);
  if (!syslog) throw new ConflictError(`syslog forwarding is not configured (set ${ENV.syslogUrl})`);
  const result = await syslog.test(`syslog-test-${requestId}`);
  return json(200, { delivered: result.delivered, transport: result.transport, target: result.target, buffered: result.buffered, message_type: 'syslog.test' });
};

const clearKeyCache = async ({ auth, keyCache }: AdminRouteServices, { principal }: RouteRequest) => {
  await auth.requireOperator(principal);
  // Clears this instance's cache; other instances expire theirs within the TTL.
  const cleared = keyCache.clear();
  return json(200, { cleared_entries: cleared, cache: keyCacheJson(keyCache.stats()) });
};

const route = routesOver<AdminRouteServices>();

export const adminRoutes: RouteGroup<AdminRouteServices> = {
  name: 'admin',
  routes: [
    route.authenticated({
      method: 'GET',
      pattern: '/v1/admin/status',
      category: 'admin',
      rateLimit: 'admin',
      auditBestEffort: true,
      capability: 'admin',
      summary: 'Integration status: key provider, features, telemetry, health, key cache, rate limits',
      responses: { 200: { description: 'The status', schema: statusSchema } },
      handle: status,
    }),
    route.authenticated({
      method: 'POST',
      pattern: '/v1/admin/syslog/test',
      category: 'admin',
      rateLimit: 'admin',
      capability: 'admin',
      summary: 'Send a dummy audit message to the syslog relay and say whether the relay took it',
      responses: {
        200: { description: 'Whether the relay took it (TCP/TLS: written to its connection; UDP: sent)', schema: syslogTestSchema },
        409: { description: 'Syslog forwarding is not configured' },
      },
      handle: testSyslog,
    }),
    route.authenticated({
      method: 'POST',
      pattern: '/v1/admin/cache/clear',
      category: 'admin',
      rateLimit: 'admin',
      capability: 'admin',
      summary: "Clear this instance's data-key cache",
      responses: { 200: { description: 'How many entries were cleared', schema: cacheClearedSchema } },
      handle: clearKeyCache,
    }),
  ],
};

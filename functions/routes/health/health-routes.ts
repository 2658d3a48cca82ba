// Liveness and readiness for load balancers (no token), and the operator's detailed view.
import type { VaultConfig } from '../../config.js';
import type { AuthService } from '../../domain/auth/auth-service.js';
import type { DataKeyCache } from '../../domain/crypto/data-key-cache.js';
import type { HealthService } from '../../domain/health/health-service.js';
import type { ScheduledChecksStore } from '../../domain/ports/health.js';
import type { KeyWrapper } from '../../domain/ports/keys.js';
import { json } from '../../http/responses.js';
import { routesOver, type ResponseSchema, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { METRICS } from '../../observability/metric-catalogue.js';
import type { StateGauges } from '../../observability/state-gauges.js';
import { detailedChecksJson, keyCacheJson, readinessJson, scheduledChecksJson } from './health-json.js';

export interface HealthRouteServices {
  readonly config: Pick<VaultConfig, 'version'>;
  readonly auth: Pick<AuthService, 'requireOperator'>;
  readonly health: Pick<HealthService, 'readiness' | 'lastErrors'>;
  readonly keyWrapper: Pick<KeyWrapper, 'describe' | 'provider'>;
  readonly keyCache: Pick<DataKeyCache, 'stats'>;
  readonly stateGauges: Pick<StateGauges, 'read'>;
  /** The scheduler's latest run of the same checks (every run, in its own process in AWS). */
  readonly scheduledChecks: Pick<ScheduledChecksStore, 'load'>;
  /** The AWS SDK clients' socket pool: this design's "connection pool". */
  readonly connectionPool: () => { open: number; free: number; pending: number; max: number };
}

const liveness = async ({ config }: HealthRouteServices) => json(200, { status: 'ok', version: config.version, timestamp: new Date().toISOString() });

const readiness = async ({ health, config }: HealthRouteServices) => {
  const timestamp = new Date().toISOString();
  const result = await health.readiness();
  return json(result.ready ? 200 : 503, { ...readinessJson(result, timestamp), timestamp, version: config.version });
};

const detailedHealth = async (services: HealthRouteServices, { principal }: RouteRequest) => {
  await services.auth.requireOperator(principal);
  const [result, key, state, scheduled] = await Promise.all([
    services.health.readiness(),
    services.keyWrapper.describe().catch(() => null),
    services.stateGauges.read().catch(() => undefined),
    services.scheduledChecks.load().catch(() => undefined),
  ]);
  const gauge = (metric: { name: string }) => (state?.[metric.name]?.[''] as number | undefined) ?? null;
  const pool = services.connectionPool();
  return json(result.ready ? 200 : 503, {
    status: result.ready ? 'ready' : 'not_ready',
    version: services.config.version,
    timestamp: new Date().toISOString(),
    checks: detailedChecksJson(result, services.health.lastErrors()),
    kms: key ? { provider: key.provider, key_id: key.keyId, key_state: key.state } : { provider: services.keyWrapper.provider, key_state: 'Unreachable' },
    key_cache: keyCacheJson(services.keyCache.stats()),
    queues: {
      rotation: { depth: gauge(METRICS.rotationQueueDepth), oldest_age_seconds: gauge(METRICS.rotationQueueOldestAge) },
      webhook: { depth: gauge(METRICS.webhookQueueDepth), oldest_age_seconds: gauge(METRICS.webhookQueueOldestAge) },
    },
    connection_pool: { size: pool.open, available: pool.free, pending: pool.pending, max: pool.max },
    scheduled_checks: scheduled ? scheduledChecksJson(scheduled) : null,
  });
};

const route = routesOver<HealthRouteServices>();

/** A health answer's schema, loaded with the OpenAPI document: a probe loads no zod (ResponseSchema). */
const schemaOf =
  (name: 'livenessSchema' | 'readinessSchema' | 'detailedHealthSchema'): ResponseSchema =>
  async () =>
    (await import('./health-schemas.js'))[name];

export const healthRoutes: RouteGroup<HealthRouteServices> = {
  name: 'health',
  routes: [
    route.public({
      method: 'GET',
      pattern: '/v1/health',
      category: 'health',
      rateLimit: null,
      summary: 'The process is alive',
      responses: { 200: { description: 'Alive', schema: schemaOf('livenessSchema') } },
      handle: liveness,
    }),
    route.public({
      method: 'GET',
      pattern: '/v1/health/ready',
      category: 'health',
      rateLimit: null,
      summary: 'Every dependency is reachable',
      responses: {
        200: { description: 'Ready', schema: schemaOf('readinessSchema') },
        503: { description: 'Not ready, with each check', schema: schemaOf('readinessSchema') },
      },
      handle: readiness,
    }),
    route.authenticated({
      method: 'GET',
      pattern: '/v1/health/detailed',
      category: 'health',
      rateLimit: 'admin',
      auditBestEffort: true,
      capability: 'admin',
      summary: 'Per-check latency and history, key provider, key cache, queues, connection pool',
      responses: {
        200: { description: 'Ready', schema: schemaOf('detailedHealthSchema') },
        503: { description: 'Not ready', schema: schemaOf('detailedHealthSchema') },
      },
      handle: detailedHealth,
    }),
  ],
};

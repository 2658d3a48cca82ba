import type { VaultConfig } from '../config.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import { isValidGlob } from '../domain/auth/path-glob.js';
import type { DataKeyCache } from '../domain/crypto/data-key-cache.js';
import { UnauthenticatedError, ValidationError } from '../domain/errors.js';
import { constantTimeEquals } from '../domain/auth/tokens.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from '../observability/exposition.js';
import { capLabels } from '../observability/fleet-merge.js';
import { METRICS } from '../observability/metric-catalogue.js';
import type { FleetMetrics } from '../observability/fleet-metrics.js';
import type { StateGauges } from '../observability/state-gauges.js';
import { describeError, type Logger } from '../observability/logger.js';
import type { RotationRequests } from '../domain/rotation/rotation-requests.js';
import type { Job, JobService } from '../domain/jobs/jobs.js';
import type { HealthService } from '../domain/health/health-service.js';
import type { SecretService, SecretSummary } from '../domain/secrets/secret-service.js';
import { Fields, headerOf, parseJsonBody, parseQuery, positiveIntegerParam } from './body.js';
import type { AuthenticatedRoute, Route, RouteContext } from './router.js';
import { json } from './responses.js';
import type { WebhookService } from '../domain/webhooks/webhook-service.js';
import { webhookRoutes } from './webhook-routes.js';
import { auditRoutes } from './audit-routes.js';
import type { Audit } from '../composition/audit.js';
import { CAPABILITIES, type Capability, type PolicyRule, type TokenRecord } from '../domain/ports/auth.js';
import type { KeyWrapper } from '../domain/ports/keys.js';
import type { RotationSettings } from '../domain/ports/secrets.js';
import type { JobRepository } from '../domain/ports/jobs.js';

export interface ApiServices {
  readonly config: VaultConfig;
  readonly fleetMetrics: FleetMetrics;
  readonly stateGauges: StateGauges;
  readonly tracingEnabled: boolean;
  readonly logger: Logger;
  readonly rotationRequests: RotationRequests;
  /** The token /v1/metrics requires, if any. */
  readonly metricsToken: () => Promise<string | undefined>;
  /** The AWS SDK clients' socket pool: this design's "connection pool". */
  readonly connectionPool: () => { open: number; free: number; pending: number; max: number };
  readonly auth: AuthService;
  readonly secrets: SecretService;
  readonly health: HealthService;
  readonly keyCache: DataKeyCache;
  readonly keyWrapper: KeyWrapper;
  readonly webhooks: WebhookService;
  readonly audit: Audit;
  readonly jobs: JobService;
  readonly jobRepository: JobRepository;
}

const etag = (version: number): string => `"${version}"`;

/** `If-Match: "3"` → 3; `"0"` means the secret must not exist yet. */
const parseIfMatch = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined;
  const match = /^\s*"(\d{1,15})"\s*$/.exec(raw);
  if (!match) throw new ValidationError('If-Match must be a quoted version number, e.g. "3"', 'If-Match');
  return Number(match[1]);
};

const secretSummaryJson = (summary: SecretSummary) => ({
  path: summary.path,
  type: summary.type,
  current_version: summary.currentVersion,
  metadata: summary.metadata,
  created_at: summary.createdAt,
  updated_at: summary.updatedAt,
  deleted_at: summary.deletedAt,
  rotation: summary.rotation
    ? { interval_days: summary.rotation.intervalDays, rotator: summary.rotation.rotator, options: summary.rotation.options }
    : null,
});

const tokenJson = (token: TokenRecord, now: number) => ({
  accessor: token.accessor,
  tenant_id: token.tenantId,
  identity_id: token.identityId,
  policies: token.policies,
  issued_at: new Date(token.issuedAt).toISOString(),
  expires_at: token.expiresAt === null ? null : new Date(token.expiresAt).toISOString(),
  ttl_seconds: token.expiresAt === null ? null : Math.max(0, Math.floor((token.expiresAt - now) / 1000)),
  renewable: token.renewable,
  max_expires_at: token.maxExpiresAt === null ? null : new Date(token.maxExpiresAt).toISOString(),
});

const parseRotation = (fields: Fields | undefined): RotationSettings | null => {
  if (!fields) return null;
  const intervalDays = fields.integer('interval_days', { min: 1, max: 3650 });
  if (intervalDays === undefined) throw new ValidationError('rotation.interval_days is required', 'rotation.interval_days');
  const rotator = fields.string('rotator', { max: 64 }) ?? 'password';
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(rotator)) throw new ValidationError('rotation.rotator is invalid', 'rotation.rotator');
  const options = fields.object('options', ['length', 'alphabet', 'exclude', 'require_each_class', 'prefix', 'connection_secret', 'role']);
  const parsedOptions: Record<string, string | number | boolean> = {};
  if (options) {
    const length = options.integer('length', { min: 8, max: 4096 });
    if (length !== undefined) parsedOptions.length = length;
    for (const name of ['alphabet', 'exclude', 'prefix', 'connection_secret', 'role']) {
      const value = options.string(name, { max: 512 });
      if (value !== undefined) parsedOptions[name] = value;
    }
    const each = options.boolean('require_each_class');
    if (each !== undefined) parsedOptions.require_each_class = each;
  }
  return { intervalDays, rotator, options: parsedOptions };
};

const parseRules = (raw: unknown[]): PolicyRule[] =>
  raw.map((entry, index) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ValidationError(`rules[${index}] must be an object`, 'rules');
    const rule = new Fields(entry as Record<string, unknown>, ['path', 'capabilities']);
    const path = rule.string('path', { required: true, max: 512 });
    if (!isValidGlob(path)) throw new ValidationError(`rules[${index}].path is not a valid path glob`, 'rules');
    const capabilities = rule.stringArray('capabilities', { required: true, maxItems: CAPABILITIES.length }) ?? [];
    if (capabilities.length === 0 || capabilities.some((c) => !(CAPABILITIES as readonly string[]).includes(c))) {
      throw new ValidationError(`rules[${index}].capabilities must be a non-empty list of ${CAPABILITIES.join(', ')}`, 'rules');
    }
    return { path, capabilities: [...new Set(capabilities)] as Capability[] };
  });

export const buildRoutes = (services: ApiServices): Route[] => {
  const { auth, secrets, health, config } = services;
  const now = () => Date.now();

  const secretRoute = (method: string, suffix: string, rateLimit: AuthenticatedRoute['rateLimit'], audit: string, handle: AuthenticatedRoute['handle']): Route => ({
    method,
    pattern: `/v1/secrets/{path+}${suffix}`,
    category: 'secrets',
    rateLimit,
    audit,
    handle,
  });

  return [
    {
      method: 'GET',
      pattern: '/v1/health',
      category: 'health',
      rateLimit: null,
      handle: async () => json(200, { status: 'ok', version: config.version }),
    },
    {
      method: 'GET',
      pattern: '/v1/health/ready',
      category: 'health',
      rateLimit: null,
      handle: async () => {
        const readiness = await health.readiness();
        return json(readiness.ready ? 200 : 503, {
          status: readiness.ready ? 'ready' : 'not_ready',
          checks: Object.fromEntries(
            Object.entries(readiness.checks).map(([name, check]) => [
              name,
              { status: check.status, latency_ms: check.latencyMs, ...(check.error ? { error: check.error } : {}) },
            ]),
          ),
        });
      },
    },
    {
      method: 'GET',
      pattern: '/v1/health/detailed',
      category: 'health',
      rateLimit: 'admin',
      auditBestEffort: true,
      handle: async ({ principal }) => {
        await auth.requireOperator(principal);
        const [readiness, key, state] = await Promise.all([
          health.readiness(),
          services.keyWrapper.describe().catch(() => null),
          services.stateGauges.read().catch(() => undefined),
        ]);
        const history = health.lastErrors();
        const gauge = (metric: { name: string }) => (state?.[metric.name]?.[''] as number | undefined) ?? null;
        const pool = services.connectionPool();
        const cache = services.keyCache.stats();
        return json(readiness.ready ? 200 : 503, {
          status: readiness.ready ? 'ready' : 'not_ready',
          version: config.version,
          checks: Object.fromEntries(
            Object.entries(readiness.checks).map(([name, check]) => [
              name,
              {
                status: check.status,
                latency_ms: check.latencyMs,
                last_error: history[name]?.lastError ?? null,
                last_error_at: history[name]?.lastErrorAt ?? null,
                last_success_at: history[name]?.lastSuccessAt ?? null,
              },
            ]),
          ),
          kms: key ? { provider: key.provider, key_id: key.keyId, key_state: key.state } : { provider: services.keyWrapper.provider, key_state: 'Unreachable' },
          key_cache: snake(cache),
          queues: {
            rotation: { depth: gauge(METRICS.rotationQueueDepth), oldest_age_seconds: gauge(METRICS.rotationQueueOldestAge) },
            webhook: { depth: gauge(METRICS.webhookQueueDepth), oldest_age_seconds: gauge(METRICS.webhookQueueOldestAge) },
          },
          connection_pool: { size: pool.open, available: pool.free, pending: pool.pending, max: pool.max },
        });
      },
    },
    {
      method: 'GET',
      pattern: '/v1/metrics',
      category: 'metrics',
      rateLimit: null,
      handle: async ({ event }) => {
        await authorizeScrape(services, headerOf(event, 'authorization'));
        const [fleet, state] = await Promise.all([
          services.fleetMetrics.collect(),
          services.stateGauges.readOrLast((error) => services.logger.warn('state gauges unavailable; serving the last values', { error: describeError(error) })),
        ]);
        const cappedState = capLabels(state, {}, config.metricsLabelCap).snapshot;
        return {
          statusCode: 200,
          headers: { 'content-type': EXPOSITION_CONTENT_TYPE, 'cache-control': 'no-store' },
          body: renderExposition({ ...fleet, ...cappedState }),
        };
      },
    },
    {
      method: 'POST',
      pattern: '/v1/tenants',
      category: 'tenants',
      rateLimit: 'admin',
      handle: async ({ event, principal }) => {
        const body = new Fields(parseJsonBody(event), ['tenant_id', 'display_name']);
        const tenantId = body.string('tenant_id', { required: true, max: 64 });
        const displayName = body.string('display_name', { max: 200 }) ?? tenantId;
        await auth.createTenant(principal, tenantId, displayName);
        return json(201, { tenant_id: tenantId, display_name: displayName }, { location: `/v1/tenants/${tenantId}` });
      },
    },
    {
      method: 'POST',
      pattern: '/v1/identities',
      category: 'identities',
      rateLimit: 'admin',
      handle: async ({ event, principal, audit }) => {
        const body = new Fields(parseJsonBody(event), ['tenant_id', 'identity', 'policies', 'ttl_seconds', 'renewable', 'max_ttl_seconds']);
        const tenantId = await auth.requireAdminOf(principal, body.string('tenant_id', { max: 64 }));
        const ttlSeconds = body.integer('ttl_seconds') ?? 3600;
        const issued = await auth.createIdentity({
          tenantId,
          identityId: body.string('identity', { required: true, max: 300 }),
          policies: body.stringArray('policies', { required: true, maxItems: 32 }) ?? [],
          ttlSeconds,
          renewable: body.boolean('renewable') ?? true,
          maxTtlSeconds: body.integer('max_ttl_seconds') ?? Math.max(ttlSeconds, Math.min(30 * 24 * 3600, config.maxTokenTtlSeconds)),
        });
        // The token is shown once, here, and never stored or logged; the audit record holds its HMAC and accessor.
        audit.sensitive('issued_token', issued.token);
        audit.detail('accessor', issued.record.accessor);
        return json(201, { token: issued.token, ...tokenJson(issued.record, now()) });
      },
    },
    {
      method: 'PUT',
      pattern: '/v1/policies/{name}',
      category: 'policies',
      rateLimit: 'admin',
      handle: async ({ event, principal, params }) => {
        const body = new Fields(parseJsonBody(event), ['tenant_id', 'rules']);
        const tenantId = await auth.requireAdminOf(principal, body.string('tenant_id', { max: 64 }));
        const rules = parseRules(body.array('rules', { required: true, maxItems: 256 }) ?? []);
        const policy = await auth.putPolicy(tenantId, params.name ?? '', rules);
        return json(200, { name: policy.name, tenant_id: policy.tenantId, rules: policy.rules, updated_at: policy.updatedAt });
      },
    },
    {
      method: 'GET',
      pattern: '/v1/auth/token/self',
      category: 'auth',
      rateLimit: 'auth',
      handle: async ({ principal }) => json(200, tokenJson(principal.token, now())),
    },
    {
      method: 'POST',
      pattern: '/v1/auth/token/renew',
      category: 'auth',
      rateLimit: 'auth',
      handle: async ({ event, principal }) => {
        const body = new Fields(parseJsonBody(event, { optional: true }), ['increment_seconds']);
        const renewed = await auth.renew(principal, body.integer('increment_seconds'));
        return json(200, tokenJson(renewed, now()));
      },
    },
    {
      method: 'GET',
      pattern: '/v1/secrets',
      category: 'secrets',
      rateLimit: 'list',
      handle: async ({ event, principal }) => {
        const query = parseQuery(event, ['prefix', 'cursor', 'limit', 'include_deleted']);
        const includeDeleted = query.get('include_deleted');
        if (includeDeleted !== undefined && includeDeleted !== 'true' && includeDeleted !== 'false') {
          throw new ValidationError('include_deleted must be true or false', 'include_deleted');
        }
        const page = await secrets.list(
          principal,
          query.get('prefix') ?? '',
          positiveIntegerParam(query.get('limit'), 'limit', 1000) ?? 100,
          query.get('cursor'),
          includeDeleted === 'true',
        );
        return json(200, { secrets: page.items.map(secretSummaryJson), next_cursor: page.nextCursor ?? null });
      },
    },
    secretRoute('POST', '/rotate', 'write', 'secret.rotate', async ({ event, principal, params }) => {
      parseQuery(event, []);
      const job = await services.rotationRequests.request(principal, params.path ?? '');
      return json(202, jobJson(job), { location: `/v1/jobs/${job.jobId}` });
    }),
    {
      method: 'GET',
      pattern: '/v1/jobs/{id}',
      category: 'jobs',
      rateLimit: 'read',
      handle: async ({ principal, params }) => json(200, jobJson(await services.rotationRequests.job(principal, params.id ?? ''))),
    },
    secretRoute('GET', '/versions', 'list', 'secret.versions', async ({ event, principal, params }) => {
      parseQuery(event, []);
      const versions = await secrets.versions(principal, params.path ?? '');
      return json(200, {
        path: params.path,
        versions: versions.map((v) => ({ version: v.version, created_at: v.createdAt, created_by: v.createdBy, current: v.current })),
      });
    }),
    secretRoute('POST', '/restore', 'write', 'secret.restore', async ({ event, principal, params }) => {
      parseQuery(event, []);
      return json(200, secretSummaryJson(await secrets.restore(principal, params.path ?? '')));
    }),
    secretRoute('PUT', '', 'write', 'secret.write', async ({ event, principal, params, audit }) => {
      parseQuery(event, []);
      const expectedVersion = parseIfMatch(headerOf(event, 'if-match'));
      const body = new Fields(parseJsonBody(event), ['value', 'type', 'metadata', 'rotation']);
      const rotation = parseRotation(body.object('rotation', ['interval_days', 'rotator', 'options']));
      if (rotation) services.rotationRequests.validateSchedule(rotation.rotator, rotation.options);
      const value = body.string('value', { required: true, max: Number.MAX_SAFE_INTEGER });
      audit.sensitive('value', value);
      const summary = await secrets.write(principal, {
        path: params.path ?? '',
        // Length is checked in the domain against the 64 KiB byte limit.
        value,
        type: body.string('type', { max: 64 }) ?? 'generic',
        metadata: body.stringMap('metadata') ?? {},
        rotation,
        expectedVersion,
      });
      audit.detail('version', summary.currentVersion);
      return json(summary.currentVersion === 1 ? 201 : 200, { path: summary.path, version: summary.currentVersion, created_at: summary.updatedAt }, {
        etag: etag(summary.currentVersion),
      });
    }),
    secretRoute('GET', '', 'read', 'secret.read', async ({ event, principal, params, audit }) => {
      const query = parseQuery(event, ['version']);
      const value = await secrets.read(principal, params.path ?? '', positiveIntegerParam(query.get('version'), 'version'));
      audit.detail('version', value.version);
      return json(
        200,
        {
          path: value.path,
          version: value.version,
          current_version: value.currentVersion,
          type: value.type,
          value: value.value,
          metadata: value.metadata,
          created_at: value.createdAt,
        },
        { etag: etag(value.version) },
      );
    }),
    secretRoute('DELETE', '', 'write', 'secret.delete', async ({ event, principal, params, audit }) => {
      const query = parseQuery(event, ['destroy']);
      const destroy = query.get('destroy');
      if (destroy !== undefined && destroy !== 'true' && destroy !== 'false') throw new ValidationError('destroy must be true or false', 'destroy');
      audit.detail('destroy', destroy === 'true');
      if (destroy === 'true') {
        await secrets.destroy(principal, params.path ?? '');
        return { statusCode: 204, headers: { 'cache-control': 'no-store' } };
      }
      return json(200, secretSummaryJson(await secrets.softDelete(principal, params.path ?? '')));
    }),
    {
      method: 'GET',
      pattern: '/v1/admin/status',
      category: 'admin',
      rateLimit: 'admin',
      auditBestEffort: true,
      handle: async ({ principal }) => {
        await auth.requireOperator(principal);
        const [readiness, key] = await Promise.all([health.readiness(), services.keyWrapper.describe().catch(() => null)]);
        const cache = services.keyCache.stats();
        const lookups = cache.hits + cache.misses;
        return json(200, {
          version: config.version,
          status: readiness.ready ? 'healthy' : 'degraded',
          key_provider: key ? { provider: key.provider, key_id: key.keyId, state: key.state } : { provider: services.keyWrapper.provider, state: 'unreachable' },
          features: { secrets: true, tenants: true, rate_limiting: true, rotation: false, webhooks: true, audit: true, pki: false, leases: false },
          telemetry: { prometheus: true, tracing: services.tracingEnabled, cloudwatch_emf: config.cloudWatchNamespace !== undefined },
          health: Object.fromEntries(Object.entries(readiness.checks).map(([name, check]) => [name, check.status])),
          cache: { ...snake(cache), hit_ratio: lookups === 0 ? null : Math.round((cache.hits / lookups) * 10_000) / 10_000 },
          rate_limits: Object.fromEntries(
            Object.entries(config.rateLimits).map(([category, rule]) => [category, { capacity: rule.capacity, refill_per_second: rule.refillPerSecond }]),
          ),
          monitoring: { metrics: '/v1/metrics', readiness: '/v1/health/ready', liveness: '/v1/health' },
        });
      },
    },
    {
      method: 'POST',
      pattern: '/v1/admin/cache/clear',
      category: 'admin',
      rateLimit: 'admin',
      handle: async ({ principal }) => {
        await auth.requireOperator(principal);
        // Clears this instance's cache; other instances expire theirs within the TTL.
        const cleared = services.keyCache.clear();
        return json(200, { cleared_entries: cleared, cache: snake(services.keyCache.stats()) });
      },
    },
    ...webhookRoutes(services.webhooks),
    ...auditRoutes({ auth, audit: services.audit, jobs: services.jobs, jobRepository: services.jobRepository }),
  ];
};

/**
 * /v1/metrics is open when no metrics token is configured (the embedded vault
 * on loopback); otherwise it takes the metrics token or an admin token.
 */
const authorizeScrape = async (services: ApiServices, authorization: string | undefined): Promise<void> => {
  const expected = await services.metricsToken();
  if (!expected) return;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (presented && constantTimeEquals(presented, expected)) return;
  const principal = await services.auth.authenticate(authorization).catch(() => undefined);
  if (principal && (await services.auth.can(principal, 'admin', 'sys'))) return;
  throw new UnauthenticatedError('a metrics token or an admin token is required');
};

const jobJson = (job: Job) => ({
  job_id: job.jobId,
  kind: job.kind,
  status: job.status,
  path: job.payload.path ?? null,
  outcome: job.outcome ?? null,
  created_at: job.createdAt,
  finished_at: job.finishedAt ?? null,
});

const snake = (stats: ReturnType<DataKeyCache['stats']>) => ({
  hits: stats.hits,
  misses: stats.misses,
  evictions: stats.evictions,
  entries: stats.entries,
  max_entries: stats.maxEntries,
  ttl_seconds: stats.ttlSeconds,
});

export type { RouteContext };

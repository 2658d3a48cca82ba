import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { VaultConfig } from '../config.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import { isValidGlob } from '../domain/auth/path-glob.js';
import type { DataKeyCache } from '../domain/crypto/data-key-cache.js';
import { ValidationError } from '../domain/errors.js';
import type { HealthService } from '../domain/health/health-service.js';
import { CAPABILITIES, type Capability, type KeyWrapper, type PolicyRule, type RotationSettings, type TokenRecord } from '../domain/ports.js';
import type { SecretService, SecretSummary } from '../domain/secrets/secret-service.js';
import { Fields, headerOf, parseJsonBody, parseQuery, positiveIntegerParam } from './body.js';
import type { AuthenticatedRoute, Route, RouteContext } from './router.js';

export interface ApiServices {
  readonly config: VaultConfig;
  readonly auth: AuthService;
  readonly secrets: SecretService;
  readonly health: HealthService;
  readonly keyCache: DataKeyCache;
  readonly keyWrapper: KeyWrapper;
}

export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

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

  const secretRoute = (method: string, suffix: string, rateLimit: AuthenticatedRoute['rateLimit'], handle: AuthenticatedRoute['handle']): Route => ({
    method,
    pattern: `/v1/secrets/{path+}${suffix}`,
    category: 'secrets',
    rateLimit,
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
      handle: async ({ event, principal }) => {
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
        // The token is shown once, here, and never stored or logged.
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
    secretRoute('GET', '/versions', 'list', async ({ event, principal, params }) => {
      parseQuery(event, []);
      const versions = await secrets.versions(principal, params.path ?? '');
      return json(200, {
        path: params.path,
        versions: versions.map((v) => ({ version: v.version, created_at: v.createdAt, created_by: v.createdBy, current: v.current })),
      });
    }),
    secretRoute('POST', '/restore', 'write', async ({ event, principal, params }) => {
      parseQuery(event, []);
      return json(200, secretSummaryJson(await secrets.restore(principal, params.path ?? '')));
    }),
    secretRoute('PUT', '', 'write', async ({ event, principal, params }) => {
      parseQuery(event, []);
      const expectedVersion = parseIfMatch(headerOf(event, 'if-match'));
      const body = new Fields(parseJsonBody(event), ['value', 'type', 'metadata', 'rotation']);
      const summary = await secrets.write(principal, {
        path: params.path ?? '',
        // Length is checked in the domain against the 64 KiB byte limit.
        value: body.string('value', { required: true, max: Number.MAX_SAFE_INTEGER }),
        type: body.string('type', { max: 64 }) ?? 'generic',
        metadata: body.stringMap('metadata') ?? {},
        rotation: parseRotation(body.object('rotation', ['interval_days', 'rotator', 'options'])),
        expectedVersion,
      });
      return json(summary.currentVersion === 1 ? 201 : 200, { path: summary.path, version: summary.currentVersion, created_at: summary.updatedAt }, {
        etag: etag(summary.currentVersion),
      });
    }),
    secretRoute('GET', '', 'read', async ({ event, principal, params }) => {
      const query = parseQuery(event, ['version']);
      const value = await secrets.read(principal, params.path ?? '', positiveIntegerParam(query.get('version'), 'version'));
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
    secretRoute('DELETE', '', 'write', async ({ event, principal, params }) => {
      const query = parseQuery(event, ['destroy']);
      const destroy = query.get('destroy');
      if (destroy !== undefined && destroy !== 'true' && destroy !== 'false') throw new ValidationError('destroy must be true or false', 'destroy');
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
      handle: async ({ principal }) => {
        await auth.require(principal, 'admin', 'sys');
        const [readiness, key] = await Promise.all([health.readiness(), services.keyWrapper.describe().catch(() => null)]);
        const cache = services.keyCache.stats();
        const lookups = cache.hits + cache.misses;
        return json(200, {
          version: config.version,
          status: readiness.ready ? 'healthy' : 'degraded',
          key_provider: key ? { provider: key.provider, key_id: key.keyId, state: key.state } : { provider: services.keyWrapper.provider, state: 'unreachable' },
          features: { secrets: true, tenants: true, rate_limiting: true, rotation: false, webhooks: false, audit: false, pki: false, leases: false },
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
        await auth.require(principal, 'admin', 'sys');
        // Clears this instance's cache; other instances expire theirs within the TTL.
        const cleared = services.keyCache.clear();
        return json(200, { cleared_entries: cleared, cache: snake(services.keyCache.stats()) });
      },
    },
  ];
};

const snake = (stats: ReturnType<DataKeyCache['stats']>) => ({
  hits: stats.hits,
  misses: stats.misses,
  evictions: stats.evictions,
  entries: stats.entries,
  max_entries: stats.maxEntries,
  ttl_seconds: stats.ttlSeconds,
});

export type { RouteContext };

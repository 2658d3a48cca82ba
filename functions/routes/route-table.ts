// Every route group the api serves, in matching order, with the path prefixes
// its routes lie under. Adding a route is one entry in its group's file; adding
// a group is one entry here. Groups load on the first request under their
// prefixes (functions/http/router.ts): an instance builds the schemas and
// handlers of the groups it serves, not all fourteen, and a probe none but health's.
import { describeRoutes, type DescribedRoute, type RouteDefinition, type RouteGroup } from '../http/route.js';
import { lazyModule } from '../domain/lazy-module.js';
import { GroupRouter, type LazyGroup } from '../http/router.js';
import type { AcmeRouteServices } from './acme/acme-routes.js';
import type { Features } from './admin/admin-json.js';
import type { AdminRouteServices } from './admin/admin-routes.js';
import type { AuditRouteServices } from './audit/audit-routes.js';
import type { DynamicRouteServices } from './dynamic/dynamic-routes.js';
import { healthRoutes, type HealthRouteServices } from './health/health-routes.js';
import type { KeyRouteServices } from './keys/key-routes.js';
import type { MetricsRouteServices } from './metrics/metrics-routes.js';
import type { OpenApiRouteServices } from './openapi/openapi-routes.js';
import type { PkiRouteServices } from './pki/pki-routes.js';
import type { PolicyRouteServices } from './policies/policy-routes.js';
import type { RotationRouteServices } from './rotation/rotation-routes.js';
import type { SecretRouteServices } from './secrets/secret-routes.js';
import type { TenantRouteServices } from './tenants-and-identities/tenant-routes.js';
import type { WebhookRouteServices } from './webhooks/webhook-routes.js';

/** What the api's composition hands the route groups: each group sees only its own part. */
export type ApiRouteServices = HealthRouteServices &
  MetricsRouteServices &
  AdminRouteServices &
  TenantRouteServices &
  PolicyRouteServices &
  SecretRouteServices &
  RotationRouteServices &
  WebhookRouteServices &
  AuditRouteServices &
  OpenApiRouteServices &
  DynamicRouteServices &
  AcmeRouteServices &
  KeyRouteServices &
  PkiRouteServices;

type ApiRoute = RouteDefinition<ApiRouteServices>;

/** A group's module must accept the api's services: a group needing a service the api lacks fails to compile here. */
const group = (name: string, prefixes: readonly string[], load: () => Promise<RouteGroup<ApiRouteServices>>): LazyGroup<ApiRoute> => ({ name, prefixes, load });

export const API_ROUTE_GROUPS: readonly LazyGroup<ApiRoute>[] = [
  // Load balancers probe health every few seconds: its group is part of the bundle's entry.
  group('health', ['/v1/health'], async () => healthRoutes),
  group('metrics', ['/v1/metrics'], async () => (await import('./metrics/metrics-routes.js')).metricsRoutes),
  group('openapi', ['/v1/openapi.json'], async () => (await import('./openapi/openapi-routes.js')).openApiRoutes),
  group(
    'tenants-and-identities',
    ['/v1/tenants', '/v1/identities', '/v1/auth'],
    async () => (await import('./tenants-and-identities/tenant-routes.js')).tenantRoutes,
  ),
  group('policies', ['/v1/policies'], async () => (await import('./policies/policy-routes.js')).policyRoutes),
  group('rotation', ['/v1/secrets', '/v1/jobs'], async () => (await import('./rotation/rotation-routes.js')).rotationRoutes),
  group('secrets', ['/v1/secrets'], async () => (await import('./secrets/secret-routes.js')).secretRoutes),
  group('admin', ['/v1/admin'], async () => (await import('./admin/admin-routes.js')).adminRoutes),
  group('webhooks', ['/v1/webhooks'], async () => (await import('./webhooks/webhook-routes.js')).webhookRoutes),
  group('audit', ['/v1/audit'], async () => (await import('./audit/audit-routes.js')).auditRoutes),
  group('leases', ['/v1/dynamic', '/v1/leases'], async () => (await import('./dynamic/dynamic-routes.js')).dynamicRoutes),
  group('acme', ['/v1/acme', '/.well-known/acme-challenge'], async () => (await import('./acme/acme-routes.js')).acmeRoutes),
  group('keys', ['/v1/admin/keys'], async () => (await import('./keys/key-routes.js')).keyRoutes),
  group('pki', ['/v1/pki'], async () => (await import('./pki/pki-routes.js')).pkiRoutes),
];

export const apiRouter = (): GroupRouter<ApiRoute> => new GroupRouter(API_ROUTE_GROUPS);

/** Every route, loaded and described, in matching order: for the OpenAPI script and the contract tests. */
export const loadApiRoutes = async (): Promise<readonly DescribedRoute<ApiRoute>[]> =>
  describeRoutes((await apiRouter().all()).flatMap((loaded) => loaded.routes));

/** The services the table provides about itself: the features it offers and its OpenAPI document, both loading every group on first use. */
export const routeTableServices = (
  router: GroupRouter<ApiRoute>,
): { readonly features: () => Promise<Features>; readonly openApiDocument: () => Promise<Record<string, unknown>> } => {
  return {
    features: async () => (await import('./admin/admin-json.js')).featuresOf(await router.all()),
    openApiDocument: lazyModule(async () => {
      const { buildOpenApiDocument } = await import('./openapi/openapi-document.js');
      return buildOpenApiDocument(await describeRoutes((await router.all()).flatMap((loaded) => loaded.routes)));
    }),
  };
};

// Every route group the api serves, in matching order. Adding a route is one
// entry in its group's file; adding a group is one line here.
import type { RouteDefinition } from '../http/route.js';
import { acmeRoutes, type AcmeRouteServices } from './acme/acme-routes.js';
import { featuresOf, type Features } from './admin/admin-json.js';
import { adminRoutes, type AdminRouteServices } from './admin/admin-routes.js';
import { auditRoutes, type AuditRouteServices } from './audit/audit-routes.js';
import { dynamicRoutes, type DynamicRouteServices } from './dynamic/dynamic-routes.js';
import { healthRoutes, type HealthRouteServices } from './health/health-routes.js';
import { keyRoutes, type KeyRouteServices } from './keys/key-routes.js';
import { metricsRoutes, type MetricsRouteServices } from './metrics/metrics-routes.js';
import { buildOpenApiDocument } from './openapi/openapi-document.js';
import { openApiRoutes, type OpenApiRouteServices } from './openapi/openapi-routes.js';
import { pkiRoutes, type PkiRouteServices } from './pki/pki-routes.js';
import { policyRoutes, type PolicyRouteServices } from './policies/policy-routes.js';
import { rotationRoutes, type RotationRouteServices } from './rotation/rotation-routes.js';
import { secretRoutes, type SecretRouteServices } from './secrets/secret-routes.js';
import { tenantRoutes, type TenantRouteServices } from './tenants-and-identities/tenant-routes.js';
import { webhookRoutes, type WebhookRouteServices } from './webhooks/webhook-routes.js';

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

export const API_ROUTE_GROUPS = [
  healthRoutes,
  metricsRoutes,
  openApiRoutes,
  tenantRoutes,
  policyRoutes,
  rotationRoutes,
  secretRoutes,
  adminRoutes,
  webhookRoutes,
  auditRoutes,
  dynamicRoutes,
  acmeRoutes,
  keyRoutes,
  pkiRoutes,
] as const;

export const API_ROUTES: readonly RouteDefinition<ApiRouteServices>[] = API_ROUTE_GROUPS.flatMap(
  (group): readonly RouteDefinition<ApiRouteServices>[] => group.routes,
);

/** The services the table provides about itself: the features it offers and its OpenAPI document (built on first use). */
export const routeTableServices = (): { readonly features: Features; readonly openApiDocument: () => Record<string, unknown> } => {
  let document: Record<string, unknown> | undefined;
  return { features: featuresOf(API_ROUTE_GROUPS), openApiDocument: () => (document ??= buildOpenApiDocument(API_ROUTES)) };
};

// Tenants, identities with their tokens, and a token's view of itself.
import * as z from 'zod/mini';
import type { VaultConfig } from '../../config.js';
import type { AuthService } from '../../domain/auth/auth-service.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional } from '../schemas.js';
import { issuedTokenSchema, tenantSchema, tokenJson, tokenSchema } from './token-json.js';

export interface TenantRouteServices {
  readonly auth: Pick<AuthService, 'createTenant' | 'requireAdminOf' | 'createIdentity' | 'renew'>;
  readonly config: Pick<VaultConfig, 'maxTokenTtlSeconds'>;
}

const tenantBody = z.strictObject({ tenant_id: z.string().check(z.maxLength(64)), display_name: optional(z.string().check(z.maxLength(200))) });

const identityBody = z.strictObject({
  tenant_id: optional(z.string().check(z.maxLength(64))),
  identity: z.string().check(z.maxLength(300)),
  policies: z.array(z.string()).check(z.maxLength(32)),
  ttl_seconds: optional(z.int()),
  renewable: optional(z.boolean()),
  max_ttl_seconds: optional(z.int()),
});

const renewBody = z.strictObject({ increment_seconds: optional(z.int()) });

const createTenant = async ({ auth }: TenantRouteServices, { principal, body }: RouteRequest<z.infer<typeof tenantBody>>) => {
  const displayName = body.display_name ?? body.tenant_id;
  await auth.createTenant(principal, body.tenant_id, displayName);
  return json(201, { tenant_id: body.tenant_id, display_name: displayName }, { location: `/v1/tenants/${body.tenant_id}` });
};

const createIdentity = async ({ auth, config }: TenantRouteServices, { principal, body, audit }: RouteRequest<z.infer<typeof identityBody>>) => {
  const tenantId = await auth.requireAdminOf(principal, body.tenant_id ?? undefined);
  const ttlSeconds = body.ttl_seconds ?? 3600;
  const issued = await auth.createIdentity({
    tenantId,
    identityId: body.identity,
    policies: body.policies,
    ttlSeconds,
    renewable: body.renewable ?? true,
    maxTtlSeconds: body.max_ttl_seconds ?? Math.max(ttlSeconds, Math.min(30 * 24 * 3600, config.maxTokenTtlSeconds)),
  });
  // The token is shown once, here, and never stored or logged; the audit record holds its HMAC and accessor.
  audit.sensitive('issued_token', issued.token);
  audit.detail('accessor', issued.record.accessor);
  return json(201, { token: issued.token, ...tokenJson(issued.record, Date.now()) });
};

const readOwnToken = async (_: TenantRouteServices, { principal }: RouteRequest) => json(200, tokenJson(principal.token, Date.now()));

const renewOwnToken = async ({ auth }: TenantRouteServices, { principal, body }: RouteRequest<z.infer<typeof renewBody>>) =>
  json(200, tokenJson(await auth.renew(principal, body.increment_seconds ?? undefined), Date.now()));

const route = routesOver<TenantRouteServices>();

export const tenantRoutes: RouteGroup<TenantRouteServices> = {
  name: 'tenants-and-identities',
  routes: [
    route.authenticated({
      method: 'POST',
      pattern: '/v1/tenants',
      category: 'tenants',
      rateLimit: 'admin',
      capability: 'admin',
      summary: 'Create a tenant (administrators of the default tenant)',
      request: { body: tenantBody },
      responses: { 201: { description: 'The tenant', schema: tenantSchema } },
      handle: createTenant,
    }),
    route.authenticated({
      method: 'POST',
      pattern: '/v1/identities',
      category: 'identities',
      rateLimit: 'admin',
      capability: 'admin',
      summary: 'Create an identity and issue its token (shown once)',
      request: { body: identityBody },
      responses: { 201: { description: 'The token and what it carries', schema: issuedTokenSchema } },
      handle: createIdentity,
    }),
    route.authenticated({
      method: 'GET',
      pattern: '/v1/auth/token/self',
      category: 'auth',
      rateLimit: 'auth',
      summary: "The calling token's identity, policies and TTL",
      responses: { 200: { description: 'The token', schema: tokenSchema } },
      handle: readOwnToken,
    }),
    route.authenticated({
      method: 'POST',
      pattern: '/v1/auth/token/renew',
      category: 'auth',
      rateLimit: 'auth',
      summary: 'Renew the calling token, up to its maximum TTL',
      request: { body: renewBody, bodyOptional: true },
      responses: { 200: { description: 'The renewed token', schema: tokenSchema } },
      handle: renewOwnToken,
    }),
  ],
};

// `/v1/dynamic/...` and `/v1/leases/...`: engines and roles (admin on `dynamic/<engine>/config`),
// credentials (read on `dynamic/<engine>/creds/<role>`) and their leases, in the caller's tenant.
import * as z from 'zod/mini';
import type { DynamicConfigService } from '../../domain/dynamic/dynamic-config-service.js';
import { SSL_MODES } from '../../domain/dynamic/dynamic.js';
import type { LeaseService } from '../../domain/dynamic/lease-service.js';
import { json, noContent } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional, positiveIntegerQuery } from '../schemas.js';
import {
  credentialJson,
  credentialSchema,
  engineJson,
  engineListSchema,
  engineSchema,
  leaseJson,
  leaseListSchema,
  leaseSchema,
  revokePrefixSchema,
  roleJson,
  roleListSchema,
  roleSchema,
} from './dynamic-json.js';

export interface DynamicRouteServices {
  readonly dynamicConfig: DynamicConfigService;
  readonly leases: LeaseService;
}

const engineParams = z.strictObject({ engine: z.string().check(z.minLength(1)) });
const roleParams = z.strictObject({ engine: z.string().check(z.minLength(1)), role: z.string().check(z.minLength(1)) });
const statements = z.array(z.string().check(z.maxLength(4096))).check(z.maxLength(20));
const seconds = z.int().check(z.gte(1), z.lte(30 * 24 * 3600));

const engineBody = z.strictObject({
  name: z.string().check(z.maxLength(48)),
  plugin: optional(z.literal('postgresql')),
  connection_secret: z.string().check(z.maxLength(512)),
  max_connections: optional(z.int()),
  tls: optional(z.strictObject({ sslmode: optional(z.enum(SSL_MODES)), ca_pem: optional(z.string().check(z.maxLength(65536))) })),
});
const roleBody = z.strictObject({
  creation_statements: statements,
  revocation_statements: optional(statements),
  renew_statements: optional(statements),
  rollback_statements: optional(statements),
  default_ttl: seconds,
  max_ttl: seconds,
  max_leases: optional(z.int()),
});
const credsBody = z.strictObject({ ttl: optional(seconds) });
const leaseIdBody = z.strictObject({ lease_id: z.string().check(z.maxLength(200)) });
const renewBody = z.strictObject({ lease_id: z.string().check(z.maxLength(200)), increment: optional(seconds) });
const prefixBody = z.strictObject({ prefix: z.string().check(z.maxLength(200)) });
const leasesQuery = z.strictObject({ prefix: z.string().check(z.maxLength(200)), limit: positiveIntegerQuery(500), cursor: z.optional(z.string()) });

type Services = DynamicRouteServices;
type EngineRequest<B = undefined> = RouteRequest<B, unknown, z.infer<typeof engineParams>>;
type RoleRequest<B = undefined> = RouteRequest<B, unknown, z.infer<typeof roleParams>>;

const createEngine = async ({ dynamicConfig }: Services, { principal, body, audit }: RouteRequest<z.infer<typeof engineBody>>) => {
  const tls = body.tls ? { sslmode: body.tls.sslmode ?? undefined, caPem: body.tls.ca_pem ?? undefined } : undefined;
  const engine = await dynamicConfig.createEngine(principal, {
    name: body.name,
    connectionSecret: body.connection_secret,
    maxConnections: body.max_connections ?? undefined,
    tls,
  });
  audit.detail('engine', engine.name);
  return json(201, engineJson(engine), { location: `/v1/dynamic/engines/${engine.name}` });
};

const putRole = async ({ dynamicConfig }: Services, { principal, params, body, audit }: RoleRequest<z.infer<typeof roleBody>>) => {
  const role = await dynamicConfig.putRole(principal, params.engine, params.role, {
    statements: {
      creation: body.creation_statements,
      revocation: body.revocation_statements ?? undefined,
      renewal: body.renew_statements ?? undefined,
      rollback: body.rollback_statements ?? undefined,
    },
    defaultTtlSeconds: body.default_ttl,
    maxTtlSeconds: body.max_ttl,
    maxLeases: body.max_leases ?? undefined,
  });
  audit.detail('engine', role.engine);
  audit.detail('role', role.name);
  return json(200, roleJson(role));
};

const issueCreds = async ({ leases }: Services, { principal, params, body, audit }: RoleRequest<z.infer<typeof credsBody>>) => {
  const issued = await leases.issue(principal, params.engine, params.role, body.ttl ?? undefined);
  // The lease and the user name are facts; the password is in the answer only, never in the trail.
  audit.detail('lease_id', issued.lease.leaseId);
  audit.detail('username', issued.lease.username);
  return json(201, credentialJson(issued), { 'cache-control': 'no-store' });
};

const renewLease = async ({ leases }: Services, { principal, body, audit }: RouteRequest<z.infer<typeof renewBody>>) => {
  audit.detail('lease_id', body.lease_id);
  const lease = await leases.renew(principal, body.lease_id, body.increment ?? undefined);
  return json(200, leaseJson(lease));
};

const revokeLease = async ({ leases }: Services, { principal, body, audit }: RouteRequest<z.infer<typeof leaseIdBody>>) => {
  audit.detail('lease_id', body.lease_id);
  const result = await leases.revoke(principal, body.lease_id);
  audit.detail('revoked', result.revoked);
  // Not revoked yet: the lease stays with the scheduler's retries, and the answer shows how it stands.
  return result.revoked ? noContent() : json(202, leaseJson(result.lease));
};

const revokePrefix = async ({ leases }: Services, { principal, body, audit }: RouteRequest<z.infer<typeof prefixBody>>) => {
  const result = await leases.revokePrefix(principal, body.prefix);
  audit.detail('prefix', body.prefix);
  audit.detail('revoked', result.revoked);
  audit.detail('pending', result.pending);
  return json(200, result);
};

const listLeases = async ({ leases }: Services, { principal, query }: RouteRequest<undefined, z.infer<typeof leasesQuery>>) => {
  const page = await leases.list(principal, query.prefix, query.limit ?? 100, query.cursor);
  const now = Date.now();
  return json(200, { leases: page.items.map((lease) => leaseJson(lease, now)), next_cursor: page.nextCursor ?? null });
};

const route = routesOver<Services>();
const admin = { category: 'dynamic', rateLimit: 'admin', capability: 'admin' } as const;
const engineRoutes = [
  route.authenticated({
    ...admin,
    method: 'POST',
    pattern: '/v1/dynamic/engines',
    audit: 'dynamic.engine.create',
    summary: 'Configure a PostgreSQL engine; its database must answer',
    request: { body: engineBody },
    responses: { 201: { description: 'The engine', schema: engineSchema } },
    handle: createEngine,
  }),
  route.authenticated({
    ...admin,
    method: 'GET',
    pattern: '/v1/dynamic/engines',
    summary: 'Engines the caller administers, with their health',
    responses: { 200: { description: 'Engines', schema: engineListSchema } },
    handle: async ({ dynamicConfig }: Services, { principal }: RouteRequest) =>
      json(200, { engines: (await dynamicConfig.listEngines(principal)).map(engineJson) }),
  }),
  route.authenticated({
    ...admin,
    method: 'GET',
    pattern: '/v1/dynamic/engines/{engine}',
    summary: 'Read an engine and its last probe',
    request: { params: engineParams },
    responses: { 200: { description: 'The engine', schema: engineSchema } },
    handle: async ({ dynamicConfig }: Services, { principal, params }: EngineRequest) =>
      json(200, engineJson(await dynamicConfig.getEngine(principal, params.engine))),
  }),
  route.authenticated({
    ...admin,
    method: 'DELETE',
    pattern: '/v1/dynamic/engines/{engine}',
    audit: 'dynamic.engine.delete',
    summary: 'Delete an engine that has no leases left, with its roles',
    request: { params: engineParams },
    responses: { 204: { description: 'Deleted' } },
    handle: async ({ dynamicConfig }: Services, { principal, params }: EngineRequest) => {
      await dynamicConfig.deleteEngine(principal, params.engine);
      return noContent();
    },
  }),
];

const roleRoutes = [
  route.authenticated({
    ...admin,
    method: 'PUT',
    pattern: '/v1/dynamic/engines/{engine}/roles/{role}',
    audit: 'dynamic.role.write',
    summary: 'Create or replace a role; its statements are dry-run in a transaction that is rolled back',
    request: { params: roleParams, body: roleBody },
    responses: { 200: { description: 'The role', schema: roleSchema } },
    handle: putRole,
  }),
  route.authenticated({
    ...admin,
    method: 'GET',
    pattern: '/v1/dynamic/engines/{engine}/roles',
    summary: "An engine's roles",
    request: { params: engineParams },
    responses: { 200: { description: 'Roles', schema: roleListSchema } },
    handle: async ({ dynamicConfig }: Services, { principal, params }: EngineRequest) =>
      json(200, { roles: (await dynamicConfig.listRoles(principal, params.engine)).map(roleJson) }),
  }),
  route.authenticated({
    ...admin,
    method: 'GET',
    pattern: '/v1/dynamic/engines/{engine}/roles/{role}',
    summary: 'Read a role and its count of active leases',
    request: { params: roleParams },
    responses: { 200: { description: 'The role', schema: roleSchema } },
    handle: async ({ dynamicConfig }: Services, { principal, params }: RoleRequest) =>
      json(200, roleJson(await dynamicConfig.getRole(principal, params.engine, params.role))),
  }),
  route.authenticated({
    ...admin,
    method: 'DELETE',
    pattern: '/v1/dynamic/engines/{engine}/roles/{role}',
    audit: 'dynamic.role.delete',
    summary: 'Delete a role; its leases stay revocable',
    request: { params: roleParams },
    responses: { 204: { description: 'Deleted' } },
    handle: async ({ dynamicConfig }: Services, { principal, params }: RoleRequest) => {
      await dynamicConfig.deleteRole(principal, params.engine, params.role);
      return noContent();
    },
  }),
];

const lease = { category: 'leases' } as const;
const leaseRoutes = [
  route.authenticated({
    category: 'dynamic_creds',
    rateLimit: 'write',
    capability: 'read',
    method: 'POST',
    pattern: '/v1/dynamic/{engine}/creds/{role}',
    audit: 'lease.create',
    summary: 'Create a database user for the caller: username, password (shown once), lease_id and ttl',
    request: { params: roleParams, body: credsBody, bodyOptional: true },
    responses: { 201: { description: 'The credential and its lease', schema: credentialSchema } },
    handle: issueCreds,
  }),
  route.authenticated({
    ...lease,
    rateLimit: 'write',
    capability: 'read',
    method: 'POST',
    pattern: '/v1/leases/renew',
    audit: 'lease.renew',
    summary: "Extend a lease by increment (the role's default_ttl) from now, never past its max_ttl",
    request: { body: renewBody },
    responses: { 200: { description: 'The lease', schema: leaseSchema } },
    handle: renewLease,
  }),
  route.authenticated({
    ...lease,
    rateLimit: 'write',
    capability: 'delete',
    method: 'POST',
    pattern: '/v1/leases/revoke',
    audit: 'lease.revoke',
    summary: 'Revoke a lease now (204); if the database does not answer, 202 and the scheduler retries',
    request: { body: leaseIdBody },
    responses: { 204: { description: 'Revoked' }, 202: { description: 'Not yet revoked: retried with backoff', schema: leaseSchema } },
    handle: revokeLease,
  }),
  route.authenticated({
    ...lease,
    rateLimit: 'write',
    capability: 'delete',
    method: 'POST',
    pattern: '/v1/leases/revoke-prefix',
    audit: 'lease.revoke_prefix',
    summary: 'Revoke every lease under dynamic/<engine>/[creds/<role>/]',
    request: { body: prefixBody },
    responses: { 200: { description: 'How many were revoked and how many wait for retries', schema: revokePrefixSchema } },
    handle: revokePrefix,
  }),
  route.authenticated({
    ...lease,
    rateLimit: 'list',
    capability: 'list',
    method: 'GET',
    pattern: '/v1/leases',
    audit: 'lease.list',
    summary: 'Lease metadata under a prefix (never credentials), with failed revocations and their last error',
    request: { query: leasesQuery },
    responses: { 200: { description: 'A page of leases', schema: leaseListSchema } },
    handle: listLeases,
  }),
];

export const dynamicRoutes: RouteGroup<Services> = { name: 'leases', routes: [...engineRoutes, ...roleRoutes, ...leaseRoutes] };

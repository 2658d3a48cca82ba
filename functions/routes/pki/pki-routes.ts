// `/v1/pki`: tenant CAs, roles, issue and sign, the certificate inventory and
// revocation; the CRL and OCSP responder of each CA are unauthenticated.
import * as z from 'zod/mini';
import type { Principal } from '../../domain/auth/principal.js';
import type { CaService } from '../../domain/pki/ca-service.js';
import type { IssuerService } from '../../domain/pki/issuer-service.js';
import { EXT_KEY_USAGES, KEY_USAGES } from '../../domain/pki/role-policy.js';
import { REVOCATION_REASONS, type RevocationReason } from '../../domain/pki/revocation-reasons.js';
import type { RevocationService } from '../../domain/pki/revocation-service.js';
import { CA_KEY_TYPES } from '../../domain/ports/pki.js';
import { json, noContent } from '../../http/responses.js';
import { routesOver, type PublicRequest, type Reply, type Responses, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional, positiveIntegerQuery } from '../schemas.js';
import {
  caJson,
  caListSchema,
  caSchema,
  certificateJson,
  certificateListSchema,
  certificateSchema,
  issuedJson,
  issuedSchema,
  roleJson,
  roleListSchema,
  roleSchema,
} from './pki-json.js';

export interface PkiRouteServices {
  /** What the routes call: every member async, so the api can compose the PKI on its first call (lazy-services.ts). */
  readonly pki: {
    readonly cas: Pick<CaService, 'list' | 'get' | 'importCa' | 'importSigned' | 'createRoot' | 'createIntermediate'>;
    readonly issuer: Pick<IssuerService, 'issue' | 'sign' | 'putRole' | 'getRole' | 'listRoles' | 'deleteRole'>;
    readonly revocation: Pick<RevocationService, 'revoke' | 'crl' | 'ocsp' | 'tidy' | 'listCertificates' | 'getCertificate'>;
  };
}

const MAX_TTL = 30 * 365 * 86_400;
const keyType = z.enum(CA_KEY_TYPES);
const ttl = z.int().check(z.gte(60), z.lte(MAX_TTL));
const pem = z.string().check(z.minLength(1), z.maxLength(64 * 1024));

const caParams = z.strictObject({ ca: z.string().check(z.minLength(1), z.maxLength(64)) });
const roleParams = z.strictObject({ ca: z.string().check(z.minLength(1), z.maxLength(64)), role: z.string().check(z.minLength(1), z.maxLength(64)) });
const serialParams = z.strictObject({ ca: z.string().check(z.minLength(1), z.maxLength(64)), serial: z.string().check(z.minLength(1), z.maxLength(100)) });
const ocspGetParams = z.strictObject({ ca: z.string().check(z.minLength(1), z.maxLength(64)), request: z.string().check(z.minLength(1), z.maxLength(4096)) });

const createCaBody = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.enum(['root', 'intermediate']),
    name: z.string().check(z.minLength(1), z.maxLength(128)),
    common_name: z.string().check(z.minLength(1), z.maxLength(256)),
    key_type: z._default(keyType, 'ec-p256'),
    key_backend: z._default(z.enum(['sealed', 'kms']), 'sealed'),
    ttl: z._default(ttl, 10 * 365 * 86_400).check(z.describe('seconds (root only)')),
  }),
  z.strictObject({
    type: z.literal('import'),
    name: z.string().check(z.minLength(1), z.maxLength(128)),
    certificate: pem,
    private_key: pem.check(z.describe('PEM, unencrypted; sealed at once and never returned')),
    chain: z._default(z.array(pem).check(z.maxLength(8)), []),
  }),
]);
const signedCertificateBody = z.strictObject({ certificate: pem, chain: z._default(z.array(pem).check(z.maxLength(8)), []) });
const roleBody = z.strictObject({
  allowed_domains: z._default(z.array(z.string().check(z.minLength(1), z.maxLength(253))).check(z.maxLength(100)), []),
  allow_subdomains: z._default(z.boolean(), false),
  allow_glob_domains: z._default(z.boolean(), false),
  allow_bare_domains: z._default(z.boolean(), true),
  allow_ip_sans: z._default(z.boolean(), false),
  key_types: z._default(z.array(keyType).check(z.minLength(1)), ['ec-p256']),
  ttl: z._default(ttl, 30 * 86_400),
  max_ttl: z._default(ttl, 90 * 86_400),
  key_usage: z._default(z.array(z.enum(KEY_USAGES)), ['digitalSignature', 'keyEncipherment']),
  ext_key_usage: z._default(z.array(z.enum(EXT_KEY_USAGES)), ['serverAuth']),
  on_ca_expiry: z._default(z.enum(['refuse', 'truncate']), 'refuse'),
});
const issueBody = z.strictObject({
  common_name: z._default(z.string().check(z.maxLength(256)), ''),
  alt_names: z._default(z.array(z.string().check(z.maxLength(253))).check(z.maxLength(100)), []),
  ip_sans: z._default(z.array(z.string().check(z.maxLength(45))).check(z.maxLength(100)), []),
  ttl: optional(ttl),
  key_type: optional(keyType),
});
const signBody = z.strictObject({ csr: pem, ttl: optional(ttl) });
const revokeBody = z.strictObject({
  serial: z.string().check(z.minLength(1), z.maxLength(100)),
  reason: z._default(z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]]), 'unspecified'),
});
const listQuery = z.strictObject({ limit: positiveIntegerQuery(500), cursor: z.optional(z.string()) });

type CaRequest<B = undefined, Q = unknown> = RouteRequest<B, Q, z.infer<typeof caParams>>;
type RoleRequest<B = undefined> = RouteRequest<B, unknown, z.infer<typeof roleParams>>;

/** A generated root, or an intermediate's key and CSR. */
const createGenerated = (cas: PkiRouteServices['pki']['cas'], principal: Principal, body: Exclude<z.infer<typeof createCaBody>, { type: 'import' }>) => {
  const spec = { name: body.name, commonName: body.common_name, keyType: body.key_type, keyBackend: body.key_backend, ttlSeconds: body.ttl };
  return body.type === 'root' ? cas.createRoot(principal, spec) : cas.createIntermediate(principal, spec);
};

const createCa = async ({ pki }: PkiRouteServices, { principal, body, audit }: RouteRequest<z.infer<typeof createCaBody>>) => {
  const ca =
    body.type === 'import'
      ? await pki.cas.importCa(principal, { name: body.name, certificatePem: body.certificate, privateKeyPem: body.private_key, chainPem: body.chain })
      : await createGenerated(pki.cas, principal, body);
  audit.detail('ca_id', ca.caId);
  return json(201, caJson(ca), { location: `/v1/pki/cas/${ca.caId}` });
};

const roleOf = (caId: string, name: string, body: z.infer<typeof roleBody>) => ({
  caId,
  name,
  allowedDomains: body.allowed_domains,
  allowSubdomains: body.allow_subdomains,
  allowGlobs: body.allow_glob_domains,
  allowBareDomains: body.allow_bare_domains,
  allowIpSans: body.allow_ip_sans,
  keyTypes: body.key_types,
  defaultTtlSeconds: body.ttl,
  maxTtlSeconds: body.max_ttl,
  keyUsages: body.key_usage,
  extKeyUsages: body.ext_key_usage,
  onCaExpiry: body.on_ca_expiry,
});

const issued = (audit: RouteRequest['audit'], result: Awaited<ReturnType<IssuerService['sign']>>) => {
  audit.detail('serial', result.serial);
  return json(200, issuedJson(result), { 'cache-control': 'no-store' });
};

const binary = (contentType: string, bytes: Uint8Array, maxAge: number): Reply => ({
  statusCode: 200,
  headers: { 'content-type': contentType, 'cache-control': `public, max-age=${maxAge}` },
  body: Buffer.from(bytes).toString('base64'),
  isBase64Encoded: true,
});

const crlMaxAge = (nextUpdate: string): number => Math.min(300, Math.max(0, Math.floor((Date.parse(nextUpdate) - Date.now()) / 1000)));

const crlDer = async ({ pki }: PkiRouteServices, { params }: PublicRequest<undefined, unknown, z.infer<typeof caParams>>) => {
  const current = await pki.revocation.crl(params.ca);
  return binary('application/pkix-crl', current.der, crlMaxAge(current.nextUpdate));
};

const crlPem = async ({ pki }: PkiRouteServices, { params }: PublicRequest<undefined, unknown, z.infer<typeof caParams>>) => {
  const current = await pki.revocation.crl(params.ca);
  const base64 = Buffer.from(current.der)
    .toString('base64')
    .replace(/(.{64})(?!$)/g, '$1\n');
  const body = `-----BEGIN X509 CRL-----\n${base64}\n-----END X509 CRL-----\n`;
  return { statusCode: 200, headers: { 'content-type': 'application/x-pem-file', 'cache-control': `public, max-age=${crlMaxAge(current.nextUpdate)}` }, body };
};

const ocspPost = async ({ pki }: PkiRouteServices, { params, event }: PublicRequest<undefined, unknown, z.infer<typeof caParams>>) => {
  const raw = event.body ? Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'binary') : Buffer.alloc(0);
  return binary('application/ocsp-response', await pki.revocation.ocsp(params.ca, raw), 0);
};

const ocspGet = async ({ pki }: PkiRouteServices, { params }: PublicRequest<undefined, unknown, z.infer<typeof ocspGetParams>>) =>
  binary('application/ocsp-response', await pki.revocation.ocsp(params.ca, Buffer.from(decodeURIComponent(params.request), 'base64')), 0);

const route = routesOver<PkiRouteServices>();
const pkiAdmin = { category: 'pki', rateLimit: 'admin' } as const;
const pkiIssue = { category: 'pki', rateLimit: 'write' } as const;
const pkiRead = { category: 'pki', rateLimit: 'read' } as const;
/** The CRL and OCSP routes relying parties call without a token (no rate limit either, as for health probes). */
const unauthenticated = <P>(
  method: string,
  pattern: string,
  summary: string,
  responses: Responses,
  handle: (services: PkiRouteServices, request: PublicRequest<undefined, unknown, P>) => Promise<Reply>,
  params: z.ZodMiniType<P, Record<string, string>> = caParams as unknown as z.ZodMiniType<P, Record<string, string>>,
) => route.public({ category: 'pki', rateLimit: null, method, pattern, summary: `${summary}, unauthenticated`, request: { params }, responses, handle });
const ocspSpec = { 200: { description: 'A DER OCSP response (RFC 6960), signed by the CA', contentType: 'application/ocsp-response' } };

export const pkiRoutes: RouteGroup<PkiRouteServices> = {
  name: 'pki',
  routes: [
    route.authenticated({
      ...pkiAdmin,
      capability: 'admin',
      audit: 'pki.ca_create',
      method: 'POST',
      pattern: '/v1/pki/cas',
      summary: 'Create a root, an intermediate (as a CSR), or import an existing CA with its key',
      request: { body: createCaBody },
      responses: { 201: { description: 'The CA', schema: caSchema } },
      handle: createCa,
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'list',
      method: 'GET',
      pattern: '/v1/pki/cas',
      summary: "List the tenant's CAs",
      responses: { 200: { description: 'CAs', schema: caListSchema } },
      handle: async ({ pki }, { principal }) => json(200, { cas: (await pki.cas.list(principal)).map(caJson) }),
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'read',
      method: 'GET',
      pattern: '/v1/pki/cas/{ca}',
      summary: 'Read a CA (its certificate, chain, or pending CSR)',
      request: { params: caParams },
      responses: { 200: { description: 'The CA', schema: caSchema } },
      handle: async ({ pki }, { principal, params }: CaRequest) => json(200, caJson(await pki.cas.get(principal, params.ca))),
    }),
    route.authenticated({
      ...pkiAdmin,
      capability: 'admin',
      audit: 'pki.ca_import_signed',
      method: 'POST',
      pattern: '/v1/pki/cas/{ca}/signed-certificate',
      summary: 'Complete a pending intermediate with the certificate its parent signed for its CSR',
      request: { params: caParams, body: signedCertificateBody },
      responses: { 200: { description: 'The CA, now active', schema: caSchema } },
      handle: async ({ pki }, { principal, params, body }: CaRequest<z.infer<typeof signedCertificateBody>>) =>
        json(200, caJson(await pki.cas.importSigned(principal, params.ca, body.certificate, body.chain))),
    }),
    route.authenticated({
      ...pkiAdmin,
      capability: 'admin',
      audit: 'pki.role_write',
      method: 'PUT',
      pattern: '/v1/pki/cas/{ca}/roles/{role}',
      summary: 'Create or replace a role: what certificates the CA may issue under it',
      request: { params: roleParams, body: roleBody },
      responses: { 200: { description: 'The role', schema: roleSchema } },
      handle: async ({ pki }, { principal, params, body }: RoleRequest<z.infer<typeof roleBody>>) =>
        json(200, roleJson(await pki.issuer.putRole(principal, roleOf(params.ca, params.role, body)))),
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'list',
      method: 'GET',
      pattern: '/v1/pki/cas/{ca}/roles',
      summary: "List a CA's roles",
      request: { params: caParams },
      responses: { 200: { description: 'Roles', schema: roleListSchema } },
      handle: async ({ pki }, { principal, params }: CaRequest) => json(200, { roles: (await pki.issuer.listRoles(principal, params.ca)).map(roleJson) }),
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'read',
      method: 'GET',
      pattern: '/v1/pki/cas/{ca}/roles/{role}',
      summary: 'Read a role',
      request: { params: roleParams },
      responses: { 200: { description: 'The role', schema: roleSchema } },
      handle: async ({ pki }, { principal, params }: RoleRequest) => json(200, roleJson(await pki.issuer.getRole(principal, params.ca, params.role))),
    }),
    route.authenticated({
      ...pkiAdmin,
      capability: 'admin',
      audit: 'pki.role_delete',
      method: 'DELETE',
      pattern: '/v1/pki/cas/{ca}/roles/{role}',
      summary: 'Delete a role',
      request: { params: roleParams },
      responses: { 204: { description: 'Deleted' } },
      handle: async ({ pki }, { principal, params }: RoleRequest) => {
        await pki.issuer.deleteRole(principal, params.ca, params.role);
        return noContent();
      },
    }),
    route.authenticated({
      ...pkiIssue,
      capability: 'write',
      audit: 'pki.issue',
      method: 'POST',
      pattern: '/v1/pki/cas/{ca}/issue/{role}',
      summary: 'Generate a key and certify it under a role; the private key is in this answer only',
      request: { params: roleParams, body: issueBody },
      responses: { 200: { description: 'The certificate, its chain and private key', schema: issuedSchema } },
      handle: async ({ pki }, { principal, params, body, audit }: RoleRequest<z.infer<typeof issueBody>>) =>
        issued(
          audit,
          await pki.issuer.issue(principal, params.ca, params.role, {
            commonName: body.common_name,
            altNames: body.alt_names,
            ipSans: body.ip_sans,
            ttlSeconds: body.ttl ?? undefined,
            keyType: body.key_type ?? undefined,
          }),
        ),
    }),
    route.authenticated({
      ...pkiIssue,
      capability: 'write',
      audit: 'pki.sign',
      method: 'POST',
      pattern: '/v1/pki/cas/{ca}/sign/{role}',
      summary: 'Certify a CSR under a role',
      request: { params: roleParams, body: signBody },
      responses: { 200: { description: 'The certificate and its chain', schema: issuedSchema } },
      handle: async ({ pki }, { principal, params, body, audit }: RoleRequest<z.infer<typeof signBody>>) =>
        issued(audit, await pki.issuer.sign(principal, params.ca, params.role, body.csr, body.ttl ?? undefined)),
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'list',
      method: 'GET',
      pattern: '/v1/pki/cas/{ca}/certificates',
      summary: "The CA's certificate inventory",
      request: { params: caParams, query: listQuery },
      responses: { 200: { description: 'A page of certificates', schema: certificateListSchema } },
      handle: async ({ pki }, { principal, params, query }: CaRequest<undefined, z.infer<typeof listQuery>>) => {
        const page = await pki.revocation.listCertificates(principal, params.ca, query.limit ?? 100, query.cursor);
        return json(200, { certificates: page.items.map(certificateJson), next_cursor: page.nextCursor ?? null });
      },
    }),
    route.authenticated({
      ...pkiRead,
      capability: 'read',
      method: 'GET',
      pattern: '/v1/pki/cas/{ca}/certificates/{serial}',
      summary: 'A certificate of the inventory',
      request: { params: serialParams },
      responses: { 200: { description: 'The certificate', schema: certificateSchema } },
      handle: async ({ pki }, { principal, params }: RouteRequest<undefined, unknown, z.infer<typeof serialParams>>) =>
        json(200, certificateJson(await pki.revocation.getCertificate(principal, params.ca, params.serial))),
    }),
    route.authenticated({
      ...pkiAdmin,
      capability: 'delete',
      audit: 'pki.revoke',
      method: 'POST',
      pattern: '/v1/pki/cas/{ca}/revoke',
      summary: 'Revoke a certificate by serial with an RFC 5280 reason; the CRL is rebuilt',
      request: { params: caParams, body: revokeBody },
      responses: { 200: { description: 'The revoked certificate', schema: certificateSchema } },
      handle: async ({ pki }, { principal, params, body, audit }: CaRequest<z.infer<typeof revokeBody>>) => {
        audit.detail('serial', body.serial);
        return json(200, certificateJson(await pki.revocation.revoke(principal, params.ca, body.serial, body.reason)));
      },
    }),
    route.authenticated({
      ...pkiAdmin,
      capability: 'admin',
      audit: 'pki.tidy',
      method: 'POST',
      pattern: '/v1/pki/cas/{ca}/tidy',
      summary: 'Remove certificates past not-after plus the buffer from the inventory and the CRL',
      request: { params: caParams },
      responses: { 200: { description: 'How many were removed', schema: z.object({ removed: z.int() }) } },
      handle: async ({ pki }, { principal, params }: CaRequest) => json(200, { removed: await pki.revocation.tidy(principal, params.ca) }),
    }),
    unauthenticated(
      'GET',
      '/v1/pki/{ca}/crl',
      "The CA's signed CRL (DER)",
      { 200: { description: 'The CRL, DER', contentType: 'application/pkix-crl' } },
      crlDer,
    ),
    unauthenticated(
      'GET',
      '/v1/pki/{ca}/crl/pem',
      "The CA's signed CRL (PEM)",
      { 200: { description: 'The CRL, PEM', contentType: 'application/x-pem-file' } },
      crlPem,
    ),
    unauthenticated('POST', '/v1/pki/{ca}/ocsp', 'OCSP (RFC 6960) over POST', ocspSpec, ocspPost),
    unauthenticated('GET', '/v1/pki/{ca}/ocsp/{request}', 'OCSP (RFC 6960) over GET: the base64 DER request in the path', ocspSpec, ocspGet, ocspGetParams),
  ],
};

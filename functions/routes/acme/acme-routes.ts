// `/v1/acme/...`: ACME providers and the certificates ScaiVault orders from them (policy
// paths `acme/providers/<name>`, `acme/certificates/<name>`, and `acme/certificates/<name>/key`
// for the private key), and the public HTTP-01 answers under `/.well-known/acme-challenge/`.
import * as z from 'zod/mini';
import type { AcmeService } from '../../domain/acme/acme-service.js';
import { json, noContent } from '../../http/responses.js';
import { routesOver, type PublicRequest, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { optional } from '../schemas.js';
import {
  certificateJson,
  certificateListSchema,
  certificateSchema,
  certificateWithKeySchema,
  providerJson,
  providerListSchema,
  providerSchema,
} from './acme-json.js';

export interface AcmeRouteServices {
  readonly acme: AcmeService;
}

const nameParams = z.strictObject({ name: z.string().check(z.minLength(1), z.maxLength(63)) });
const tokenParams = z.strictObject({ token: z.string().check(z.minLength(1), z.maxLength(256)) });
type NameRequest<B = undefined> = RouteRequest<B, unknown, z.infer<typeof nameParams>>;

const providerBody = z.strictObject({
  name: z.string().check(z.maxLength(63)),
  directory_url: z.string().check(z.maxLength(2048)),
  contact: optional(z.array(z.string().check(z.maxLength(320))).check(z.maxLength(8))),
  eab: optional(z.strictObject({ kid: z.string().check(z.minLength(1), z.maxLength(256)), hmac_key: z.string().check(z.minLength(1), z.maxLength(512)) })),
});

const certificateBody = z.strictObject({
  name: z.string().check(z.maxLength(63)),
  provider: z.string().check(z.maxLength(63)),
  domains: z.array(z.string().check(z.maxLength(253))).check(z.minLength(1), z.maxLength(100)),
  challenge_type: z.enum(['http-01', 'dns-01']),
  dns: optional(z.strictObject({ hosted_zone_id: z.string().check(z.regex(/^(\/hostedzone\/)?[A-Z0-9]{1,32}$/, 'must be a Route 53 hosted zone id')) })),
});

const createProvider = async ({ acme }: AcmeRouteServices, { principal, body, audit }: RouteRequest<z.infer<typeof providerBody>>) => {
  const provider = await acme.createProvider(principal, {
    name: body.name,
    directoryUrl: body.directory_url,
    contact: body.contact ?? [],
    eab: body.eab ? { kid: body.eab.kid, hmacKey: body.eab.hmac_key } : null,
  });
  audit.detail('provider', provider.name);
  return json(201, providerJson(provider), { location: `/v1/acme/providers/${provider.name}` });
};

const listProviders = async ({ acme }: AcmeRouteServices, { principal }: RouteRequest) =>
  json(200, { providers: (await acme.listProviders(principal)).map(providerJson) });

const readProvider = async ({ acme }: AcmeRouteServices, { principal, params }: NameRequest) =>
  json(200, providerJson(await acme.getProvider(principal, params.name)));

const deleteProvider = async ({ acme }: AcmeRouteServices, { principal, params }: NameRequest) => {
  await acme.deleteProvider(principal, params.name);
  return noContent();
};

const createCertificate = async ({ acme }: AcmeRouteServices, { principal, body, audit }: RouteRequest<z.infer<typeof certificateBody>>) => {
  const certificate = await acme.createCertificate(principal, {
    name: body.name,
    provider: body.provider,
    domains: body.domains,
    challengeType: body.challenge_type,
    hostedZoneId: body.dns?.hosted_zone_id.replace(/^\/hostedzone\//, '') ?? null,
  });
  audit.detail('provider', certificate.provider);
  audit.detail('domains', certificate.domains.length);
  // Ordered in the background by the scheduler: accepted, not yet issued.
  return json(202, certificateJson(certificate), { location: `/v1/acme/certificates/${certificate.name}` });
};

const listCertificates = async ({ acme }: AcmeRouteServices, { principal }: RouteRequest) =>
  json(200, { certificates: (await acme.listCertificates(principal)).map(certificateJson) });

const readCertificate = async ({ acme }: AcmeRouteServices, { principal, params }: NameRequest) =>
  json(200, certificateJson(await acme.getCertificate(principal, params.name)));

const readCertificateKey = async ({ acme }: AcmeRouteServices, { principal, params, audit }: NameRequest) => {
  const { certificate, privateKeyPem } = await acme.readPrivateKey(principal, params.name);
  audit.detail('serial', certificate.issued?.serial ?? '');
  return json(200, { ...certificateJson(certificate), private_key: privateKeyPem });
};

const renewCertificate = async ({ acme }: AcmeRouteServices, { principal, params }: NameRequest) =>
  json(202, certificateJson(await acme.renewNow(principal, params.name)));

const deleteCertificate = async ({ acme }: AcmeRouteServices, { principal, params }: NameRequest) => {
  await acme.deleteCertificate(principal, params.name);
  return noContent();
};

/** HTTP-01 (RFC 8555 section 8.3): the key authorization as the body, nothing else. */
const challengeAnswer = async ({ acme }: AcmeRouteServices, { params }: PublicRequest<undefined, unknown, z.infer<typeof tokenParams>>) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' },
  body: await acme.challengeAnswer(params.token),
});

const route = routesOver<AcmeRouteServices>();
const providers = { category: 'acme', rateLimit: 'admin' } as const;
const certificates = { category: 'acme', rateLimit: 'write' } as const;
const reads = { category: 'acme', rateLimit: 'read' } as const;
const lists = { category: 'acme', rateLimit: 'list' } as const;

export const acmeRoutes: RouteGroup<AcmeRouteServices> = {
  name: 'acme',
  routes: [
    route.authenticated({
      ...providers,
      method: 'POST',
      pattern: '/v1/acme/providers',
      capability: 'write',
      audit: 'acme.provider.create',
      summary: 'Configure an ACME provider; its account key is generated and sealed, the account registered on first use',
      request: { body: providerBody },
      responses: { 201: { description: 'The provider', schema: providerSchema } },
      handle: createProvider,
    }),
    route.authenticated({
      ...lists,
      method: 'GET',
      pattern: '/v1/acme/providers',
      capability: 'list',
      audit: 'acme.provider.list',
      summary: "List the tenant's ACME providers",
      responses: { 200: { description: 'Providers', schema: providerListSchema } },
      handle: listProviders,
    }),
    route.authenticated({
      ...reads,
      method: 'GET',
      pattern: '/v1/acme/providers/{name}',
      capability: 'read',
      audit: 'acme.provider.read',
      summary: 'Read an ACME provider (never its keys)',
      request: { params: nameParams },
      responses: { 200: { description: 'The provider', schema: providerSchema } },
      handle: readProvider,
    }),
    route.authenticated({
      ...providers,
      method: 'DELETE',
      pattern: '/v1/acme/providers/{name}',
      capability: 'delete',
      audit: 'acme.provider.delete',
      summary: 'Delete an ACME provider no managed certificate uses',
      request: { params: nameParams },
      responses: { 204: { description: 'Deleted' } },
      handle: deleteProvider,
    }),
    route.authenticated({
      ...certificates,
      method: 'POST',
      pattern: '/v1/acme/certificates',
      capability: 'write',
      audit: 'acme.certificate.create',
      summary: 'Manage a certificate: the scheduler orders it, and renews it when a third of its lifetime remains',
      request: { body: certificateBody },
      responses: { 202: { description: 'Accepted; ordered in the background', schema: certificateSchema } },
      handle: createCertificate,
    }),
    route.authenticated({
      ...lists,
      method: 'GET',
      pattern: '/v1/acme/certificates',
      capability: 'list',
      audit: 'acme.certificate.list',
      summary: "List the tenant's managed certificates",
      responses: { 200: { description: 'Managed certificates', schema: certificateListSchema } },
      handle: listCertificates,
    }),
    route.authenticated({
      ...reads,
      method: 'GET',
      pattern: '/v1/acme/certificates/{name}',
      capability: 'read',
      audit: 'acme.certificate.read',
      summary: 'Read a managed certificate: status, certificate and chain (never the key)',
      request: { params: nameParams },
      responses: { 200: { description: 'The managed certificate', schema: certificateSchema } },
      handle: readCertificate,
    }),
    route.authenticated({
      ...reads,
      method: 'GET',
      pattern: '/v1/acme/certificates/{name}/key',
      capability: 'read',
      audit: 'acme.certificate.key_read',
      summary: 'Read a managed certificate with its private key: needs read on acme/certificates/<name>/key',
      request: { params: nameParams },
      responses: { 200: { description: 'The managed certificate and its private key', schema: certificateWithKeySchema } },
      handle: readCertificateKey,
    }),
    route.authenticated({
      ...certificates,
      method: 'POST',
      pattern: '/v1/acme/certificates/{name}/renew',
      capability: 'rotate',
      audit: 'acme.certificate.renew',
      summary: "Order again at the scheduler's next run",
      request: { params: nameParams },
      responses: { 202: { description: 'Accepted', schema: certificateSchema } },
      handle: renewCertificate,
    }),
    route.authenticated({
      ...certificates,
      method: 'DELETE',
      pattern: '/v1/acme/certificates/{name}',
      capability: 'delete',
      audit: 'acme.certificate.delete',
      summary: 'Stop managing a certificate (issued certificates stay in the inventory)',
      request: { params: nameParams },
      responses: { 204: { description: 'Deleted' } },
      handle: deleteCertificate,
    }),
    route.public({
      method: 'GET',
      pattern: '/.well-known/acme-challenge/{token}',
      category: 'acme_challenge',
      rateLimit: null,
      summary: "HTTP-01 answers for ScaiVault's own pending ACME orders (unauthenticated, as RFC 8555 requires)",
      request: { params: tokenParams },
      responses: { 200: { description: 'The key authorization', contentType: 'application/octet-stream' } },
      handle: challengeAnswer,
    }),
  ],
};

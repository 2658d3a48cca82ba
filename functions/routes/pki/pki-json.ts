// The PKI's JSON answers and their schemas. No private key appears here except
// `issue`'s, returned once.
import * as z from 'zod/mini';
import type { IssuedCertificate } from '../../domain/pki/issuer-service.js';
import type { CaRecord, RoleRecord, StoredCertificate } from '../../domain/ports/pki.js';
import { nextCursor, nullableTimestamp, timestamp } from '../schemas.js';

export const caSchema = z
  .object({
    ca_id: z.string(),
    name: z.string(),
    kind: z.enum(['root', 'intermediate']),
    status: z.enum(['active', 'pending']),
    key_type: z.string(),
    key_backend: z.enum(['sealed', 'kms']),
    certificate: z.nullable(z.string()).check(z.describe('PEM; null while an intermediate waits for its signed certificate')),
    chain: z.array(z.string()).check(z.describe('the issuers above this CA, nearest first, PEM')),
    csr: z
      .nullable(z.string())
      .check(z.describe('PEM PKCS #10 request of a pending intermediate: have its parent sign it, then POST the result to /signed-certificate')),
    not_after: nullableTimestamp,
    created_at: timestamp,
    crl_url: z.string(),
    ocsp_url: z.string(),
  })
  .check(z.meta({ id: 'CertificateAuthority' }));

export const caListSchema = z.object({ cas: z.array(caSchema) });

export const caJson = (ca: CaRecord) => ({
  ca_id: ca.caId,
  name: ca.name,
  kind: ca.kind,
  status: ca.status,
  key_type: ca.keyType,
  key_backend: ca.keyBackend,
  certificate: ca.certificatePem,
  chain: [...ca.chainPem],
  csr: ca.csrPem,
  not_after: ca.notAfter,
  created_at: ca.createdAt,
  crl_url: `/v1/pki/${ca.caId}/crl`,
  ocsp_url: `/v1/pki/${ca.caId}/ocsp`,
});

export const roleSchema = z
  .object({
    name: z.string(),
    ca_id: z.string(),
    allowed_domains: z.array(z.string()),
    allow_subdomains: z.boolean(),
    allow_glob_domains: z.boolean(),
    allow_bare_domains: z.boolean(),
    allow_ip_sans: z.boolean(),
    key_types: z.array(z.string()),
    ttl: z.int(),
    max_ttl: z.int(),
    key_usage: z.array(z.string()),
    ext_key_usage: z.array(z.string()),
    on_ca_expiry: z.enum(['refuse', 'truncate']),
    updated_at: timestamp,
  })
  .check(z.meta({ id: 'PkiRole' }));

export const roleListSchema = z.object({ roles: z.array(roleSchema) });

export const roleJson = (role: RoleRecord) => ({
  name: role.name,
  ca_id: role.caId,
  allowed_domains: [...role.allowedDomains],
  allow_subdomains: role.allowSubdomains,
  allow_glob_domains: role.allowGlobs,
  allow_bare_domains: role.allowBareDomains,
  allow_ip_sans: role.allowIpSans,
  key_types: [...role.keyTypes],
  ttl: role.defaultTtlSeconds,
  max_ttl: role.maxTtlSeconds,
  key_usage: [...role.keyUsages],
  ext_key_usage: [...role.extKeyUsages],
  on_ca_expiry: role.onCaExpiry,
  updated_at: role.updatedAt,
});

export const issuedSchema = z
  .object({
    serial: z.string().check(z.describe('lowercase hex')),
    certificate: z.string(),
    issuing_ca: z.string(),
    ca_chain: z.array(z.string()).check(z.describe('the issuing CA first, up to the root')),
    not_after: timestamp,
    private_key: z.optional(z.string()).check(z.describe('issue only: PKCS #8 PEM, shown once and never stored')),
  })
  .check(z.meta({ id: 'IssuedCertificate' }));

export const issuedJson = (issued: IssuedCertificate) => ({
  serial: issued.serial,
  certificate: issued.certificatePem,
  issuing_ca: issued.chainPem[0] ?? '',
  ca_chain: [...issued.chainPem],
  not_after: issued.notAfter.toISOString(),
  ...(issued.privateKeyPem ? { private_key: issued.privateKeyPem } : {}),
});

export const certificateSchema = z
  .object({
    serial: z.string(),
    ca_id: z.string(),
    common_name: z.string(),
    sans: z.array(z.string()),
    not_before: timestamp,
    not_after: timestamp,
    role: z.string(),
    issuer_type: z.string(),
    state: z.enum(['active', 'revoked']),
    revoked_at: nullableTimestamp,
    revocation_reason: z.nullable(z.int()),
    certificate: z.string(),
  })
  .check(z.meta({ id: 'InventoryCertificate' }));

export const certificateListSchema = z.object({ certificates: z.array(certificateSchema), next_cursor: nextCursor });

export const certificateJson = (cert: StoredCertificate) => ({
  serial: cert.serial,
  ca_id: cert.caId,
  common_name: cert.commonName,
  sans: [...cert.sans],
  not_before: cert.notBefore,
  not_after: cert.notAfter,
  role: cert.role,
  issuer_type: cert.issuerType,
  state: cert.state,
  revoked_at: cert.revokedAt,
  revocation_reason: cert.revocationReason,
  certificate: cert.certificatePem,
});

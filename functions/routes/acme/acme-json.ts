// ACME providers and managed certificates on the wire: never a sealed value, never a key
// except in the private-key answer.
import * as z from 'zod/mini';
import type { AcmeProviderRecord, ManagedCertificateRecord } from '../../domain/ports/acme.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

export const providerSchema = z
  .strictObject({
    name: z.string(),
    directory_url: z.string(),
    contact: z.array(z.string()),
    eab_kid: z.nullable(z.string()).check(z.describe('the External Account Binding key id; the HMAC key is sealed and never shown')),
    account_registered: z.boolean().check(z.describe('the ACME account is registered on the first order')),
    created_at: timestamp,
  })
  .check(z.meta({ id: 'AcmeProvider' }));

export const providerListSchema = z.strictObject({ providers: z.array(providerSchema) });

export const providerJson = (provider: AcmeProviderRecord): z.infer<typeof providerSchema> => ({
  name: provider.name,
  directory_url: provider.directoryUrl,
  contact: [...provider.contact],
  eab_kid: provider.eab?.kid ?? null,
  account_registered: provider.accountUrl !== null,
  created_at: provider.createdAt,
});

const certificateFields = {
  name: z.string(),
  provider: z.string(),
  domains: z.array(z.string()),
  challenge_type: z.enum(['http-01', 'dns-01']),
  hosted_zone_id: z.nullable(z.string()),
  status: z.enum(['pending', 'valid', 'renewal_failed']),
  next_attempt_at: timestamp.check(z.describe('when the scheduler next orders: renewal at two thirds of the lifetime, or a retry')),
  failures: z.int(),
  last_error: z.nullable(z.string()),
  serial: z.nullable(z.string()),
  not_before: nullableTimestamp,
  not_after: nullableTimestamp,
  issued_at: nullableTimestamp,
  certificate: z.nullable(z.string()).check(z.describe('the leaf certificate, PEM')),
  chain: z.nullable(z.string()).check(z.describe('the issuer certificates after the leaf, PEM')),
  created_at: timestamp,
  updated_at: timestamp,
};

export const certificateSchema = z.strictObject(certificateFields).check(z.meta({ id: 'AcmeCertificate' }));
export const certificateWithKeySchema = z.strictObject({ ...certificateFields, private_key: z.string().check(z.describe('PKCS#8 PEM')) });
export const certificateListSchema = z.strictObject({ certificates: z.array(certificateSchema) });

export const certificateJson = (certificate: ManagedCertificateRecord): z.infer<typeof certificateSchema> => ({
  name: certificate.name,
  provider: certificate.provider,
  domains: [...certificate.domains],
  challenge_type: certificate.challengeType,
  hosted_zone_id: certificate.hostedZoneId,
  status: certificate.status,
  next_attempt_at: certificate.nextAttemptAt,
  failures: certificate.failures,
  last_error: certificate.lastError,
  serial: certificate.issued?.serial ?? null,
  not_before: certificate.issued?.notBefore ?? null,
  not_after: certificate.issued?.notAfter ?? null,
  issued_at: certificate.issued?.issuedAt ?? null,
  certificate: certificate.issued?.certificatePem ?? null,
  chain: certificate.issued?.chainPem ?? null,
  created_at: certificate.createdAt,
  updated_at: certificate.updatedAt,
});

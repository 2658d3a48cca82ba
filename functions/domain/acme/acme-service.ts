// ACME providers and managed certificates as the API sees them. Ordering never
// happens here: a new certificate is recorded as due, and the scheduler orders it
// (functions/domain/acme/acme-renewals.ts).
import { generateKeyPairSync } from 'node:crypto';
import type { AuthService } from '../auth/auth-service.js';
import type { Principal } from '../auth/principal.js';
import type { KeyManager } from '../crypto/key-manager.js';
import type { SealContext } from '../crypto/envelope.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { AcmeChallengeStore, AcmeProviderRecord, AcmeRepository, ChallengeType, ManagedCertificateRecord } from '../ports/acme.js';
import type { EgressCheck } from '../ports/webhooks.js';
import { validateDirectoryUrl, validateDomains, validateHmacKey, validateName } from './acme-validation.js';

export const providerPath = (name: string): string => `acme/providers/${name}`;
export const certificatePath = (name: string): string => `acme/certificates/${name}`;
/** Reading a managed certificate's private key is its own policy path: `read` on `acme/certificates/<name>/key`. */
export const certificateKeyPath = (name: string): string => `${certificatePath(name)}/key`;

/** The sealed values' AAD: bound to the tenant and the provider (or certificate and its key generation). */
export const accountKeyContext = (tenantId: string, provider: string): SealContext => ({ tenantId, path: `${providerPath(provider)}#account-key`, version: 1 });
export const eabKeyContext = (tenantId: string, provider: string): SealContext => ({ tenantId, path: `${providerPath(provider)}#eab-hmac`, version: 1 });
export const certificateKeyContext = (tenantId: string, name: string, generation: number): SealContext => ({
  tenantId,
  path: `${certificatePath(name)}#private-key`,
  version: generation,
});

export interface CreateProviderInput {
  readonly name: string;
  readonly directoryUrl: string;
  readonly contact: readonly string[];
  readonly eab: { readonly kid: string; readonly hmacKey: string } | null;
}

export interface CreateCertificateInput {
  readonly name: string;
  readonly provider: string;
  readonly domains: readonly string[];
  readonly challengeType: ChallengeType;
  readonly hostedZoneId: string | null;
}

export class AcmeService {
  constructor(
    private readonly repository: AcmeRepository,
    private readonly challenges: Pick<AcmeChallengeStore, 'get'>,
    private readonly keys: KeyManager,
    private readonly auth: AuthService,
    private readonly egress: EgressCheck,
    private readonly now: () => number = Date.now,
  ) {}

  async createProvider(principal: Principal, input: CreateProviderInput): Promise<AcmeProviderRecord> {
    const name = validateName(input.name, 'name');
    await this.auth.require(principal, 'write', providerPath(name));
    const url = validateDirectoryUrl(input.directoryUrl);
    const refusal = await this.egress.refusal(url.hostname);
    if (refusal) throw new ValidationError(`directory_url is not reachable under the egress policy: ${refusal}`, 'directory_url');
    for (const contact of input.contact) {
      if (!/^mailto:[^\s@]+@[^\s@]+$/.test(contact)) throw new ValidationError('contact entries must be mailto: addresses', 'contact');
    }
    const hmacKey = input.eab ? validateHmacKey(input.eab.hmacKey) : undefined;
    const { tenantId } = principal;
    const keyId = await this.auth.activeKeyId(tenantId);
    // The account key never leaves the vault unsealed: generated here, registered with the CA on first use.
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    const provider: AcmeProviderRecord = {
      tenantId,
      name,
      directoryUrl: url.toString(),
      contact: input.contact,
      accountKey: await this.keys.seal(keyId, JSON.stringify(jwk), accountKeyContext(tenantId, name)),
      eab: input.eab && hmacKey ? { kid: input.eab.kid, hmacKey: await this.keys.seal(keyId, hmacKey, eabKeyContext(tenantId, name)) } : null,
      accountUrl: null,
      createdAt: new Date(this.now()).toISOString(),
    };
    if (!(await this.repository.putProvider(provider))) throw new ConflictError(`ACME provider ${name} exists`);
    return provider;
  }

  async getProvider(principal: Principal, name: string): Promise<AcmeProviderRecord> {
    await this.auth.require(principal, 'read', providerPath(validateName(name, 'name')));
    const provider = await this.repository.getProvider(principal.tenantId, name);
    if (!provider) throw new NotFoundError(`ACME provider ${name} not found`);
    return provider;
  }

  async listProviders(principal: Principal): Promise<AcmeProviderRecord[]> {
    await this.auth.require(principal, 'list', 'acme/providers');
    return this.repository.listProviders(principal.tenantId);
  }

  async deleteProvider(principal: Principal, name: string): Promise<void> {
    await this.auth.require(principal, 'delete', providerPath(validateName(name, 'name')));
    const users = (await this.repository.listCertificates(principal.tenantId)).filter((certificate) => certificate.provider === name);
    if (users.length > 0) throw new ConflictError(`ACME provider ${name} is used by ${users.length} managed certificate(s)`);
    if (!(await this.repository.deleteProvider(principal.tenantId, name))) throw new NotFoundError(`ACME provider ${name} not found`);
  }

  async createCertificate(principal: Principal, input: CreateCertificateInput): Promise<ManagedCertificateRecord> {
    const name = validateName(input.name, 'name');
    await this.auth.require(principal, 'write', certificatePath(name));
    const domains = validateDomains(input.domains, input.challengeType);
    if (input.challengeType === 'dns-01' && !input.hostedZoneId) throw new ValidationError('dns-01 needs dns.hosted_zone_id', 'dns.hosted_zone_id');
    // Only this tenant's providers exist for it: another tenant's is as unknown as a missing one.
    const provider = await this.repository.getProvider(principal.tenantId, validateName(input.provider, 'provider'));
    if (!provider) throw new ValidationError(`ACME provider ${input.provider} does not exist`, 'provider');
    const at = new Date(this.now()).toISOString();
    const certificate: ManagedCertificateRecord = {
      tenantId: principal.tenantId,
      name,
      provider: provider.name,
      domains,
      challengeType: input.challengeType,
      hostedZoneId: input.challengeType === 'dns-01' ? input.hostedZoneId : null,
      status: 'pending',
      nextAttemptAt: at,
      failures: 0,
      lastError: null,
      issued: null,
      generation: 0,
      createdAt: at,
      updatedAt: at,
    };
    if (!(await this.repository.createCertificate(certificate))) throw new ConflictError(`managed certificate ${name} exists`);
    return certificate;
  }

  async getCertificate(principal: Principal, name: string): Promise<ManagedCertificateRecord> {
    await this.auth.require(principal, 'read', certificatePath(validateName(name, 'name')));
    return this.found(principal.tenantId, name);
  }

  /** The private key of the certificate currently issued, PKCS#8 PEM; its own capability. */
  async readPrivateKey(principal: Principal, name: string): Promise<{ certificate: ManagedCertificateRecord; privateKeyPem: string }> {
    await this.auth.require(principal, 'read', certificateKeyPath(validateName(name, 'name')));
    const certificate = await this.found(principal.tenantId, name);
    if (!certificate.issued) throw new ConflictError(`managed certificate ${name} has not been issued yet`);
    const privateKeyPem = await this.keys.open(certificate.issued.privateKey, certificateKeyContext(principal.tenantId, name, certificate.generation));
    return { certificate, privateKeyPem };
  }

  async listCertificates(principal: Principal): Promise<ManagedCertificateRecord[]> {
    await this.auth.require(principal, 'list', 'acme/certificates');
    return this.repository.listCertificates(principal.tenantId);
  }

  async deleteCertificate(principal: Principal, name: string): Promise<void> {
    await this.auth.require(principal, 'delete', certificatePath(validateName(name, 'name')));
    if (!(await this.repository.deleteCertificate(principal.tenantId, name))) throw new NotFoundError(`managed certificate ${name} not found`);
  }

  /** Orders again at the scheduler's next run, whatever the renewal time says. */
  async renewNow(principal: Principal, name: string): Promise<ManagedCertificateRecord> {
    await this.auth.require(principal, 'rotate', certificatePath(validateName(name, 'name')));
    const certificate = await this.found(principal.tenantId, name);
    const now = new Date(this.now()).toISOString();
    // A scheduler ordering it now holds a lease: a second order beside it would only waste the CA's rate limit.
    if (certificate.leasedUntil && certificate.leasedUntil > now) throw new ConflictError(`managed certificate ${name} is being ordered`);
    if (!(await this.repository.reschedule(certificate, now))) throw new ConflictError(`managed certificate ${name} is being ordered`);
    return { ...certificate, nextAttemptAt: now };
  }

  /** The key authorization HTTP-01 expects at `/.well-known/acme-challenge/{token}`, while an order waits for it. */
  async challengeAnswer(token: string): Promise<string> {
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(token)) throw new NotFoundError('no such challenge');
    const answer = await this.challenges.get(token);
    if (!answer) throw new NotFoundError('no such challenge');
    return answer;
  }

  private async found(tenantId: string, name: string): Promise<ManagedCertificateRecord> {
    const certificate = await this.repository.getCertificate(tenantId, name);
    if (!certificate) throw new NotFoundError(`managed certificate ${name} not found`);
    return certificate;
  }
}

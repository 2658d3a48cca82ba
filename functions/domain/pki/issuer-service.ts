// Roles and issuance: `issue` generates the key and returns it once (never
// stored); `sign` certifies a CSR. Both check the role first, then sign, then
// record the certificate in the inventory; a violation stores nothing.
import { createPublicKey } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { AuthService } from '../auth/auth-service.js';
import { NO_EVENTS } from '../events/events.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { CertificateInventorySink } from '../ports/certificate-inventory.js';
import type { EventPublisher } from '../ports/events.js';
import type { CaRecord, KeyType, PkiRepository, RoleRecord } from '../ports/pki.js';
import { caPath, type CaService } from './ca-service.js';
import { cnName, signCertificate } from './certificate-builder.js';
import { generateKey, keyTypeOf } from './key-types.js';
import { checkRequest, leafNotAfter, RoleViolationError } from './role-policy.js';
import { loadX509, randomSerial } from './x509.js';
import { TtlCache } from '../ttl-cache.js';

/** What the domain reports about issuance (functions/observability turns it into metrics). */
export interface PkiMetrics {
  certificateIssued(caId: string, issuerType: string): void;
  certificateRevoked(caId: string): void;
}

export const NO_PKI_METRICS: PkiMetrics = { certificateIssued: () => undefined, certificateRevoked: () => undefined };

export interface IssueInput {
  readonly commonName: string;
  readonly altNames: readonly string[];
  readonly ipSans: readonly string[];
  readonly ttlSeconds: number | undefined;
  readonly keyType: KeyType | undefined;
}

export interface IssuedCertificate {
  readonly serial: string;
  readonly certificatePem: string;
  /** The issuing CA first, up to the root. */
  readonly chainPem: readonly string[];
  readonly notAfter: Date;
  /** `issue` only: PKCS #8 PEM, shown once. */
  readonly privateKeyPem?: string;
}

export const rolePath = (caId: string, role: string): string => `${caPath(caId)}/roles/${role}`;
const ROLE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Leaves may not be backdated beyond clock skew, nor start later than now. */
const BACKDATE_MS = 30_000;

/** How long an instance reuses an active CA and its role for issuance; a role written here is forgotten at once. */
export const ISSUING_CACHE_MS = 5000;
const issuingKey = (tenantId: string, caId: string, role: string) => `${tenantId}\u0000${caId}\u0000${role}`;

export class IssuerService {
  private readonly issuingCache: TtlCache<{ ca: CaRecord; role: RoleRecord }>;

  constructor(
    private readonly repository: PkiRepository,
    private readonly cas: CaService,
    private readonly auth: AuthService,
    private readonly inventory: CertificateInventorySink,
    private readonly metrics: PkiMetrics = NO_PKI_METRICS,
    private readonly events: EventPublisher = NO_EVENTS,
    private readonly now: () => number = Date.now,
  ) {
    this.issuingCache = new TtlCache(ISSUING_CACHE_MS, 1000, now);
  }

  async putRole(principal: Principal, role: Omit<RoleRecord, 'tenantId' | 'updatedAt'>): Promise<RoleRecord> {
    if (!ROLE_NAME.test(role.name)) throw new ValidationError('role name must match ^[a-z0-9][a-z0-9_-]{0,63}$', 'name');
    await this.cas.get(principal, role.caId, 'admin');
    if (role.defaultTtlSeconds > role.maxTtlSeconds) throw new ValidationError('ttl must not exceed max_ttl', 'ttl');
    if (role.keyTypes.length === 0) throw new ValidationError('key_types must name at least one key type', 'key_types');
    const record: RoleRecord = { ...role, tenantId: principal.tenantId, updatedAt: new Date(this.now()).toISOString() };
    await this.repository.putRole(record);
    this.issuingCache.delete(issuingKey(principal.tenantId, role.caId, role.name));
    return record;
  }

  async getRole(principal: Principal, caId: string, name: string): Promise<RoleRecord> {
    await this.cas.get(principal, caId, 'read');
    const role = await this.repository.getRole(principal.tenantId, caId, name);
    if (!role) throw new NotFoundError(`role ${name} of CA ${caId} not found`);
    return role;
  }

  async listRoles(principal: Principal, caId: string): Promise<RoleRecord[]> {
    await this.cas.get(principal, caId, 'list');
    return this.repository.listRoles(principal.tenantId, caId);
  }

  async deleteRole(principal: Principal, caId: string, name: string): Promise<void> {
    await this.cas.get(principal, caId, 'admin');
    this.issuingCache.delete(issuingKey(principal.tenantId, caId, name));
    if (!(await this.repository.deleteRole(principal.tenantId, caId, name))) throw new NotFoundError(`role ${name} of CA ${caId} not found`);
  }

  /** Generates a key pair and certifies it; the private key is in the answer only. */
  async issue(principal: Principal, caId: string, roleName: string, input: IssueInput): Promise<IssuedCertificate> {
    const { ca, role } = await this.issuing(principal, caId, roleName);
    const keyType = input.keyType ?? role.keyTypes[0] ?? 'ec-p256';
    const ttl = checkRequest(role, {
      commonName: input.commonName,
      dnsNames: input.altNames,
      ipAddresses: input.ipSans,
      keyType,
      ttlSeconds: input.ttlSeconds,
    });
    const { publicKey, privateKey } = await generateKey(keyType);
    const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
    const issued = await this.certify(principal, ca, role, { ...input, ttlSeconds: ttl }, spki);
    return { ...issued, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  }

  /** Certifies a CSR's key and names, as far as the role allows them. */
  async sign(principal: Principal, caId: string, roleName: string, csrPem: string, ttlSeconds: number | undefined): Promise<IssuedCertificate> {
    const { ca, role } = await this.issuing(principal, caId, roleName);
    const csr = await parseCsr(csrPem);
    const ttl = checkRequest(role, { ...csr, ttlSeconds });
    return this.certify(
      principal,
      ca,
      role,
      { commonName: csr.commonName, altNames: csr.dnsNames, ipSans: csr.ipAddresses, ttlSeconds: ttl, keyType: csr.keyType },
      csr.spki,
    );
  }

  /** The CA and role an issuance needs, after the caller's right to issue under the role. */
  private async issuing(principal: Principal, caId: string, roleName: string): Promise<{ ca: CaRecord; role: RoleRecord }> {
    await this.auth.require(principal, 'write', rolePath(caId, roleName));
    const key = issuingKey(principal.tenantId, caId, roleName);
    const cached = this.issuingCache.get(key);
    if (cached) return cached;
    // Issuing needs no read grant on the CA itself: the role's grant is enough; the tenant check is not skipped.
    const [ca, role] = await Promise.all([this.sameTenantCa(principal, caId), this.repository.getRole(principal.tenantId, caId, roleName)]);
    if (ca.status !== 'active' || !ca.certificatePem) throw new ConflictError(`CA ${caId} has no signed certificate yet; import it first`);
    if (!role) throw new NotFoundError(`role ${roleName} of CA ${caId} not found`);
    this.issuingCache.set(key, { ca, role });
    return { ca, role };
  }

  private async sameTenantCa(principal: Principal, caId: string): Promise<CaRecord> {
    const ca = await this.repository.getCa(caId);
    if (!ca || ca.tenantId !== principal.tenantId) throw new NotFoundError(`CA ${caId} not found`);
    return ca;
  }

  private async certify(principal: Principal, ca: CaRecord, role: RoleRecord, input: IssueInput & { ttlSeconds: number }, spki: Uint8Array) {
    const notBefore = new Date(this.now() - BACKDATE_MS);
    const notAfter = leafNotAfter(role, notBefore, input.ttlSeconds + BACKDATE_MS / 1000, new Date(ca.notAfter ?? 0));
    const serial = randomSerial();
    const dnsNames = [...new Set([input.commonName, ...input.altNames].filter((name) => name && !/^[0-9.:]+$/.test(name)).map((name) => name.toLowerCase()))];
    const certificatePem = await signCertificate(
      {
        serial,
        subject: input.commonName ? cnName(input.commonName) : '',
        publicKeySpki: spki,
        notBefore,
        notAfter,
        dnsNames,
        ipAddresses: input.ipSans,
        keyUsages: role.keyUsages,
        extKeyUsages: role.extKeyUsages,
      },
      { certificatePem: ca.certificatePem, signer: await this.cas.signerOf(ca) },
    );
    const sans = [...dnsNames, ...input.ipSans];
    await this.inventory.recordIssued({
      tenantId: principal.tenantId,
      caId: ca.caId,
      serial,
      commonName: input.commonName,
      sans,
      notBefore,
      notAfter,
      role: role.name,
      issuerType: 'internal',
      certificatePem,
    });
    this.metrics.certificateIssued(ca.caId, 'internal');
    const data = { ca_id: ca.caId, serial, common_name: input.commonName, role: role.name, not_after: notAfter.toISOString() };
    await this.events.publish({ type: 'certificate.issued', tenantId: principal.tenantId, data, occurredAt: new Date(this.now()).toISOString() });
    return { serial, certificatePem, chainPem: [ca.certificatePem ?? '', ...ca.chainPem], notAfter };
  }
}

interface ParsedCsr {
  readonly commonName: string;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly keyType: KeyType | undefined;
  readonly spki: Uint8Array;
}

/** A CSR's names and key, after its self-signature verifies. */
export const parseCsr = async (pem: string): Promise<ParsedCsr> => {
  const x509 = await loadX509();
  let csr: InstanceType<typeof x509.Pkcs10CertificateRequest>;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch {
    throw new ValidationError('csr is not a PEM PKCS #10 certificate request', 'csr');
  }
  if (!(await csr.verify().catch(() => false))) throw new RoleViolationError("the CSR's signature does not verify", 'csr');
  const san = csr.extensions.find((extension) => extension instanceof x509.SubjectAlternativeNameExtension);
  const names = san ? san.names.items : [];
  const spki = new Uint8Array(csr.publicKey.rawData);
  return {
    commonName: csr.subjectName.getField('CN')[0] ?? '',
    dnsNames: names.filter((name) => name.type === 'dns').map((name) => name.value),
    ipAddresses: names.filter((name) => name.type === 'ip').map((name) => name.value),
    keyType: keyTypeOf(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' })),
    spki,
  };
};

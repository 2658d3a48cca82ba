// Revocation (RFC 5280 reasons), the signed CRL per CA, the OCSP responder,
// the inventory's reads and tidy.
import type { Principal } from '../auth/principal.js';
import type { AuthService } from '../auth/auth-service.js';
import { NO_EVENTS } from '../events/events.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { EventPublisher } from '../ports/events.js';
import type { CaRecord, CertificateStore, CrlPublisher, PkiRepository, PublishedCrl, StoredCertificate } from '../ports/pki.js';
import { caPath, type CaService } from './ca-service.js';
import { NO_PKI_METRICS, type PkiMetrics } from './issuer-service.js';
import { ocspRespond } from './ocsp.js';
import { loadX509, signingParams } from './x509.js';
import { REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.js';

export { REVOCATION_REASONS, type RevocationReason } from './revocation-reasons.js';

export interface RevocationSettings {
  /** How long a CRL is valid (nextUpdate); the scheduler rebuilds it well before. */
  readonly crlValiditySeconds: number;
  /** Tidy removes certificates this long past their not-after. */
  readonly tidyBufferSeconds: number;
}

const SERIAL = /^[0-9a-f]{2,64}$/;
export const normalizeSerial = (raw: string): string => {
  const serial = raw.toLowerCase().replaceAll(':', '');
  if (!SERIAL.test(serial)) throw new ValidationError('serial must be hexadecimal (colons allowed)', 'serial');
  return serial.replace(/^(00)+(?=[89a-f])/, '');
};

export class RevocationService {
  constructor(
    private readonly repository: PkiRepository,
    private readonly store: CertificateStore,
    private readonly cas: CaService,
    private readonly auth: AuthService,
    private readonly publisher: CrlPublisher,
    private readonly settings: RevocationSettings,
    private readonly metrics: PkiMetrics = NO_PKI_METRICS,
    private readonly events: EventPublisher = NO_EVENTS,
    private readonly now: () => number = Date.now,
    private readonly onPublishError: (error: unknown, caId: string) => void = () => undefined,
  ) {}

  async revoke(principal: Principal, caId: string, rawSerial: string, reason: RevocationReason): Promise<StoredCertificate> {
    const serial = normalizeSerial(rawSerial);
    await this.auth.require(principal, 'delete', `${caPath(caId)}/certificates/${serial}`);
    const ca = await this.tenantCa(principal, caId);
    const certificate = await this.store.getCertificate(principal.tenantId, caId, serial);
    if (!certificate) throw new NotFoundError(`certificate ${serial} of CA ${caId} not found`);
    if (certificate.state === 'revoked') throw new ConflictError(`certificate ${serial} is already revoked`);
    const at = new Date(this.now()).toISOString();
    if (!(await this.store.revoke(principal.tenantId, caId, serial, REVOCATION_REASONS[reason], at))) {
      throw new ConflictError(`certificate ${serial} is already revoked`);
    }
    this.metrics.certificateRevoked(caId);
    await this.rebuildCrl(ca);
    await this.events.publish({ type: 'certificate.revoked', tenantId: principal.tenantId, data: { ca_id: caId, serial, reason }, occurredAt: at });
    return { ...certificate, state: 'revoked', revokedAt: at, revocationReason: REVOCATION_REASONS[reason] };
  }

  async getCertificate(principal: Principal, caId: string, rawSerial: string): Promise<StoredCertificate> {
    const serial = normalizeSerial(rawSerial);
    await this.auth.require(principal, 'read', `${caPath(caId)}/certificates/${serial}`);
    await this.tenantCa(principal, caId);
    const certificate = await this.store.getCertificate(principal.tenantId, caId, serial);
    if (!certificate) throw new NotFoundError(`certificate ${serial} of CA ${caId} not found`);
    return certificate;
  }

  async listCertificates(principal: Principal, caId: string, limit: number, cursor: string | undefined) {
    await this.auth.require(principal, 'list', `${caPath(caId)}/certificates`);
    await this.tenantCa(principal, caId);
    return this.store.listCertificates(principal.tenantId, caId, limit, cursor);
  }

  async tidy(principal: Principal, caId: string): Promise<number> {
    await this.auth.require(principal, 'admin', caPath(caId));
    const ca = await this.tenantCa(principal, caId);
    const removed = await this.store.tidy(this.tidyBefore(), principal.tenantId, caId);
    if (removed > 0 && ca.status === 'active') await this.rebuildCrl(ca);
    return removed;
  }

  tidyBefore(): string {
    return new Date(this.now() - this.settings.tidyBufferSeconds * 1000).toISOString();
  }

  /** The CA's current CRL (unauthenticated): built on first ask if none was yet. */
  async crl(caId: string): Promise<PublishedCrl> {
    const existing = await this.repository.getCrl(caId);
    if (existing && new Date(existing.nextUpdate).getTime() > this.now()) return existing;
    const ca = await this.repository.getCa(caId);
    if (ca?.status !== 'active') throw new NotFoundError(`CA ${caId} not found`);
    return this.rebuildCrl(ca);
  }

  /** Signs a fresh CRL of the CA's revoked certificates, stores it and publishes it to the audit bucket. */
  async rebuildCrl(ca: CaRecord): Promise<PublishedCrl> {
    const x509 = await loadX509();
    const signer = await this.cas.signerOf(ca);
    const { crypto, signingKey, signingAlgorithm } = signingParams(signer);
    const entries = await this.store.revokedEntries(ca.tenantId, ca.caId);
    const number = await this.repository.nextCrlNumber(ca.caId);
    const thisUpdate = new Date(this.now());
    const nextUpdate = new Date(thisUpdate.getTime() + this.settings.crlValiditySeconds * 1000);
    const caCertificate = new x509.X509Certificate(ca.certificatePem ?? '');
    const aki = caCertificate.getExtension(x509.SubjectKeyIdentifierExtension);
    const crl = await x509.X509CrlGenerator.create(
      {
        issuer: caCertificate.subjectName,
        thisUpdate,
        nextUpdate,
        entries: entries.map((entry) => ({ serialNumber: entry.serial, revocationDate: new Date(entry.revokedAt), reason: entry.reason })),
        extensions: [
          new x509.Extension('2.5.29.20', false, new Uint8Array(await crlNumberDer(number))),
          ...(aki ? [new x509.AuthorityKeyIdentifierExtension(aki.keyId)] : []),
        ],
        signingKey,
        signingAlgorithm,
      },
      crypto,
    );
    const published: PublishedCrl = { der: new Uint8Array(crl.rawData), number, thisUpdate: thisUpdate.toISOString(), nextUpdate: nextUpdate.toISOString() };
    await this.repository.putCrl(ca.caId, published);
    // The CRL is served from the table already; the bucket's copy is a publication the next rebuild retries.
    await this.publisher.publish(ca.tenantId, ca.caId, published.der, crl.toString('pem')).catch((error: unknown) => this.onPublishError(error, ca.caId));
    return published;
  }

  /** The DER OCSP response to a DER request (unauthenticated). */
  async ocsp(caId: string, requestDer: Uint8Array): Promise<Uint8Array> {
    const ca = await this.repository.getCa(caId);
    if (ca?.status !== 'active' || !ca.certificatePem) throw new NotFoundError(`CA ${caId} not found`);
    const lookup = (serial: string) => this.store.getCertificate(ca.tenantId, caId, serial);
    return ocspRespond(requestDer, ca.certificatePem, await this.cas.signerOf(ca), lookup, new Date(this.now()));
  }

  private async tenantCa(principal: Principal, caId: string): Promise<CaRecord> {
    const ca = await this.repository.getCa(caId);
    if (!ca || ca.tenantId !== principal.tenantId) throw new NotFoundError(`CA ${caId} not found`);
    return ca;
  }
}

/** The cRLNumber extension's value, a DER INTEGER. */
const crlNumberDer = async (number: number): Promise<ArrayBuffer> => {
  const [schema, asn] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-x509')]);
  return schema.AsnConvert.serialize(new asn.CRLNumber(number));
};

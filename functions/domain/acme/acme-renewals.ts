// The scheduler's ACME work: order every managed certificate that is due (new,
// at its renewal time, or retrying after a failure), one scheduler at a time per
// certificate, and record what came of it: sealed key, inventory, metrics,
// events and audit.
import type { AuditRecorder } from '../audit/audit-maintenance.js';
import { recordAfter } from '../audit/audit-maintenance.js';
import type { KeyManager } from '../crypto/key-manager.js';
import { describeError } from '../errors.js';
import type { AcmeOrderer, AcmeRepository, ChallengeSolver, ManagedCertificateRecord, OrderResult } from '../ports/acme.js';
import type { CertificateInventorySink } from '../ports/certificate-inventory.js';
import type { EventPublisher } from '../ports/events.js';
import type { DomainLogger } from '../ports/logging.js';
import { accountKeyContext, certificateKeyContext, eabKeyContext } from './acme-service.js';
import { renewalTime } from './acme-validation.js';

export const ACME_IDENTITY = 'system:acme';

export interface AcmeOrderMetrics {
  acmeOrderFinished(provider: string, status: 'valid' | 'failed', seconds: number): void;
}

export interface AcmeRenewalOptions {
  /** Certificates ordered per scheduler run. */
  readonly batch: number;
  /** How long a claimed certificate is left alone by other schedulers (longer than an order may take). */
  readonly leaseMs: number;
  /** The first retry after a failure; doubles per failure up to `maxRetryMs`. */
  readonly retryBaseMs: number;
  readonly maxRetryMs: number;
  /** No new order starts this long after the run began: the scheduler's run (and its Lambda timeout) stays bounded. */
  readonly startWithinMs: number;
}

export const DEFAULT_RENEWAL_OPTIONS: AcmeRenewalOptions = {
  batch: 5,
  leaseMs: 10 * 60_000,
  retryBaseMs: 5 * 60_000,
  maxRetryMs: 6 * 3600_000,
  startWithinMs: 10_000,
};

export interface AcmeRenewalParts {
  readonly repository: AcmeRepository;
  readonly keys: KeyManager;
  /** The tenant's current data key id (AuthService.activeKeyId). */
  readonly activeKeyId: (tenantId: string) => Promise<string>;
  readonly orderer: AcmeOrderer;
  /** The solver for a certificate's challenge type (and, for dns-01, its hosted zone). */
  readonly solverFor: (certificate: ManagedCertificateRecord) => ChallengeSolver;
  readonly inventory: CertificateInventorySink;
  readonly metrics: AcmeOrderMetrics;
  readonly events: EventPublisher;
  readonly audit: AuditRecorder;
  readonly logger: DomainLogger;
  readonly now?: () => number;
  readonly options?: AcmeRenewalOptions;
}

export interface AcmeRenewalRun {
  readonly ordered: number;
  readonly failed: number;
}

export class AcmeRenewals {
  private readonly now: () => number;
  private readonly options: AcmeRenewalOptions;

  constructor(private readonly parts: AcmeRenewalParts) {
    this.now = parts.now ?? Date.now;
    this.options = parts.options ?? DEFAULT_RENEWAL_OPTIONS;
  }

  /** Orders what is due, one certificate after another; a failed order is recorded, never thrown. */
  async runDue(): Promise<AcmeRenewalRun> {
    const due = await this.parts.repository.dueCertificates(new Date(this.now()).toISOString(), this.options.batch);
    const started = this.now();
    let ordered = 0;
    let failed = 0;
    for (const certificate of due) {
      if (this.now() - started > this.options.startWithinMs) break;
      if (!(await this.parts.repository.claim(certificate, new Date(this.now() + this.options.leaseMs).toISOString()))) continue;
      if (await this.orderOne(certificate)) ordered += 1;
      else failed += 1;
    }
    return { ordered, failed };
  }

  /** True when the certificate was issued. The audit record of the attempt is written first (fail-closed). */
  private async orderOne(certificate: ManagedCertificateRecord): Promise<boolean> {
    const fields = { tenantId: certificate.tenantId, path: `acme/certificates/${certificate.name}`, identityId: ACME_IDENTITY, type: 'acme.order' };
    const details = { provider: certificate.provider, renewal: certificate.issued !== null };
    await this.parts.audit.record({ ...fields, outcome: 'attempted', details });
    const started = performance.now();
    try {
      const result = await this.order(certificate);
      const seconds = (performance.now() - started) / 1000;
      await this.issued(certificate, result);
      this.parts.metrics.acmeOrderFinished(certificate.provider, 'valid', seconds);
      await recordAfter(this.parts.audit, { ...fields, outcome: 'success', details: { ...details, serial: result.serial } }, this.parts.logger);
      return true;
    } catch (error) {
      this.parts.metrics.acmeOrderFinished(certificate.provider, 'failed', (performance.now() - started) / 1000);
      const reason = describeError(error);
      await this.failed(certificate, reason);
      await recordAfter(this.parts.audit, { ...fields, outcome: 'failure', details: { ...details, reason } }, this.parts.logger);
      return false;
    }
  }

  private async order(certificate: ManagedCertificateRecord): Promise<OrderResult> {
    const { repository, keys } = this.parts;
    const { tenantId } = certificate;
    const provider = await repository.getProvider(tenantId, certificate.provider);
    if (!provider) throw Object.assign(new Error('provider gone'), { name: 'AcmeProviderMissing' });
    const accountKeyJwk = await keys.open(provider.accountKey, accountKeyContext(tenantId, provider.name));
    const eab = provider.eab ? { kid: provider.eab.kid, hmacKey: await keys.open(provider.eab.hmacKey, eabKeyContext(tenantId, provider.name)) } : null;
    const result = await this.parts.orderer.order({
      directoryUrl: provider.directoryUrl,
      accountKeyJwk,
      accountUrl: provider.accountUrl,
      contact: provider.contact,
      eab,
      domains: certificate.domains,
      challengeType: certificate.challengeType,
      solver: this.parts.solverFor(certificate),
    });
    if (result.accountUrl !== provider.accountUrl) await repository.setAccountUrl(tenantId, provider.name, result.accountUrl);
    return result;
  }

  private async issued(certificate: ManagedCertificateRecord, result: OrderResult): Promise<void> {
    const { tenantId, name } = certificate;
    const generation = certificate.generation + 1;
    const at = new Date(this.now()).toISOString();
    const privateKey = await this.sealKey(certificate, result.privateKeyPem, generation);
    await this.parts.repository.saveOutcome({
      ...certificate,
      status: 'valid',
      leasedUntil: null,
      // From the certificate's own validity, never from the order's `expires`.
      nextAttemptAt: renewalTime(result.notBefore, result.notAfter).toISOString(),
      failures: 0,
      lastError: null,
      generation,
      updatedAt: at,
      issued: {
        certificatePem: result.certificatePem,
        chainPem: result.chainPem,
        serial: result.serial,
        notBefore: result.notBefore.toISOString(),
        notAfter: result.notAfter.toISOString(),
        privateKey,
        issuedAt: at,
      },
    });
    await this.parts.inventory.recordIssued({
      tenantId,
      caId: `acme:${certificate.provider}`,
      serial: result.serial,
      commonName: result.commonName,
      sans: result.sans,
      notBefore: result.notBefore,
      notAfter: result.notAfter,
      role: name,
      issuerType: 'acme',
      certificatePem: result.certificatePem,
    });
    await this.parts.events.publish({
      type: certificate.issued ? 'certificate.renewed' : 'certificate.issued',
      tenantId,
      data: { name, provider: certificate.provider, serial: result.serial, not_after: result.notAfter.toISOString(), issuer_type: 'acme' },
      occurredAt: at,
    });
  }

  private async sealKey(certificate: ManagedCertificateRecord, pem: string, generation: number) {
    const keyId = await this.parts.activeKeyId(certificate.tenantId);
    return this.parts.keys.seal(keyId, pem, certificateKeyContext(certificate.tenantId, certificate.name, generation));
  }

  private async failed(certificate: ManagedCertificateRecord, reason: string): Promise<void> {
    const failures = certificate.failures + 1;
    const retryMs = Math.min(this.options.retryBaseMs * 2 ** (failures - 1), this.options.maxRetryMs);
    const at = new Date(this.now()).toISOString();
    try {
      await this.parts.repository.saveFailure({
        ...certificate,
        status: 'renewal_failed',
        leasedUntil: null,
        failures,
        lastError: reason,
        nextAttemptAt: new Date(this.now() + retryMs).toISOString(),
        updatedAt: at,
      });
    } catch (error) {
      // The lease expires and the next run retries; the failure itself is still counted and announced.
      this.parts.logger.warn('acme failure not recorded', { certificate: certificate.name, error: describeError(error) });
    }
    await this.parts.events.publish({
      type: 'certificate.renewal_failed',
      tenantId: certificate.tenantId,
      data: {
        name: certificate.name,
        provider: certificate.provider,
        reason,
        failures,
        not_after: certificate.issued?.notAfter ?? null,
        issuer_type: 'acme',
      },
      occurredAt: at,
    });
  }
}

import type { AcmeProviderRecord, AcmeRepository, ManagedCertificateRecord } from '../../../functions/domain/ports/acme.js';

/** The ACME repository's contract on maps: conditional claim and put-if-absent included. */
const keyOf = (record: { tenantId: string; name: string }) => `${record.tenantId}/${record.name}`;
const putNew = <T extends { tenantId: string; name: string }>(map: Map<string, T>, record: T): boolean =>
  !map.has(keyOf(record)) && Boolean(map.set(keyOf(record), record));
const ofTenant = <T extends { tenantId: string }>(map: Map<string, T>, tenantId: string): T[] => [...map.values()].filter((r) => r.tenantId === tenantId);

export class InMemoryAcmeRepository implements AcmeRepository {
  readonly providers = new Map<string, AcmeProviderRecord>();
  readonly certificates = new Map<string, ManagedCertificateRecord>();

  async putProvider(provider: AcmeProviderRecord) {
    return putNew(this.providers, provider);
  }
  async getProvider(tenantId: string, name: string) {
    return this.providers.get(keyOf({ tenantId, name }));
  }
  async listProviders(tenantId: string) {
    return ofTenant(this.providers, tenantId);
  }
  async deleteProvider(tenantId: string, name: string) {
    return this.providers.delete(keyOf({ tenantId, name }));
  }
  async setAccountUrl(tenantId: string, name: string, accountUrl: string) {
    const provider = this.providers.get(keyOf({ tenantId, name }));
    if (provider) this.providers.set(keyOf(provider), { ...provider, accountUrl });
  }
  async createCertificate(certificate: ManagedCertificateRecord) {
    return putNew(this.certificates, certificate);
  }
  async getCertificate(tenantId: string, name: string) {
    return this.certificates.get(keyOf({ tenantId, name }));
  }
  async listCertificates(tenantId: string) {
    return ofTenant(this.certificates, tenantId);
  }
  async deleteCertificate(tenantId: string, name: string) {
    return this.certificates.delete(keyOf({ tenantId, name }));
  }
  async dueCertificates(beforeIso: string, limit: number) {
    return [...this.certificates.values()]
      .filter((c) => c.nextAttemptAt < beforeIso)
      .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt))
      .slice(0, limit);
  }
  async claim(certificate: ManagedCertificateRecord, leaseUntilIso: string) {
    const current = this.certificates.get(keyOf(certificate));
    if (!current || current.nextAttemptAt !== certificate.nextAttemptAt) return false;
    this.certificates.set(keyOf(certificate), { ...current, nextAttemptAt: leaseUntilIso, leasedUntil: leaseUntilIso });
    return true;
  }
  async reschedule(certificate: ManagedCertificateRecord, atIso: string) {
    const current = this.certificates.get(keyOf(certificate));
    if (!current || current.nextAttemptAt !== certificate.nextAttemptAt) return false;
    this.certificates.set(keyOf(certificate), { ...current, nextAttemptAt: atIso });
    return true;
  }
  async saveOutcome(certificate: ManagedCertificateRecord) {
    if (this.certificates.has(keyOf(certificate))) this.certificates.set(keyOf(certificate), certificate);
  }
  async saveFailure(certificate: ManagedCertificateRecord) {
    const current = this.certificates.get(keyOf(certificate));
    if (!current) return;
    const { status, leasedUntil, failures, lastError, nextAttemptAt, updatedAt } = certificate;
    this.certificates.set(keyOf(certificate), { ...current, status, leasedUntil, failures, lastError, nextAttemptAt, updatedAt });
  }
}

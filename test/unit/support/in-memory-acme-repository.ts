import type { AcmeProviderRecord, AcmeRepository, ManagedCertificateRecord } from '../../../functions/domain/ports/acme.js';

/** The ACME repository's contract on maps: conditional claim and put-if-absent included. */
export class InMemoryAcmeRepository implements AcmeRepository {
  readonly providers = new Map<string, AcmeProviderRecord>();
  readonly certificates = new Map<string, ManagedCertificateRecord>();

  async putProvider(provider: AcmeProviderRecord): Promise<boolean> {
    const key = `${provider.tenantId}/${provider.name}`;
    if (this.providers.has(key)) return false;
    this.providers.set(key, provider);
    return true;
  }
  async getProvider(tenantId: string, name: string) {
    return this.providers.get(`${tenantId}/${name}`);
  }
  async listProviders(tenantId: string) {
    return [...this.providers.values()].filter((p) => p.tenantId === tenantId);
  }
  async deleteProvider(tenantId: string, name: string) {
    return this.providers.delete(`${tenantId}/${name}`);
  }
  async setAccountUrl(tenantId: string, name: string, accountUrl: string) {
    const provider = this.providers.get(`${tenantId}/${name}`);
    if (provider) this.providers.set(`${tenantId}/${name}`, { ...provider, accountUrl });
  }
  async createCertificate(certificate: ManagedCertificateRecord) {
    const key = `${certificate.tenantId}/${certificate.name}`;
    if (this.certificates.has(key)) return false;
    this.certificates.set(key, certificate);
    return true;
  }
  async getCertificate(tenantId: string, name: string) {
    return this.certificates.get(`${tenantId}/${name}`);
  }
  async listCertificates(tenantId: string) {
    return [...this.certificates.values()].filter((c) => c.tenantId === tenantId);
  }
  async deleteCertificate(tenantId: string, name: string) {
    return this.certificates.delete(`${tenantId}/${name}`);
  }
  async dueCertificates(beforeIso: string, limit: number) {
    return [...this.certificates.values()]
      .filter((c) => c.nextAttemptAt < beforeIso)
      .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt))
      .slice(0, limit);
  }
  async claim(certificate: ManagedCertificateRecord, leaseUntilIso: string) {
    const key = `${certificate.tenantId}/${certificate.name}`;
    const current = this.certificates.get(key);
    if (!current || current.nextAttemptAt !== certificate.nextAttemptAt) return false;
    this.certificates.set(key, { ...current, nextAttemptAt: leaseUntilIso });
    return true;
  }
  async saveOutcome(certificate: ManagedCertificateRecord) {
    const key = `${certificate.tenantId}/${certificate.name}`;
    if (this.certificates.has(key)) this.certificates.set(key, certificate);
  }
}

import { describe, expect, it } from 'vitest';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { PkiMaintenance } from '../../functions/domain/pki/pki-maintenance.js';
import type { RevocationService } from '../../functions/domain/pki/revocation-service.js';
import type { CaRecord, CertificateStore, ExpiringCertificate, PkiRepository, PublishedCrl } from '../../functions/domain/ports/pki.js';

const NOW = Date.parse('2026-06-01T00:00:00Z');
const DAY = 86_400_000;

/** An inventory in memory: certificates by not-after, with the once-only expiry mark. */
const inventory = (certs: ExpiringCertificate[]) => {
  const notified = new Set<string>();
  const store = {
    expiringBetween: async (from: string, before: string, options: { unnotifiedOnly?: boolean }) =>
      certs.filter((c) => c.notAfter >= from && c.notAfter <= before && !(options.unnotifiedOnly && notified.has(c.serial))),
    markExpiryNotified: async (cert: ExpiringCertificate) => !notified.has(cert.serial) && Boolean(notified.add(cert.serial)),
    tidy: async () => 0,
  } as unknown as CertificateStore;
  return { store, notified };
};

const ca = (caId: string): CaRecord => ({ caId, tenantId: 't', status: 'active' }) as CaRecord;

describe('PkiMaintenance', () => {
  it('sends certificate.expiring once per certificate entering the warning window', async () => {
    const certs: ExpiringCertificate[] = [
      { tenantId: 't', caId: 'ca_1', serial: '01', commonName: 'soon.example.com', notAfter: new Date(NOW + 5 * DAY).toISOString() },
      { tenantId: 't', caId: 'ca_1', serial: '02', commonName: 'later.example.com', notAfter: new Date(NOW + 60 * DAY).toISOString() },
    ];
    const { store } = inventory(certs);
    const events: VaultEvent[] = [];
    const repository = { allCas: async () => [], getCrl: async () => undefined } as unknown as PkiRepository;
    const revocation = { tidyBefore: () => new Date(NOW - 3 * DAY).toISOString() } as unknown as RevocationService;
    const maintenance = new PkiMaintenance(
      repository,
      store,
      revocation,
      { crlRebuildSeconds: 86_400, expiryWarningDays: 30 },
      { publish: async (e) => void events.push(e) },
      () => NOW,
    );
    expect((await maintenance.run()).expiringNotified).toBe(1);
    expect((await maintenance.run()).expiringNotified).toBe(0);
    expect(events).toEqual([expect.objectContaining({ type: 'certificate.expiring', data: expect.objectContaining({ serial: '01', ca_id: 'ca_1' }) })]);
  });

  it('rebuilds only CRLs older than the rebuild interval', async () => {
    const crls: Record<string, PublishedCrl> = {
      ca_fresh: { der: new Uint8Array(), number: 3, thisUpdate: new Date(NOW - 3600_000).toISOString(), nextUpdate: '' },
      ca_old: { der: new Uint8Array(), number: 9, thisUpdate: new Date(NOW - 2 * DAY).toISOString(), nextUpdate: '' },
    };
    const rebuilt: string[] = [];
    const repository = {
      allCas: async () => [ca('ca_fresh'), ca('ca_old'), ca('ca_none')],
      getCrl: async (id: string) => crls[id],
    } as unknown as PkiRepository;
    const revocation = { tidyBefore: () => '', rebuildCrl: async (c: CaRecord) => void rebuilt.push(c.caId) } as unknown as RevocationService;
    const maintenance = new PkiMaintenance(
      repository,
      inventory([]).store,
      revocation,
      { crlRebuildSeconds: 86_400, expiryWarningDays: 30 },
      undefined,
      () => NOW,
    );
    expect((await maintenance.run()).crlsRebuilt).toBe(2);
    expect(rebuilt).toEqual(['ca_old', 'ca_none']);
  });
});

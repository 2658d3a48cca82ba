// The scheduler's PKI duties: CRLs rebuilt before they go stale,
// `certificate.expiring` once per certificate, and tidy.
import { NO_EVENTS } from '../events/events.js';
import type { EventPublisher } from '../ports/events.js';
import type { CertificateStore, PkiRepository } from '../ports/pki.js';
import type { RevocationService } from './revocation-service.js';

export interface PkiMaintenanceSettings {
  /** A CRL older than this is rebuilt (well inside its validity). */
  readonly crlRebuildSeconds: number;
  /** `certificate.expiring` goes out this long before not-after. */
  readonly expiryWarningDays: number;
}

export interface PkiMaintenanceRun {
  readonly crlsRebuilt: number;
  readonly expiringNotified: number;
  readonly tidied: number;
}

export class PkiMaintenance {
  constructor(
    private readonly repository: PkiRepository,
    private readonly store: CertificateStore,
    private readonly revocation: RevocationService,
    private readonly settings: PkiMaintenanceSettings,
    private readonly events: EventPublisher = NO_EVENTS,
    private readonly now: () => number = Date.now,
  ) {}

  async run(): Promise<PkiMaintenanceRun> {
    const tidied = await this.store.tidy(this.revocation.tidyBefore());
    return { crlsRebuilt: await this.rebuildStaleCrls(), expiringNotified: await this.notifyExpiring(), tidied };
  }

  private async rebuildStaleCrls(): Promise<number> {
    let rebuilt = 0;
    for (const ca of await this.repository.allCas()) {
      if (ca.status !== 'active') continue;
      const crl = await this.repository.getCrl(ca.caId);
      if (crl && this.now() - Date.parse(crl.thisUpdate) < this.settings.crlRebuildSeconds * 1000) continue;
      await this.revocation.rebuildCrl(ca);
      rebuilt += 1;
    }
    return rebuilt;
  }

  /** Once per certificate: the mark is set before the event, so a crash between them loses one warning rather than repeating it forever. */
  private async notifyExpiring(): Promise<number> {
    const nowIso = new Date(this.now()).toISOString();
    const horizon = new Date(this.now() + this.settings.expiryWarningDays * 86_400_000).toISOString();
    let notified = 0;
    for (const cert of await this.store.expiringBetween(nowIso, horizon, { unnotifiedOnly: true, limit: 1000 })) {
      if (!(await this.store.markExpiryNotified(cert, nowIso))) continue;
      await this.events.publish({
        type: 'certificate.expiring',
        tenantId: cert.tenantId,
        data: { ca_id: cert.caId, serial: cert.serial, common_name: cert.commonName, not_after: cert.notAfter },
        occurredAt: nowIso,
      });
      notified += 1;
    }
    return notified;
  }
}

// The PKI's state gauges, read at scrape time from the inventory's expiry
// index (Queries on gsi1, never Scans) and the CA records.
import type { CertificateStore, PkiRepository } from '../domain/ports/pki.js';
import { EXPIRY_WINDOWS_DAYS, METRICS } from './metric-catalogue.js';
import { seriesKey, type MetricsSnapshot } from './metric-registry.js';

const DAY_MS = 86_400_000;
/** The dashboard's table: at most this many certificates, the soonest within 30 days. */
export const EXPIRY_TABLE_LIMIT = 100;
const EXPIRY_TABLE_DAYS = 30;

const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

export const readPkiGauges = async (store: CertificateStore, repository: PkiRepository, now: number): Promise<MetricsSnapshot> => {
  const nowIso = new Date(now).toISOString();
  const within = (days: number) => new Date(now + days * DAY_MS).toISOString();
  const [active, counts, soonest, cas] = await Promise.all([
    store.activeByCa(nowIso),
    Promise.all(EXPIRY_WINDOWS_DAYS.map(async (days) => [seriesKey([String(days)]), await store.countExpiring(nowIso, within(days))] as const)),
    store.expiringBetween(nowIso, within(EXPIRY_TABLE_DAYS), { limit: EXPIRY_TABLE_LIMIT }),
    repository.allCas(),
  ]);
  const crls = await Promise.all(cas.filter((ca) => ca.status === 'active').map(async (ca) => [ca.caId, await repository.getCrl(ca.caId)] as const));
  const activeSeries: Record<string, number> = {};
  for (const ca of cas) activeSeries[seriesKey([ca.caId])] = 0;
  for (const [caId, count] of active) activeSeries[seriesKey([caId])] = count;
  return {
    [METRICS.certificatesActive.name]: activeSeries,
    [METRICS.certificatesExpiringSoon.name]: Object.fromEntries(counts),
    [METRICS.caExpiry.name]: Object.fromEntries(cas.filter((ca) => ca.notAfter).map((ca) => [seriesKey([ca.caId]), seconds(ca.notAfter ?? '')])),
    [METRICS.crlLastUpdate.name]: Object.fromEntries(crls.filter(([, crl]) => crl).map(([caId, crl]) => [seriesKey([caId]), seconds(crl?.thisUpdate ?? '')])),
    [METRICS.certificateExpiry.name]: Object.fromEntries(soonest.map((cert) => [seriesKey([cert.caId, cert.serial, cert.commonName]), seconds(cert.notAfter)])),
  };
};

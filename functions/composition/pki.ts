// The PKI's composition: CAs, roles and issuance, revocation (CRL, OCSP) and
// the certificate inventory, once per core. The ACME side records what it
// issues through `composePki(core).inventory` (a CertificateInventorySink).
import { dirname, join } from 'node:path';
import { kmsClient, s3Client } from '../adapters/aws-clients.js';
import { DynamoDbCertificateInventory } from '../adapters/dynamodb/dynamodb-certificate-inventory.js';
import { DynamoDbPkiRepository } from '../adapters/dynamodb/dynamodb-pki-repository.js';
import { AwsKmsCaKeys } from '../adapters/kms/aws-kms-ca-keys.js';
import { LocalCaKeys } from '../adapters/local-key/local-ca-keys.js';
import { loadOrCreateMasterKey } from '../adapters/local-key/local-key-wrapper.js';
import { S3CrlPublisher } from '../adapters/s3/s3-crl-publisher.js';
import { CaService } from '../domain/pki/ca-service.js';
import { IssuerService } from '../domain/pki/issuer-service.js';
import { PkiMaintenance } from '../domain/pki/pki-maintenance.js';
import { RevocationService } from '../domain/pki/revocation-service.js';
import type { CrlPublisher } from '../domain/ports/pki.js';
import { InstrumentedCaKeys } from '../observability/instrumented-ca-keys.js';
import { readPkiGauges } from '../observability/pki-gauges.js';
import type { MetricsSnapshot } from '../observability/metric-registry.js';
import { describeError, type Logger } from '../observability/logger.js';
import type { VaultCore } from './vault-core.js';

export interface Pki {
  readonly cas: CaService;
  readonly issuer: IssuerService;
  readonly revocation: RevocationService;
  /** Where every issued certificate is recorded (PKI and ACME alike), and read back. */
  readonly inventory: DynamoDbCertificateInventory;
  readonly repository: DynamoDbPkiRepository;
  readonly maintenance: PkiMaintenance;
  readonly gauges: () => Promise<MetricsSnapshot>;
}

const PKI_SETTINGS = {
  crlValiditySeconds: 7 * 86_400,
  crlRebuildSeconds: 86_400,
  tidyBufferSeconds: 72 * 3600,
  expiryWarningDays: 30,
  signerCacheMs: 300_000,
};

const caKeysOf = ({ config, clients }: VaultCore) =>
  config.keyProvider === 'local'
    ? new LocalCaKeys(loadOrCreateMasterKey(config.localKeyFile ?? ''), join(dirname(config.localKeyFile ?? ''), 'pki-keys'))
    : new AwsKmsCaKeys(kmsClient(clients));

const publisherOf = ({ config, clients }: VaultCore): CrlPublisher =>
  config.auditBucket ? new S3CrlPublisher(s3Client(clients), config.auditBucket) : { publish: async () => undefined };

const composed = new WeakMap<VaultCore, Pki>();
/** Whoever composes the PKI first (a scrape's gauges need no logger), a later caller's logger still gets its warnings. */
const loggers = new WeakMap<VaultCore, Pick<Logger, 'warn'>>();

export const composePki = (core: VaultCore, logger?: Pick<Logger, 'warn'>): Pki => {
  if (logger) loggers.set(core, logger);
  const existing = composed.get(core);
  if (existing) return existing;
  const { dynamodb, config, keys, auth, metrics, events } = core;
  const repository = new DynamoDbPkiRepository(dynamodb, config.stateTable);
  const inventory = new DynamoDbCertificateInventory(dynamodb, config.stateTable);
  const caKeys = new InstrumentedCaKeys(caKeysOf(core), (operation, seconds, failed) => metrics.keyProviderCall(operation, seconds, failed));
  const cas = new CaService(repository, keys, auth, caKeys, PKI_SETTINGS.signerCacheMs);
  const issuer = new IssuerService(repository, cas, auth, inventory, metrics, events);
  const onPublishError = (error: unknown, caId: string) =>
    loggers.get(core)?.warn('crl publication to the audit bucket failed', { ca_id: caId, error: describeError(error) });
  const revocation = new RevocationService(repository, inventory, cas, auth, publisherOf(core), PKI_SETTINGS, metrics, events, Date.now, onPublishError);
  const maintenance = new PkiMaintenance(repository, inventory, revocation, PKI_SETTINGS, events);
  const pki: Pki = { cas, issuer, revocation, inventory, repository, maintenance, gauges: () => readPkiGauges(inventory, repository, Date.now()) };
  composed.set(core, pki);
  return pki;
};

// ACME for the api: providers, managed certificates and the public HTTP-01
// answers. The orders themselves run in the scheduler (acme-renewals.ts), so
// nothing here pulls in jose, @peculiar/x509, undici or the Route 53 client.
import { DynamoDbAcmeChallengeStore, DynamoDbAcmeRepository } from '../adapters/dynamodb/dynamodb-acme-repository.js';
import { EgressPolicyCheck } from '../adapters/http/egress-check.js';
import { AcmeService } from '../domain/acme/acme-service.js';
import type { CertificateInventorySink } from '../domain/ports/certificate-inventory.js';
import { composePki } from './pki.js';
import type { VaultCore } from './vault-core.js';
import { egressPolicyOf } from './egress.js';

export const acmeStoresOf = ({ dynamodb, config }: VaultCore) => ({
  repository: new DynamoDbAcmeRepository(dynamodb, config.stateTable),
  challenges: new DynamoDbAcmeChallengeStore(dynamodb, config.stateTable),
});

/** The api's ACME service: CRUD, sealing, and the public HTTP-01 answers. */
export const composeAcme = (core: VaultCore): AcmeService => {
  const { repository, challenges } = acmeStoresOf(core);
  return new AcmeService(repository, challenges, core.keys, core.auth, new EgressPolicyCheck(egressPolicyOf(core.config)));
};

/**
 * Where issued ACME certificates are recorded: the PKI's inventory, so the
 * expiry gauges, the "which" table and `certificate.expiring` cover them too,
 * counted in `scaivault_certificates_issued_total{issuer_type="acme"}`.
 */
export const acmeInventoryOf = (core: VaultCore): CertificateInventorySink => {
  const { inventory } = composePki(core);
  return {
    recordIssued: async (record) => {
      await inventory.recordIssued(record);
      core.metrics.certificateIssued(record.caId, record.issuerType);
    },
  };
};

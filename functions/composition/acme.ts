// ACME for the api: providers, managed certificates and the public HTTP-01
// answers. The orders themselves run in the scheduler (acme-renewals.ts), so
// nothing here pulls in jose, @peculiar/x509, undici or the Route 53 client.
import { DynamoDbAcmeCertificateInventory } from '../adapters/dynamodb/dynamodb-acme-certificate-inventory.js';
import { DynamoDbAcmeChallengeStore, DynamoDbAcmeRepository } from '../adapters/dynamodb/dynamodb-acme-repository.js';
import { EgressPolicyCheck } from '../adapters/http/egress-check.js';
import { AcmeService } from '../domain/acme/acme-service.js';
import type { CertificateInventorySink } from '../domain/ports/certificate-inventory.js';
import type { VaultCore } from './vault-core.js';
import { egressPolicyOf } from './webhooks.js';

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
 * Where issued ACME certificates are recorded. The PKI inventory implements the
 * same port: at merge, return it here instead.
 */
export const acmeInventoryOf = (core: VaultCore): CertificateInventorySink => new DynamoDbAcmeCertificateInventory(core.dynamodb, core.config.stateTable);

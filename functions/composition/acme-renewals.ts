// The scheduler's ACME orders and renewals. jose, @peculiar/x509, undici and the
// Route 53 client are loaded by import() on the first order; only the scheduler's
// bundle carries them (the api composes acme.ts, never this file).
import { readFileSync } from 'node:fs';
import { Http01Solver } from '../adapters/acme/http01-solver.js';
import type { DynamoDbAcmeChallengeStore } from '../adapters/dynamodb/dynamodb-acme-repository.js';
import type { AuditRecorder } from '../domain/audit/audit-maintenance.js';
import { AcmeRenewals } from '../domain/acme/acme-renewals.js';
import type { AcmeOrderer, ChallengeSolver, ManagedCertificateRecord, OrderRequest } from '../domain/ports/acme.js';
import type { Logger } from '../observability/logger.js';
import { acmeInventoryOf, acmeStoresOf } from './acme.js';
import type { VaultCore } from './vault-core.js';
import { egressPolicyOf } from './egress.js';

/** The RFC 8555 orderer over the egress-guarded dispatcher, built on the first order. */
const lazyOrderer = (core: VaultCore): AcmeOrderer => {
  let orderer: Promise<AcmeOrderer> | undefined;
  const load = async (): Promise<AcmeOrderer> => {
    const [{ RfcAcmeOrderer }, { createEgressAgent }] = await Promise.all([
      import('../adapters/acme/acme-orderer.js'),
      import('../adapters/http/egress-agent.js'),
    ]);
    const { acme } = core.config;
    const timeoutMs = acme.callTimeoutMs;
    const extraCaPem = acme.caFile ? readFileSync(acme.caFile, 'utf8') : undefined;
    const dispatcher = createEgressAgent(egressPolicyOf(core.config), {
      connectTimeoutMs: timeoutMs,
      headersTimeoutMs: timeoutMs,
      bodyTimeoutMs: timeoutMs,
      extraCaPem,
    });
    return new RfcAcmeOrderer({ dispatcher, callTimeoutMs: timeoutMs, pollBudgetMs: acme.orderBudgetMs });
  };
  return {
    order: async (request: OrderRequest) => {
      orderer ??= load().catch((error: unknown) => {
        orderer = undefined;
        throw error;
      });
      return (await orderer).order(request);
    },
  };
};

/** A solver that loads its implementation (and, for dns-01, the Route 53 client) when first used. */
const solverOf = (core: VaultCore, challenges: DynamoDbAcmeChallengeStore): ((certificate: ManagedCertificateRecord) => ChallengeSolver) => {
  let route53: Promise<import('@aws-sdk/client-route-53').Route53Client> | undefined;
  const route53Client = () =>
    (route53 ??= import('@aws-sdk/client-route-53').then(
      ({ Route53Client }) => new Route53Client({ maxAttempts: 3, requestHandler: { requestTimeout: core.config.acme.callTimeoutMs } }),
    ));
  return (certificate) => {
    const load = async (): Promise<ChallengeSolver> => {
      if (certificate.challengeType === 'http-01') return new Http01Solver(challenges);
      const { Route53Dns01Solver } = await import('../adapters/route53/route53-dns01-solver.js');
      return new Route53Dns01Solver(await route53Client(), { hostedZoneId: certificate.hostedZoneId ?? '' });
    };
    return {
      present: async (domain, token, keyAuthorization) => (await load()).present(domain, token, keyAuthorization),
      cleanup: async (domain, token, keyAuthorization) => (await load()).cleanup(domain, token, keyAuthorization),
    };
  };
};

/** The scheduler's ACME orders and renewals. */
export const composeAcmeRenewals = (core: VaultCore, audit: AuditRecorder, logger: Logger): AcmeRenewals => {
  const { repository, challenges } = acmeStoresOf(core);
  return new AcmeRenewals({
    repository,
    keys: core.keys,
    activeKeyId: (tenantId) => core.auth.activeKeyId(tenantId),
    orderer: lazyOrderer(core),
    solverFor: solverOf(core, challenges),
    inventory: acmeInventoryOf(core),
    metrics: core.metrics,
    events: core.events,
    audit,
    logger,
  });
};

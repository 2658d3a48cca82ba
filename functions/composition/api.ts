import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { readSecretString, secretsManagerClient, socketPoolStats } from '../adapters/aws-clients.js';
import { DynamoDbRateLimitStore } from '../adapters/dynamodb/dynamodb-rate-limit-store.js';
import { composeCore, retryingOnce, type VaultCore } from '../composition/vault-core.js';
import { composeWebhooks } from '../composition/webhooks.js';
import { auditBucketOf, type AuditChainServices, type AuditTrail, composeAuditTrail } from '../composition/audit-trail.js';
import { composeHealth } from '../composition/health.js';
import { lazyServices } from '../composition/lazy-services.js';
import type { VaultConfig } from '../config.js';
import { RateLimiter } from '../domain/rate-limit/rate-limiter.js';
import { CloudWatchRequestMetrics } from '../observability/cloudwatch-metrics.js';
import { withLogContext } from '../observability/log-context.js';
import { describeError, type Logger } from '../observability/logger.js';
import { defaultTracing } from '../observability/tracing.js';
import { httpTracing, withRequestSpan } from '../observability/tracing-middleware.js';
import { ApiApp, type RequestState, type VaultContext } from '../http/api-app.js';
import { apiRouter, routeTableServices, type ApiRouteServices } from '../routes/route-table.js';
import type { KeyRouteServices } from '../routes/keys/key-routes.js';
import type { PkiRouteServices } from '../routes/pki/pki-routes.js';
import type { RouteDefinition } from '../http/route.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import type { FleetMetrics } from '../observability/fleet-metrics.js';
import { accessLog, problemErrors, requestContext, requestMetrics } from '../http/middleware.js';
import type { GroupRouter } from '../http/router.js';
import { withDeadline } from '../http/request-deadline.js';
import { DynamoDbIdempotencyStore } from '../adapters/dynamodb/dynamodb-idempotency-store.js';
import { DeadlineExceededError, OutcomeUnknownError } from '../domain/errors.js';
import { dataKeySealer, IdempotentRequests } from '../domain/idempotency/idempotent-requests.js';
import { RotationRequests } from '../domain/rotation/rotation-requests.js';
import { lazyModule } from '../domain/lazy-module.js';
import { type AcceptedTokens, CachedRotatingTokens, fixedTokens } from '../domain/auth/rotating-token.js';
import { SecretsManagerTokenVersions } from '../adapters/secrets-manager/secrets-manager-token-versions.js';

export interface Api extends ApiRouteServices {
  readonly config: VaultConfig;
  readonly auth: AuthService;
  readonly fleetMetrics: FleetMetrics;
  readonly handler: middy.MiddyfiedHandler<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;
}

/** Idempotency keys live a day; a first request may run until the function's own timeout. */
const IDEMPOTENCY = { retentionMs: 24 * 3600 * 1000, leaseMs: 30_000 };

const idempotencyOf = ({ dynamodb, config, keys, auth }: VaultCore, logger: Logger): IdempotentRequests =>
  new IdempotentRequests(
    new DynamoDbIdempotencyStore(dynamodb, config.stateTable),
    dataKeySealer(keys, (tenantId) => auth.activeKeyId(tenantId)),
    IDEMPOTENCY,
    (error) => logger.error('idempotency answer lost after the change was made', { error: describeError(error) }),
  );

/** Past the deadline, a change already under way may have been made: its outcome is unknown, not "nothing changed". */
const pastDeadline = (budgetMs: number, context: VaultContext): Error =>
  context.vault?.changeStarted ? new OutcomeUnknownError('the request deadline passed while its change was under way') : new DeadlineExceededError(budgetMs);

/**
 * In AWS the root token lives in a KMS-encrypted Secrets Manager secret made by the stack;
 * the first request of each container makes sure its hash is stored.
 */
const rootBootstrapOf = ({ config, clients, auth }: VaultCore, logger: Logger): (() => Promise<void>) =>
  retryingOnce(
    async () => {
      if (!config.rootTokenSecretArn) return;
      // Secrets Manager generates the 43 random characters; the token prefix is ours.
      const raw = await readSecretString(secretsManagerClient(clients), config.rootTokenSecretArn);
      await auth.bootstrapRoot(raw.startsWith('svt_') ? raw : `svt_${raw}`);
    },
    (error) => logger.error('root token bootstrap failed', { error: (error as Error).name }),
  );

/** The metrics token rotates in AWS: re-read after a short TTL, or at once (at most every 5 s) when a scraper presents a token we do not know. */
const metricsTokensOf = (config: VaultConfig, clients: VaultCore['clients']): AcceptedTokens =>
  config.metricsTokenSecretArn
    ? new CachedRotatingTokens(new SecretsManagerTokenVersions(secretsManagerClient(clients), config.metricsTokenSecretArn), {
        ttlMs: config.metricsTokenTtlSeconds * 1000,
        minRefreshMs: 5000,
        graceMs: config.metricsTokenGraceSeconds * 1000,
      })
    : fixedTokens(config.metricsToken);

/** The dispatcher: routes, rate limits, the audit trail and idempotency keys around the route groups. */
const apiAppOf = (
  core: VaultCore,
  audit: AuditTrail,
  router: GroupRouter<RouteDefinition<ApiRouteServices>>,
  services: ApiRouteServices,
  logger: Logger,
): ApiApp<ApiRouteServices> => {
  const { config, dynamodb, metrics, auth } = core;
  const rateLimiter = new RateLimiter(new DynamoDbRateLimitStore(dynamodb, config.stateTable), config.rateLimits, Date.now, metrics);
  const onAuditLost = (error: unknown, state: RequestState) =>
    logger.error('audit outcome record lost after the change was made', {
      request_id: state.requestId,
      route: state.route ?? null,
      error: describeError(error),
    });
  const onRouted = (state: RequestState) => {
    state.counted = true;
    metrics.requestStarted(state.category);
  };
  const idempotency = idempotencyOf(core, logger);
  return new ApiApp({ router, services, auth, rateLimiter, audit: audit.log, idempotency, onAuditLost, onRouted });
};

type ApiHandler = Api['handler'];

/** The middy chain every request passes: tracing, access log, metrics, problem mapping, the deadline. */
const handlerOf = (core: VaultCore, app: ApiApp<ApiRouteServices>, logger: Logger): ApiHandler => {
  const { config, metrics, fleetMetrics } = core;
  const bootstrap = rootBootstrapOf(core, logger);
  const cloudWatch = config.cloudWatchNamespace ? new CloudWatchRequestMetrics(config.cloudWatchNamespace, 'scaivault-api') : undefined;
  const dispatch = async (event: APIGatewayProxyEventV2, context: VaultContext) => {
    // Logged inside; requests with other tokens must not depend on the bootstrap, and probes without a token never wait on it.
    if (event.headers?.authorization) await bootstrap().catch(() => undefined);
    const state = context.vault!;
    return withLogContext({ request_id: state.requestId }, () => app.dispatch(event, state));
  };
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>()
    .use(httpTracing())
    .use(accessLog(logger))
    .use(requestMetrics(metrics, fleetMetrics, logger, cloudWatch))
    .use(requestContext())
    .use(problemErrors(logger))
    .handler(withRequestSpan(withDeadline(config.requestDeadlineMs, dispatch, pastDeadline)));
};

/**
 * Dynamic secrets, ACME, data-key rotation and the PKI: composed, with their
 * libraries, on the first request that calls them (see lazy-services.ts).
 */
const rarelyUsedServices = (core: VaultCore, audit: AuditTrail, logger: Logger) => {
  const dynamic = lazyServices(async () => {
    const { dynamicConfig, leases } = (await import('./dynamic.js')).composeDynamic(core, logger);
    return { dynamicConfig, leases };
  });
  return {
    dynamicConfig: dynamic.dynamicConfig,
    leases: dynamic.leases,
    acme: lazyServices(async () => (await import('./acme.js')).composeAcme(core)),
    keyRotation: lazyServices<KeyRouteServices['keyRotation']>(async () => (await import('./key-rotation.js')).composeKeyRotation(core, audit.log, logger)),
    pki: lazyServices<PkiRouteServices['pki']>(async () => {
      const { cas, issuer, revocation } = (await import('./pki.js')).composePki(core, logger);
      return { cas, issuer, revocation };
    }),
  };
};

/**
 * The audit trail's write side, and the chain's verifier and exporter, which serve operator routes and
 * gauges: composed with their first call (the bucket and path-glob settings are checked now).
 */
const auditOf = (core: VaultCore, logger: Logger): AuditTrail & AuditChainServices => {
  auditBucketOf(core.config);
  const chain = lazyServices<AuditChainServices>(async () => {
    const { verifier, exporter } = (await import('./audit.js')).composeAudit(core, logger);
    return { verifier, exporter };
  });
  return { ...composeAuditTrail(core, logger), verifier: chain.verifier, exporter: chain.exporter };
};

/** The rotators a rotation schedule may name, with the PostgreSQL rotator's code: loaded with the first schedule checked. */
const rotatorsOf = (config: VaultConfig) => lazyModule(async () => (await import('./rotators.js')).rotatorsFor(config));

/** The composition root of the `api` function: every adapter and service, wired once per container. */
export const composeApi = (config: VaultConfig, logger: Logger): Api => {
  const core = composeCore(config, logger);
  const { clients, keyWrapper, keyCache, auth, secretRepository, secrets, fleetMetrics } = core;
  const audit = auditOf(core, logger);
  const router = apiRouter();
  const { health, stateGauges, scheduledChecks } = composeHealth(core, audit);
  // Subscribes the webhook fan-out to the core's events; the subscriptions' API loads with the first webhook request.
  const fanOut = composeWebhooks(core, logger);
  const services = {
    config,
    logger,
    auth,
    secrets,
    health,
    keyCache,
    keyWrapper,
    fleetMetrics,
    stateGauges,
    scheduledChecks,
    metricsTokens: metricsTokensOf(config, clients),
    connectionPool: socketPoolStats,
    tracingEnabled: defaultTracing.enabled,
    recentRequests: () => core.metrics.recentRequests.stats(),
    syslog: audit.forwarder,
    webhooks: lazyServices<ApiRouteServices['webhooks']>(async () => (await import('./webhook-service.js')).composeWebhookService(core, fanOut)),
    audit,
    jobs: core.jobs,
    jobRepository: core.jobRepository,
    rotationRequests: new RotationRequests(secretRepository, auth, core.jobs, core.jobRepository, rotatorsOf(config)),
    ...rarelyUsedServices(core, audit, logger),
    ...routeTableServices(router),
  };
  return { ...services, handler: handlerOf(core, apiAppOf(core, audit, router, services, logger), logger) };
};

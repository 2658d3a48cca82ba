// `GET /v1/metrics`: the fleet's Prometheus exposition.
import type { VaultConfig } from '../../config.js';
import type { AuthService } from '../../domain/auth/auth-service.js';
import type { AcceptedTokens } from '../../domain/auth/rotating-token.js';
import { constantTimeEquals } from '../../domain/auth/tokens.js';
import { UnauthenticatedError } from '../../domain/errors.js';
import { headerOf } from '../../http/body.js';
import { routesOver, type PublicRequest, type RouteGroup } from '../../http/route.js';
import type { HealthService } from '../../domain/health/health-service.js';
import { EXPOSITION_CONTENT_TYPE, renderExposition } from '../../observability/exposition.js';
import type { FleetMetrics } from '../../observability/fleet-metrics.js';
import { fleetSnapshot } from '../../observability/fleet-snapshot.js';
import type { Logger } from '../../observability/logger.js';
import type { StateGauges } from '../../observability/state-gauges.js';

export interface MetricsRouteServices {
  readonly config: Pick<VaultConfig, 'metricsLabelCap'>;
  readonly auth: Pick<AuthService, 'authenticate' | 'requireOperator'>;
  readonly fleetMetrics: Pick<FleetMetrics, 'collect'>;
  readonly stateGauges: Pick<StateGauges, 'readOrLast'>;
  /** Run at each scrape for `scaivault_ready` and `scaivault_dependency_up`. */
  readonly health: Pick<HealthService, 'readiness'>;
  readonly logger: Logger;
  /** The tokens /v1/metrics accepts (current and, during a rotation's grace, previous); none leaves it open. */
  readonly metricsTokens: AcceptedTokens;
}

/**
 * /v1/metrics is open when no metrics token is configured (the embedded vault
 * on loopback); otherwise it takes the metrics token or an operator's token.
 * Any other valid token is forbidden: the exposition carries every tenant's labels.
 */
export const authorizeScrape = async ({ auth, metricsTokens }: MetricsRouteServices, authorization: string | undefined): Promise<void> => {
  const expected = await metricsTokens.accepted();
  if (expected.length === 0) return;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!presented) throw new UnauthenticatedError('a metrics token or an operator token is required');
  if (matchesAny(presented, expected)) return;
  // A scraper may already hold a token rotated in after our last read.
  if (matchesAny(presented, await metricsTokens.afterMismatch())) return;
  await auth.requireOperator(await auth.authenticate(authorization));
};

/** Compared with every accepted token, so the time taken does not tell which one matched. */
const matchesAny = (presented: string, accepted: readonly string[]): boolean => accepted.map((token) => constantTimeEquals(presented, token)).includes(true);

const scrape = async (services: MetricsRouteServices, { event }: PublicRequest) => {
  await authorizeScrape(services, headerOf(event, 'authorization'));
  const { fleetMetrics, stateGauges, logger, config } = services;
  const snapshot = await fleetSnapshot({ fleetMetrics, stateGauges, logger, labelCap: config.metricsLabelCap }, services.health.readiness());
  return {
    statusCode: 200,
    headers: { 'content-type': EXPOSITION_CONTENT_TYPE, 'cache-control': 'no-store' },
    body: renderExposition(snapshot),
  };
};

const route = routesOver<MetricsRouteServices>();

export const metricsRoutes: RouteGroup<MetricsRouteServices> = {
  name: 'metrics',
  routes: [
    route.public({
      method: 'GET',
      pattern: '/v1/metrics',
      category: 'metrics',
      rateLimit: null,
      summary: 'Prometheus text exposition of the whole fleet (the metrics token or an operator token when one is configured)',
      responses: { 200: { description: 'Prometheus text format', contentType: EXPOSITION_CONTENT_TYPE } },
      handle: scrape,
    }),
  ],
};

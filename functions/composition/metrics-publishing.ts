// The scheduler's continuous dependency checks and its push of the fleet's metrics.
import { HttpRemoteWriteSink } from '../adapters/http/http-remote-write-sink.js';
import { sigV4Signer } from '../adapters/http/sigv4-signer.js';
import type { Readiness } from '../domain/health/health-service.js';
import { describeError } from '../domain/errors.js';
import { fleetSnapshot } from '../observability/fleet-snapshot.js';
import type { Logger } from '../observability/logger.js';
import { DEFAULT_PUBLISH_RETRIES, MetricsPublisher, type PublishResult } from '../observability/metrics-publisher.js';
import type { HealthComposition } from './health.js';
import type { VaultCore } from './vault-core.js';

/** Every pushed series carries it, as a scrape job named `scaivault` would add it. */
export const METRICS_JOB = 'scaivault';

/** One push attempt ends after this long; with the retries a publish stays well inside the scheduler's 60 s. */
const PUSH_TIMEOUT_MS = 5000;

/** Amazon Managed Prometheus takes SigV4 for service `aps`, with the function role's credentials (the SDK's default chain). */
const publisherOf = (core: VaultCore, logger: Logger): MetricsPublisher | undefined => {
  const target = core.config.remoteWrite;
  if (!target) return undefined;
  const { credentials, region } = core.dynamodb.config;
  const sign = target.sigv4 ? sigV4Signer({ service: 'aps', region, credentials }) : undefined;
  const sink = new HttpRemoteWriteSink(target.url, PUSH_TIMEOUT_MS, sign);
  return new MetricsPublisher(sink, core.registry, logger, { job: METRICS_JOB, instance: core.config.metricsInstance, ...DEFAULT_PUBLISH_RETRIES });
};

export interface MetricsPublishing {
  /** Runs every readiness check, records the results and stores them for the api's detailed view. */
  checkDependencies(): Promise<Readiness>;
  /** Pushes the fleet's state with these checks' readiness; undefined when no remote-write URL is configured. */
  publish(readiness: Readiness): Promise<PublishResult | undefined>;
}

export const composeMetricsPublishing = (core: VaultCore, { health, stateGauges, scheduledChecks }: HealthComposition, logger: Logger): MetricsPublishing => {
  const publisher = publisherOf(core, logger);
  // Unlike a scrape, a push goes on without the fleet store: `scaivault_ready 0` matters most when DynamoDB is down.
  // Each tick merges afresh, which also stores the fleet view api scrapes serve.
  const fleetMetrics = {
    collect: () =>
      core.fleetMetrics.collect({ fresh: true }).catch((error: unknown) => {
        logger.warn('fleet metrics unavailable; pushing readiness and state gauges only', { error: describeError(error) });
        return {};
      }),
  };
  const sources = { fleetMetrics, stateGauges, labelCap: core.config.metricsLabelCap, logger };
  return {
    async checkDependencies() {
      const checkedAt = new Date().toISOString();
      const readiness = await health.readiness();
      await scheduledChecks
        .save({ checkedAt, ready: readiness.ready, checks: readiness.checks })
        .catch((error: unknown) => logger.warn('dependency checks not stored', { error: describeError(error) }));
      if (!readiness.ready) {
        const down = Object.keys(readiness.checks).filter((name) => readiness.checks[name]?.status === 'down');
        logger.warn('dependency check failed', { dependencies: down.join(',') });
      }
      return readiness;
    },
    async publish(readiness) {
      if (publisher) return publisher.publish(await fleetSnapshot(sources, Promise.resolve(readiness)));
      // Nothing to push: still keep the fleet view fresh when scrapes are served from it.
      if (core.config.metricsViewMaxAgeSeconds > 0) await fleetMetrics.collect();
      return undefined;
    },
  };
};

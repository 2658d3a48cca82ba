// What /v1/metrics serves and the scheduler pushes: the fleet-merged series, the state gauges and readiness.
import type { CheckObserver, Readiness } from '../domain/health/health-service.js';
import { capLabels } from './fleet-merge.js';
import type { FleetMetrics } from './fleet-metrics.js';
import { describeError, type Logger } from './logger.js';
import { METRICS } from './metric-catalogue.js';
import { seriesKey, type MetricRegistry, type MetricsSnapshot } from './metric-registry.js';
import type { StateGauges } from './state-gauges.js';

export interface FleetSnapshotSources {
  readonly fleetMetrics: Pick<FleetMetrics, 'collect'>;
  readonly stateGauges: Pick<StateGauges, 'readOrLast'>;
  readonly labelCap: number;
  readonly logger: Pick<Logger, 'warn'>;
}

/** `scaivault_ready` and `scaivault_dependency_up{dependency}` from one run of the readiness checks. */
export const readinessGauges = (readiness: Readiness): MetricsSnapshot => ({
  [METRICS.ready.name]: { '': readiness.ready ? 1 : 0 },
  [METRICS.dependencyUp.name]: Object.fromEntries(
    Object.entries(readiness.checks).map(([dependency, check]) => [seriesKey([dependency]), check.status === 'up' ? 1 : 0]),
  ),
});

/** Records each check's duration in `scaivault_dependency_check_duration_seconds{dependency}`. */
export const checkDurationRecorder =
  (registry: Pick<MetricRegistry, 'observe'>): CheckObserver =>
  (dependency, _result, seconds) =>
    registry.observe(METRICS.dependencyCheckDuration, [dependency], seconds);

/** The fleet's counters and histograms, the state gauges (the last values when the source is down) and the readiness gauges. */
export const fleetSnapshot = async (sources: FleetSnapshotSources, readiness: Promise<Readiness>): Promise<MetricsSnapshot> => {
  const [fleet, state, checks] = await Promise.all([
    sources.fleetMetrics.collect(),
    sources.stateGauges.readOrLast((error) => sources.logger.warn('state gauges unavailable; serving the last values', { error: describeError(error) })),
    readiness,
  ]);
  const cappedState = capLabels(state, {}, sources.labelCap).snapshot;
  return { ...fleet, ...cappedState, ...readinessGauges(checks) };
};

import { describe, expect, it } from 'vitest';
import { HealthService } from '../../functions/domain/health/health-service.js';
import { checkDurationRecorder, fleetSnapshot } from '../../functions/observability/fleet-snapshot.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry, seriesKey, type HistogramValue } from '../../functions/observability/metric-registry.js';

const probe = (name: string, check: () => Promise<void>) => ({ name, check });

describe('readiness in the metrics', () => {
  it('records every check duration per dependency and turns one run into scaivault_ready and scaivault_dependency_up', async () => {
    const registry = new MetricRegistry();
    const health = new HealthService(
      [
        probe('dynamodb', async () => undefined),
        probe('rotation_queue', () => Promise.reject(new Error('down'))),
        probe('hung', () => new Promise(() => undefined)),
      ],
      50,
      checkDurationRecorder(registry),
    );
    const snapshot = await fleetSnapshot(
      {
        fleetMetrics: { collect: async () => ({ [METRICS.requests.name]: { [seriesKey(['GET', 'health', '200'])]: 1 } }) },
        stateGauges: { readOrLast: async () => ({ [METRICS.buildInfo.name]: { [seriesKey(['1.0.0'])]: 1 } }) },
        labelCap: 50,
        logger: { warn: () => undefined },
      },
      health.readiness(),
    );
    expect(snapshot[METRICS.ready.name]).toEqual({ '': 0 });
    expect(snapshot[METRICS.dependencyUp.name]).toEqual({ dynamodb: 1, rotation_queue: 0, hung: 0 });
    expect(snapshot[METRICS.requests.name]).toBeDefined();
    expect(snapshot[METRICS.buildInfo.name]).toBeDefined();
    const durations = registry.snapshot()[METRICS.dependencyCheckDuration.name] as Record<string, HistogramValue>;
    expect(Object.keys(durations).sort()).toEqual(['dynamodb', 'hung', 'rotation_queue']);
    // The hung probe counts its deadline, not forever.
    expect(durations.hung?.count).toBe(1);
    expect(durations.hung?.sum).toBeGreaterThanOrEqual(0.04);
    expect(durations.hung?.sum).toBeLessThan(1);
  });

  it('is ready when every check is up', async () => {
    const health = new HealthService([probe('dynamodb', async () => undefined)], 50);
    const sources = {
      fleetMetrics: { collect: async () => ({}) },
      stateGauges: { readOrLast: async () => ({}) },
      labelCap: 50,
      logger: { warn: () => undefined },
    };
    expect((await fleetSnapshot(sources, health.readiness()))[METRICS.ready.name]).toEqual({ '': 1 });
  });
});

// The series of dynamic secrets: counters where leases are made and revoked,
// database call latency, and the state gauges read from the lease records.
import type { DynamicEngine } from '../domain/dynamic/dynamic.js';
import type { LeaseMetrics } from '../domain/ports/dynamic.js';
import type { SignalEmitter } from './cloudwatch-signals.js';
import { METRICS } from './metric-catalogue.js';
import { seriesKey, type MetricRegistry, type MetricsSnapshot } from './metric-registry.js';

export class RegistryLeaseMetrics implements LeaseMetrics {
  constructor(
    private readonly registry: Pick<MetricRegistry, 'inc' | 'observe'>,
    /** CloudWatch's copy of what pages (irrevocable leases, engines down), when EMF is on. */
    private readonly signals?: SignalEmitter,
  ) {}

  enginesProbed(down: number): void {
    this.signals?.emit('enginesDown', down);
  }

  leaseGenerated(engine: string, role: string): void {
    this.registry.inc(METRICS.leasesGenerated, [engine, role]);
  }

  revocation(engine: string, status: 'success' | 'failed' | 'irrevocable'): void {
    this.registry.inc(METRICS.leaseRevocations, [engine, status]);
    if (status === 'irrevocable') this.signals?.emit('leasesIrrevocable');
  }

  externalCall(provider: string, operation: string, status: 'success' | 'error', seconds: number): void {
    this.registry.observe(METRICS.externalRequestDuration, [provider, operation, status], seconds);
  }
}

/** What the lease gauges read: every engine with its roles' active counts and oldest lease. */
export interface LeaseGaugeSource {
  listAllEngines(): Promise<DynamicEngine[]>;
  listRoles(tenantId: string, engine: string): Promise<readonly { name: string; activeLeases: number }[]>;
  oldestLeaseIssuedAt(tenantId: string, engine: string, role: string): Promise<string | undefined>;
}

interface EngineGauges {
  active: number;
  irrevocable: number;
  healthy: number;
  oldestSeconds: number;
}

const engineGauges = async (source: LeaseGaugeSource, engine: DynamicEngine, nowMs: number): Promise<EngineGauges> => {
  const roles = await source.listRoles(engine.tenantId, engine.name);
  const oldest = await Promise.all(roles.map((role) => source.oldestLeaseIssuedAt(engine.tenantId, engine.name, role.name)));
  const ages = oldest.filter((at): at is string => at !== undefined).map((at) => Math.max(0, (nowMs - Date.parse(at)) / 1000));
  return {
    active: roles.reduce((sum, role) => sum + Math.max(0, role.activeLeases), 0),
    irrevocable: Math.max(0, engine.irrevocableLeases),
    // Never probed yet counts as up: an engine is created only after its database answered.
    healthy: engine.health === null || engine.health.healthy ? 1 : 0,
    oldestSeconds: Math.round(Math.max(0, ...ages)),
  };
};

/**
 * `scaivault_leases_active`, `scaivault_leases_irrevocable`, `scaivault_engine_health` and
 * `scaivault_lease_oldest_age_seconds` by engine name; engines of the same name in
 * different tenants add up (health: down if any is down; age: the oldest).
 */
export const readLeaseGauges = async (source: LeaseGaugeSource, nowMs: number = Date.now()): Promise<MetricsSnapshot> => {
  const engines = await source.listAllEngines();
  const gauges = await Promise.all(engines.map((engine) => engineGauges(source, engine, nowMs)));
  const snapshot: Record<string, Record<string, number>> = {
    [METRICS.leasesActive.name]: {},
    [METRICS.leasesIrrevocable.name]: {},
    [METRICS.engineHealth.name]: {},
    [METRICS.leaseOldestAge.name]: {},
  };
  engines.forEach((engine, index) => {
    const value = gauges[index] as EngineGauges;
    const key = seriesKey([engine.name]);
    const add = (metric: string, amount: number, merge: (a: number, b: number) => number) => {
      const series = snapshot[metric] as Record<string, number>;
      series[key] = key in series ? merge(series[key] as number, amount) : amount;
    };
    add(METRICS.leasesActive.name, value.active, (a, b) => a + b);
    add(METRICS.leasesIrrevocable.name, value.irrevocable, (a, b) => a + b);
    add(METRICS.engineHealth.name, value.healthy, Math.min);
    add(METRICS.leaseOldestAge.name, value.oldestSeconds, Math.max);
  });
  return snapshot;
};

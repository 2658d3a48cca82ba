import { EMPTY_BASELINE, type Baseline, type InstanceRecord } from '../../../functions/observability/fleet-merge.js';
import { InstanceRetiredError } from '../../../functions/observability/fleet-metrics.js';
import type { FleetMetricsStore } from '../../../functions/domain/ports/metrics.js';

export type FleetStoreOperation = 'putInstance' | 'readFleet' | 'retireInstance' | 'saveBaseline' | 'deleteInstance';

export interface FleetStoreCall {
  readonly operation: FleetStoreOperation;
  readonly at: number;
  readonly instanceId?: string;
  /** Whether a conditional write took effect. */
  readonly applied?: boolean;
}

/**
 * The FleetMetricsStore port in memory, with exactly the conditions of the
 * DynamoDB adapter; every record is deep-copied in and out, like the gzipped
 * JSON the adapter stores.
 */
export class InMemoryFleetMetricsStore implements FleetMetricsStore {
  readonly instances = new Map<string, InstanceRecord>();
  baseline: Baseline | undefined;
  readonly calls: FleetStoreCall[] = [];
  private readonly now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  count(operation: FleetStoreOperation, applied?: boolean): number {
    return this.calls.filter((call) => call.operation === operation && (applied === undefined || call.applied === applied)).length;
  }

  async putInstance(record: InstanceRecord, first: boolean): Promise<void> {
    await tick();
    const existing = this.instances.get(record.instanceId);
    // Same conditions as the adapter: a first flush may replace its own live item (an earlier attempt whose answer was lost).
    const allowed = first ? existing === undefined || !existing.retired : existing !== undefined && !existing.retired;
    this.calls.push({ operation: 'putInstance', at: this.now(), instanceId: record.instanceId, applied: allowed });
    if (!allowed) throw new InstanceRetiredError(`instance ${record.instanceId} was retired`);
    // The adapter writes `retired: false` whatever the record says.
    this.instances.set(record.instanceId, { ...structuredClone(record), retired: false });
  }

  async readFleet(): Promise<{ baseline: Baseline; instances: InstanceRecord[] }> {
    await tick();
    this.calls.push({ operation: 'readFleet', at: this.now() });
    return {
      baseline: structuredClone(this.baseline ?? EMPTY_BASELINE),
      instances: [...this.instances.values()].map((record) => structuredClone(record)),
    };
  }

  async retireInstance(instanceId: string, revision: number): Promise<boolean> {
    await tick();
    const existing = this.instances.get(instanceId);
    const applied = existing !== undefined && existing.revision === revision && !existing.retired;
    this.calls.push({ operation: 'retireInstance', at: this.now(), instanceId, applied });
    if (applied) this.instances.set(instanceId, { ...existing, retired: true });
    return applied;
  }

  async saveBaseline(baseline: Baseline, expectedRevision: number): Promise<boolean> {
    await tick();
    const applied = expectedRevision === 0 ? this.baseline === undefined : this.baseline?.revision === expectedRevision;
    this.calls.push({ operation: 'saveBaseline', at: this.now(), applied });
    if (applied) this.baseline = structuredClone(baseline);
    return applied;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    await tick();
    const existing = this.instances.get(instanceId);
    // Condition: attribute_not_exists(pk) OR retired = true; a failed condition is swallowed.
    const applied = existing === undefined || existing.retired;
    this.calls.push({ operation: 'deleteInstance', at: this.now(), instanceId, applied });
    if (applied) this.instances.delete(instanceId);
  }
}

/** Yields to other pending work, so concurrent callers interleave between store calls as they would over the network. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// The scheduler's part in dynamic secrets: probe every engine, then revoke the
// leases due, found through the expiry index (never a scan). An engine found
// down is not dialled again for each of its leases in the same run.
import type { DomainLogger } from '../ports/logging.js';
import type { DatabaseDriver, DynamicRepository } from '../ports/dynamic.js';
import { connectionOf, type ConnectionSecretReader } from './dynamic-config-service.js';
import type { DynamicEngine, Lease } from './dynamic.js';
import { failureReason, type LeaseRevocation } from './lease-revocation.js';

export const LEASE_SCHEDULER_IDENTITY = 'system:scheduler';
/** How long a run holds a due lease it took before another run may take it (a crashed run's leases come back). */
const CLAIM_MS = 120_000;

export interface LeaseRun {
  readonly enginesProbed: number;
  readonly enginesDown: number;
  readonly revoked: number;
  readonly failed: number;
}

export interface LeaseSchedulerParts {
  readonly repository: DynamicRepository;
  readonly driver: DatabaseDriver;
  readonly readConnectionSecret: ConnectionSecretReader;
  readonly revocation: LeaseRevocation;
  readonly logger: DomainLogger;
  readonly now: () => number;
  /** Due leases one run takes on; the rest wait for the next run. */
  readonly batch: number;
}

const engineKey = (tenantId: string, engine: string): string => `${tenantId}/${engine}`;

export class LeaseScheduler {
  constructor(private readonly parts: LeaseSchedulerParts) {}

  async run(): Promise<LeaseRun> {
    const down = await this.probeEngines();
    const due = await this.parts.repository.dueLeases(new Date(this.parts.now()).toISOString(), this.parts.batch);
    let revoked = 0;
    let failed = 0;
    for (const lease of due) {
      const claimed = await this.claim(lease);
      if (!claimed) continue;
      const result = await this.parts.revocation.attempt(claimed, LEASE_SCHEDULER_IDENTITY, down.get(engineKey(lease.tenantId, lease.engine)));
      if (result.revoked) revoked += 1;
      else failed += 1;
    }
    return { enginesProbed: down.probed, enginesDown: down.size, revoked, failed };
  }

  /** Takes a due lease for this run, so two overlapping runs never revoke the same one. */
  private async claim(lease: Lease): Promise<Lease | undefined> {
    const claimed: Lease = { ...lease, nextAttemptAt: new Date(this.parts.now() + CLAIM_MS).toISOString() };
    return (await this.parts.repository.replaceLease(claimed, lease.nextAttemptAt)) ? claimed : undefined;
  }

  /** Probes each engine and records its health; answers the engines found down, with why. */
  private async probeEngines(): Promise<Map<string, Error> & { probed: number }> {
    const engines = await this.parts.repository.listAllEngines();
    const results = await Promise.all(engines.map((engine) => this.probe(engine)));
    const down = new Map<string, Error>();
    engines.forEach((engine, index) => {
      const error = results[index];
      if (error) down.set(engineKey(engine.tenantId, engine.name), error);
    });
    return Object.assign(down, { probed: engines.length });
  }

  private async probe(engine: DynamicEngine): Promise<Error | undefined> {
    const probedAt = new Date(this.parts.now()).toISOString();
    let failure: Error | undefined;
    try {
      await this.parts.driver.probe(await connectionOf(this.parts.readConnectionSecret, engine));
    } catch (error) {
      failure = new Error(`engine ${engine.name} is unreachable: ${failureReason(error)}`);
    }
    await this.parts.repository
      .recordHealth(engine.tenantId, engine.name, { healthy: !failure, probedAt, lastError: failure ? failure.message : null })
      .catch((error: unknown) => this.parts.logger.warn('engine health not recorded', { engine: engine.name, error: failureReason(error) }));
    return failure;
  }
}

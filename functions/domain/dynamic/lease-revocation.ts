// Revoking one lease, for a request and for the scheduler alike: idempotent
// (a user already gone is revoked), and a failure is never silent: it is kept
// on the lease with its reason, retried with backoff a bounded number of times,
// then the lease is marked irrevocable, counted, announced and listed.
import { recordAfter, type AuditRecorder } from '../audit/audit-maintenance.js';
import { describeError, NotFoundError } from '../errors.js';
import { backoffCeilingMs, type BackoffPolicy } from '../webhooks/backoff.js';
import { connectionOf, type ConnectionSecretReader } from './dynamic-config-service.js';
import type { Lease } from './dynamic.js';
import type { EventPublisher } from '../ports/events.js';
import type { DatabaseDriver, DynamicRepository, LeaseMetrics } from '../ports/dynamic.js';
import type { DomainLogger } from '../ports/logging.js';

export interface RevocationPolicy extends BackoffPolicy {
  /** Failed attempts after which a lease is irrevocable and left to an operator. */
  readonly maxAttempts: number;
}

export const DEFAULT_REVOCATION_POLICY: RevocationPolicy = { baseMs: 30_000, capMs: 3_600_000, maxAttempts: 8 };

/** What one attempt came to: gone from the records, or kept with its failure. */
export type RevocationResult = { readonly revoked: true; readonly reason: 'revoked' | 'absent' } | { readonly revoked: false; readonly lease: Lease };

/** Why a revocation failed, as operators see it: the driver's redacted message, never a password. */
export const failureReason = (error: unknown): string => {
  const message = error instanceof Error ? error.message : String(error);
  return (message || describeError(error)).slice(0, 500);
};

export interface LeaseRevocationParts {
  readonly repository: DynamicRepository;
  readonly driver: DatabaseDriver;
  readonly readConnectionSecret: ConnectionSecretReader;
  readonly events: EventPublisher;
  readonly metrics: LeaseMetrics;
  readonly audit: AuditRecorder;
  readonly logger: DomainLogger;
  readonly policy: RevocationPolicy;
  readonly now: () => number;
}

export class LeaseRevocation {
  constructor(private readonly parts: LeaseRevocationParts) {}

  /** One attempt; `known` is a failure already known for the lease's engine this run (no connection is tried). */
  async attempt(lease: Lease, actor: string, known?: Error): Promise<RevocationResult> {
    const { repository, driver, readConnectionSecret } = this.parts;
    try {
      if (known) throw known;
      const engine = await repository.getEngine(lease.tenantId, lease.engine);
      if (!engine) throw new NotFoundError(`engine ${lease.engine} no longer exists`);
      const outcome = await driver.revoke(await connectionOf(readConnectionSecret, engine), { revocation: lease.revocationStatements }, lease.username);
      await this.revoked(lease, actor, outcome);
      return { revoked: true, reason: outcome };
    } catch (error) {
      return { revoked: false, lease: await this.failed(lease, actor, failureReason(error)) };
    }
  }

  private async revoked(lease: Lease, actor: string, outcome: 'revoked' | 'absent'): Promise<void> {
    const { repository, metrics, events } = this.parts;
    // Only the one who deleted the record gives its quota back: a request and the scheduler may race.
    if (await repository.deleteLease(lease.tenantId, lease.leaseId)) {
      if (lease.state === 'irrevocable') await repository.countIrrevocable(lease.tenantId, lease.engine, -1);
      else await repository.releaseLease(lease.tenantId, lease.engine, lease.role);
      metrics.revocation(lease.engine, 'success');
      const data = { lease_id: lease.leaseId, engine: lease.engine, role: lease.role, username: lease.username, outcome, revoked_by: actor };
      await events.publish({ type: 'lease.revoked', tenantId: lease.tenantId, data, occurredAt: new Date(this.parts.now()).toISOString() });
    }
    await this.audit(lease, actor, 'success', { outcome });
  }

  private async failed(lease: Lease, actor: string, reason: string): Promise<Lease> {
    const { repository, metrics, policy, now } = this.parts;
    const attempts = lease.attempts + 1;
    const final = lease.state === 'irrevocable' || attempts >= policy.maxAttempts;
    // Half to all of the ceiling: never zero, so a dead database is never retried in a tight loop.
    const delay = backoffCeilingMs(policy, attempts) * (0.5 + Math.random() / 2);
    const next: Lease = {
      ...lease,
      attempts,
      lastError: reason,
      state: final ? 'irrevocable' : 'revoking',
      nextAttemptAt: final ? '' : new Date(now() + delay).toISOString(),
    };
    if (await repository.replaceLease(next, lease.nextAttemptAt)) {
      metrics.revocation(lease.engine, final ? 'irrevocable' : 'failed');
      if (final && lease.state !== 'irrevocable') await this.becameIrrevocable(next);
    }
    this.parts.logger.warn('lease revocation failed', { lease_id: lease.leaseId, engine: lease.engine, attempts, final, error: reason });
    await this.audit(lease, actor, 'failure', { attempts, final });
    return next;
  }

  private async becameIrrevocable(lease: Lease): Promise<void> {
    const { repository, events, now } = this.parts;
    await repository.countIrrevocable(lease.tenantId, lease.engine, 1);
    await repository.releaseLease(lease.tenantId, lease.engine, lease.role);
    const data = {
      lease_id: lease.leaseId,
      engine: lease.engine,
      role: lease.role,
      username: lease.username,
      attempts: lease.attempts,
      error: lease.lastError,
    };
    await events.publish({ type: 'lease.revocation_failed', tenantId: lease.tenantId, data, occurredAt: new Date(now()).toISOString() });
  }

  private async audit(lease: Lease, actor: string, outcome: 'success' | 'failure', details: Record<string, string | number | boolean>): Promise<void> {
    // A request is audited by its route; the scheduler's own attempts are recorded here.
    if (!actor.startsWith('system:')) return;
    const draft = {
      tenantId: lease.tenantId,
      identityId: actor,
      path: lease.leaseId,
      type: 'lease.revoke',
      outcome,
      details: { engine: lease.engine, role: lease.role, ...details },
    } as const;
    await recordAfter(this.parts.audit, draft, this.parts.logger);
  }
}

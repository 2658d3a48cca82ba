import { describe, expect, it } from 'vitest';
import type { Lease } from '../../functions/domain/dynamic/dynamic.js';
import { LeaseRevocation } from '../../functions/domain/dynamic/lease-revocation.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import type { DatabaseDriver, DynamicRepository } from '../../functions/domain/ports/dynamic.js';

const NOW = Date.parse('2026-01-01T00:00:00.000Z');

const lease: Lease = {
  tenantId: 't1',
  leaseId: 'dynamic/main/creds/app/0abc123def456789',
  engine: 'main',
  role: 'app',
  username: 'v_app_1',
  identityId: 'sa:app',
  issuedAt: '2025-12-31T23:00:00.000Z',
  expiresAt: '2025-12-31T23:59:00.000Z',
  maxExpiresAt: '2026-01-01T01:00:00.000Z',
  state: 'active',
  attempts: 0,
  nextAttemptAt: '2025-12-31T23:59:00.000Z',
  lastError: null,
  revocationStatements: ['DROP ROLE IF EXISTS {{name}}'],
};

/** The repository as the revocation uses it, in memory, with its counters. */
const fakes = (outcome: () => Promise<'revoked' | 'absent'>) => {
  const leases = new Map([[lease.leaseId, lease]]);
  const counts = { released: 0, irrevocable: 0 };
  const events: VaultEvent[] = [];
  const statuses: string[] = [];
  const repository = {
    getEngine: async () => ({ tenantId: 't1', name: 'main', connectionSecret: 'db/admin', tls: {}, maxConnections: 2 }),
    deleteLease: async (_tenant: string, id: string) => leases.delete(id),
    replaceLease: async (next: Lease, expected: string) => {
      if (leases.get(next.leaseId)?.nextAttemptAt !== expected) return false;
      leases.set(next.leaseId, next);
      return true;
    },
    releaseLease: async () => void (counts.released += 1),
    countIrrevocable: async (_t: string, _e: string, delta: number) => void (counts.irrevocable += delta),
  } as unknown as DynamicRepository;
  const driver = { revoke: outcome } as unknown as DatabaseDriver;
  const revocation = new LeaseRevocation({
    repository,
    driver,
    readConnectionSecret: async () => 'postgres://admin:pw@db.example.com/app',
    events: { publish: async (event) => void events.push(event) },
    metrics: { leaseGenerated: () => undefined, revocation: (_engine, status) => void statuses.push(status) },
    audit: { record: async () => undefined },
    logger: { info: () => undefined, warn: () => undefined, error: () => undefined },
    policy: { baseMs: 1_000, capMs: 8_000, maxAttempts: 3 },
    now: () => NOW,
  });
  return { leases, counts, events, statuses, revocation };
};

describe('LeaseRevocation', () => {
  it('deletes a revoked lease once and gives its quota back', async () => {
    const { leases, counts, events, statuses, revocation } = fakes(async () => 'absent');
    expect(await revocation.attempt(lease, 'system:scheduler')).toEqual({ revoked: true, reason: 'absent' });
    // A second revoker finds the record gone and gives nothing back twice.
    expect(await revocation.attempt(lease, 'sa:app')).toEqual({ revoked: true, reason: 'absent' });
    expect(leases.size).toBe(0);
    expect(counts.released).toBe(1);
    expect(statuses).toEqual(['success']);
    expect(events.map((event) => event.type)).toEqual(['lease.revoked']);
  });

  it('backs off after each failure, never to now, then marks the lease irrevocable, counted and announced', async () => {
    const { leases, counts, events, statuses, revocation } = fakes(async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.5:5432');
    });
    const delays: number[] = [];
    let current = lease;
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      const result = await revocation.attempt(current, 'system:scheduler');
      expect(result.revoked).toBe(false);
      current = leases.get(lease.leaseId) as Lease;
      expect(current.attempts).toBe(attempt);
      expect(current.lastError).toBe('connect ECONNREFUSED 10.0.0.5:5432');
      if (attempt < 3) delays.push(Date.parse(current.nextAttemptAt) - NOW);
    }
    // Half to all of 1 s, then of 2 s: growing, and never a tight loop.
    expect(delays[0]).toBeGreaterThanOrEqual(500);
    expect(delays[0]).toBeLessThanOrEqual(1_000);
    expect(delays[1]).toBeGreaterThanOrEqual(1_000);
    expect(delays[1]).toBeLessThanOrEqual(2_000);
    expect(current.state).toBe('irrevocable');
    expect(current.nextAttemptAt).toBe('');
    expect(statuses).toEqual(['failed', 'failed', 'irrevocable']);
    expect(counts).toEqual({ released: 1, irrevocable: 1 });
    expect(events.map((event) => event.type)).toEqual(['lease.revocation_failed']);
    expect(events[0]?.data).toMatchObject({ lease_id: lease.leaseId, attempts: 3, error: 'connect ECONNREFUSED 10.0.0.5:5432' });
  });
});

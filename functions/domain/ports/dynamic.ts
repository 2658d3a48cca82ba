// Ports of dynamic secrets: where engines, roles and leases are kept, and the
// database driver that creates and drops credentials.
import type { DynamicEngine, DynamicRole, EngineHealth, Lease, RoleStatements } from '../dynamic/dynamic.js';
import type { Page } from './secrets.js';

export interface DynamicRepository {
  /** Throws ConflictError when the engine exists. */
  createEngine(engine: DynamicEngine): Promise<void>;
  getEngine(tenantId: string, name: string): Promise<DynamicEngine | undefined>;
  listEngines(tenantId: string): Promise<DynamicEngine[]>;
  /** Every tenant's engines: the scheduler's health probes. */
  listAllEngines(): Promise<DynamicEngine[]>;
  deleteEngine(tenantId: string, name: string): Promise<boolean>;
  recordHealth(tenantId: string, name: string, health: EngineHealth): Promise<void>;
  countIrrevocable(tenantId: string, engine: string, delta: number): Promise<void>;

  /** Creates or replaces a role, keeping its count of active leases. */
  putRole(role: Omit<DynamicRole, 'activeLeases'>): Promise<void>;
  getRole(tenantId: string, engine: string, name: string): Promise<DynamicRole | undefined>;
  listRoles(tenantId: string, engine: string): Promise<DynamicRole[]>;
  deleteRole(tenantId: string, engine: string, name: string): Promise<boolean>;
  /** Takes one lease of the role's quota: false when `maxLeases` are already active. */
  reserveLease(tenantId: string, engine: string, role: string, maxLeases: number): Promise<boolean>;
  releaseLease(tenantId: string, engine: string, role: string): Promise<void>;

  putLease(lease: Lease): Promise<void>;
  getLease(tenantId: string, leaseId: string): Promise<Lease | undefined>;
  /** Leases whose id starts with `prefix`, in id order (issue order within a role). */
  listLeases(tenantId: string, prefix: string, limit: number, cursor: string | undefined): Promise<Page<Lease>>;
  /** Replaces a lease if its `nextAttemptAt` is still `expectedNextAttemptAt`: false when another run got there first. */
  replaceLease(lease: Lease, expectedNextAttemptAt: string): Promise<boolean>;
  /** True when this call deleted it (so only one of racing revokers gives its quota back). */
  deleteLease(tenantId: string, leaseId: string): Promise<boolean>;
  /** Leases due (expired, or waiting for a retry) before `beforeIso`, soonest first, from the expiry index. */
  dueLeases(beforeIso: string, limit: number): Promise<Lease[]>;
}

/** The admin connection and settings of one engine, as a driver needs them. */
export interface EngineConnection {
  readonly engine: DynamicEngine;
  /** The admin connection URL, read from the engine's connection secret. */
  readonly adminUrl: string;
}

export interface NewDatabaseUser {
  readonly username: string;
  readonly password: string;
  readonly expiresAt: string;
}

/** What revoking found: the role dropped now, or already gone (revoked all the same). */
export type RevokeOutcome = 'revoked' | 'absent';

export interface DatabaseDriver {
  /** Runs the statements with sample values inside a transaction that is rolled back; throws ValidationError for bad ones. */
  verify(connection: EngineConnection, statements: RoleStatements): Promise<void>;
  /** Creates the user, all or nothing: a failure rolls back and runs the rollback statements. */
  create(connection: EngineConnection, statements: RoleStatements, user: NewDatabaseUser): Promise<void>;
  renew(connection: EngineConnection, statements: RoleStatements, username: string, expiresAt: string): Promise<void>;
  /** Idempotent: a user already gone counts as revoked. */
  revoke(connection: EngineConnection, statements: Pick<RoleStatements, 'revocation'>, username: string): Promise<RevokeOutcome>;
  /** Throws when the database cannot be reached or refuses the admin. */
  probe(connection: EngineConnection): Promise<void>;
}

/** Metrics of dynamic secrets recorded where they happen. */
export interface LeaseMetrics {
  leaseGenerated(engine: string, role: string): void;
  revocation(engine: string, status: 'success' | 'failed' | 'irrevocable'): void;
}

// Credentials with leases: issue (a database user made for the caller), renew
// (never past the role's max_ttl), revoke, revoke by prefix, and the listing
// of lease metadata. A password is answered once and never kept.
import { randomBytes, randomInt } from 'node:crypto';
import type { AuthService } from '../auth/auth-service.js';
import type { Principal } from '../auth/principal.js';
import { ConflictError, NotFoundError, QuotaExceededError, ValidationError } from '../errors.js';
import { TtlCache } from '../ttl-cache.js';
import { connectionOf, findRole, type ConnectionSecretReader } from './dynamic-config-service.js';
import {
  ENGINE_NAME_PATTERN,
  ROLE_NAME_PATTERN,
  credsPathOf,
  leasePrefixOf,
  parseLeaseId,
  validateLeasePrefix,
  validateName,
  type DynamicRole,
  type IssuedCredential,
  type Lease,
} from './dynamic.js';
import type { LeaseRevocation, RevocationResult } from './lease-revocation.js';
import type { EventPublisher } from '../ports/events.js';
import type { DatabaseDriver, DynamicRepository, EngineConnection, LeaseMetrics } from '../ports/dynamic.js';
import type { Page } from '../ports/secrets.js';

/** URL-unreserved characters: no escaping needed in a connection URL, a conninfo string or a shell. */
const PASSWORD_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';
const PASSWORD_LENGTH = 32;
/** How many leases one revoke-by-prefix call takes on; the answer says when more are left. */
const PREFIX_BATCH = 500;

export const newPassword = (): string => Array.from({ length: PASSWORD_LENGTH }, () => PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)]).join('');

/** `v_<role>_<random>`: a valid unquoted PostgreSQL identifier of at most 63 bytes that names its role for a DBA. */
export const newUsername = (role: string): string => `v_${role.replace(/-/g, '_').slice(0, 24)}_${randomBytes(8).toString('hex')}`;

/** Time-ordered (base-36 milliseconds) then random: a role's leases list in issue order. */
const newLeaseSuffix = (now: number): string => `${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;

export interface RevokePrefixResult {
  readonly revoked: number;
  readonly pending: number;
  /** More leases under the prefix than one call takes on: call again. */
  readonly more: boolean;
}

export interface LeaseServiceParts {
  readonly repository: DynamicRepository;
  readonly driver: DatabaseDriver;
  readonly auth: Pick<AuthService, 'require'>;
  readonly readConnectionSecret: ConnectionSecretReader;
  readonly revocation: LeaseRevocation;
  readonly events: EventPublisher;
  readonly metrics: LeaseMetrics;
  readonly now: () => number;
}

interface IssueConfig {
  readonly role: DynamicRole;
  readonly connection: EngineConnection;
}

/** How long an instance reuses a role's settings and its engine's connection when issuing. */
export const ISSUE_CONFIG_CACHE_MS = 5_000;

export class LeaseService {
  private readonly configs: TtlCache<Promise<IssueConfig>>;

  constructor(private readonly parts: LeaseServiceParts) {
    this.configs = new TtlCache(ISSUE_CONFIG_CACHE_MS, 1_000, parts.now);
  }

  /**
   * Creates a database user for the caller. The lease is written ahead of the user, beside the quota's
   * reservation: a crash after the user exists leaves a lease the scheduler revokes at expiry (or finds
   * the user absent), never a user nobody knows of. A failure undoes all three.
   */
  async issue(principal: Principal, engineName: string, roleName: string, ttlSeconds?: number): Promise<IssuedCredential> {
    const { auth } = this.parts;
    validateName(engineName, ENGINE_NAME_PATTERN, 'engine');
    validateName(roleName, ROLE_NAME_PATTERN, 'role');
    await auth.require(principal, 'read', credsPathOf(engineName, roleName));
    const { role, connection } = await this.issueConfig(principal.tenantId, engineName, roleName);
    if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 1))
      throw new ValidationError('ttl must be a positive number of seconds', 'ttl');
    const ttl = Math.min(ttlSeconds ?? role.defaultTtlSeconds, role.maxTtlSeconds);
    const lease = this.newLease(principal, role, ttl);
    await this.reserveAndRecord(role, lease, ttl);
    const password = newPassword();
    try {
      await this.parts.driver.create(connection, role.statements, { username: lease.username, password, expiresAt: lease.expiresAt });
    } catch (error) {
      await this.undo(role, lease, true, true);
      throw error;
    }
    this.parts.metrics.leaseGenerated(role.engine, role.name);
    const data = { lease_id: lease.leaseId, engine: lease.engine, role: lease.role, username: lease.username, ttl, expires_at: lease.expiresAt };
    await this.parts.events.publish({ type: 'lease.created', tenantId: lease.tenantId, data, occurredAt: lease.issuedAt });
    return { lease, password };
  }

  /** Takes one of the role's max_leases and writes the lease, side by side; either failing undoes the other. */
  private async reserveAndRecord(role: DynamicRole, lease: Lease, ttl: number): Promise<void> {
    const { repository } = this.parts;
    const [reserved, recorded] = await Promise.allSettled([
      repository.reserveLease(role.tenantId, role.engine, role.name, role.maxLeases),
      repository.putLease(lease),
    ]);
    const hasQuota = reserved.status === 'fulfilled' && reserved.value;
    if (hasQuota && recorded.status === 'fulfilled') return;
    await this.undo(role, lease, hasQuota, recorded.status === 'fulfilled');
    if (reserved.status === 'rejected') throw reserved.reason;
    if (recorded.status === 'rejected') throw recorded.reason;
    throw new QuotaExceededError(
      `role ${role.name} of engine ${role.engine} has its max_leases (${role.maxLeases}) active; revoke leases or wait for them to expire`,
      role.maxLeases,
      Math.max(1, Math.min(ttl, 60)),
    );
  }

  private async undo(role: DynamicRole, lease: Lease, reserved: boolean, recorded: boolean): Promise<void> {
    const { repository } = this.parts;
    // Best effort: what cannot be undone now, the scheduler revokes (an absent user counts as revoked) at expiry.
    await Promise.all([
      reserved ? repository.releaseLease(role.tenantId, role.engine, role.name).catch(() => undefined) : undefined,
      recorded ? repository.deleteLease(lease.tenantId, lease.leaseId).catch(() => undefined) : undefined,
    ]);
  }

  /**
   * The engine's connection and the role, cached for a few seconds per instance: a burst of requests
   * reads them (and the connection secret) once. The quota is never cached: it is taken atomically.
   */
  private issueConfig(tenantId: string, engineName: string, roleName: string): Promise<IssueConfig> {
    const key = `${tenantId}/${engineName}/${roleName}`;
    const cached = this.configs.get(key);
    if (cached) return cached;
    const loading = (async () => {
      const { repository, readConnectionSecret } = this.parts;
      const [engine, role] = await Promise.all([repository.getEngine(tenantId, engineName), findRole(repository, tenantId, engineName, roleName)]);
      if (!engine) throw new NotFoundError(`engine ${engineName} does not exist`);
      return { role, connection: await connectionOf(readConnectionSecret, engine) };
    })();
    this.configs.set(key, loading);
    loading.catch(() => this.configs.delete(key));
    return loading;
  }

  private newLease(principal: Principal, role: DynamicRole, ttl: number): Lease {
    const issued = this.parts.now();
    const expiresAt = new Date(issued + ttl * 1000).toISOString();
    return {
      tenantId: role.tenantId,
      leaseId: `${leasePrefixOf(role.engine, role.name)}${newLeaseSuffix(issued)}`,
      engine: role.engine,
      role: role.name,
      username: newUsername(role.name),
      identityId: principal.identityId,
      issuedAt: new Date(issued).toISOString(),
      expiresAt,
      maxExpiresAt: new Date(issued + role.maxTtlSeconds * 1000).toISOString(),
      state: 'active',
      attempts: 0,
      nextAttemptAt: expiresAt,
      lastError: null,
      revocationStatements: role.statements.revocation,
    };
  }

  /** Extends a lease by `incrementSeconds` (the role's default_ttl when absent) from now, never past its max_ttl. */
  async renew(principal: Principal, leaseId: string, incrementSeconds?: number): Promise<Lease> {
    const { repository, driver, now } = this.parts;
    const lease = await this.find(principal, leaseId, 'read');
    if (lease.state !== 'active') throw new ConflictError(`lease ${leaseId} is being revoked (${lease.state}) and cannot be renewed`);
    if (incrementSeconds !== undefined && (!Number.isInteger(incrementSeconds) || incrementSeconds < 1)) {
      throw new ValidationError('increment must be a positive number of seconds', 'increment');
    }
    const role = await findRole(repository, lease.tenantId, lease.engine, lease.role);
    const engine = await repository.getEngine(lease.tenantId, lease.engine);
    if (!engine) throw new NotFoundError(`engine ${lease.engine} does not exist`);
    const expiresMs = Math.min(now() + (incrementSeconds ?? role.defaultTtlSeconds) * 1000, Date.parse(lease.maxExpiresAt));
    if (expiresMs <= now()) throw new ConflictError(`lease ${leaseId} has reached its max_ttl and cannot be renewed`);
    const expiresAt = new Date(expiresMs).toISOString();
    await driver.renew(await connectionOf(this.parts.readConnectionSecret, engine), role.statements, lease.username, expiresAt);
    const renewed: Lease = { ...lease, expiresAt, nextAttemptAt: expiresAt };
    if (!(await repository.replaceLease(renewed, lease.nextAttemptAt))) throw new ConflictError(`lease ${leaseId} changed concurrently; retry`);
    return renewed;
  }

  /** Revokes now; when the database does not answer, the lease is kept for the scheduler's retries and the answer says so. */
  async revoke(principal: Principal, leaseId: string): Promise<RevocationResult> {
    const lease = await this.find(principal, leaseId, 'delete');
    return this.parts.revocation.attempt(lease, principal.identityId);
  }

  async revokePrefix(principal: Principal, rawPrefix: string): Promise<RevokePrefixResult> {
    const prefix = validateLeasePrefix(rawPrefix);
    await this.parts.auth.require(principal, 'delete', prefix.replace(/\/$/, ''));
    const page = await this.parts.repository.listLeases(principal.tenantId, prefix, PREFIX_BATCH, undefined);
    let revoked = 0;
    for (const lease of page.items) {
      if ((await this.parts.revocation.attempt(lease, principal.identityId)).revoked) revoked += 1;
    }
    return { revoked, pending: page.items.length - revoked, more: page.nextCursor !== undefined };
  }

  /** Lease metadata (never credentials) under a prefix the caller may list. */
  async list(principal: Principal, rawPrefix: string, limit: number, cursor: string | undefined): Promise<Page<Lease>> {
    const prefix = validateLeasePrefix(rawPrefix);
    await this.parts.auth.require(principal, 'list', prefix.replace(/\/$/, ''));
    return this.parts.repository.listLeases(principal.tenantId, prefix, limit, cursor);
  }

  async get(principal: Principal, leaseId: string): Promise<Lease> {
    return this.find(principal, leaseId, 'read');
  }

  private async find(principal: Principal, leaseId: string, capability: 'read' | 'delete'): Promise<Lease> {
    const { engine, role } = parseLeaseId(leaseId);
    await this.parts.auth.require(principal, capability, credsPathOf(engine, role));
    const lease = await this.parts.repository.getLease(principal.tenantId, leaseId);
    if (!lease) throw new NotFoundError(`lease ${leaseId} does not exist`);
    return lease;
  }
}

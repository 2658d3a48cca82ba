// Engines, roles, credentials and leases on the wire. Only the credential answer carries a password.
import * as z from 'zod/mini';
import type { DynamicEngine, DynamicRole, IssuedCredential, Lease } from '../../domain/dynamic/dynamic.js';
import { SSL_MODES } from '../../domain/dynamic/dynamic.js';
import { nextCursor, nullableTimestamp, timestamp } from '../schemas.js';

export const engineSchema = z
  .strictObject({
    name: z.string(),
    plugin: z.literal('postgresql'),
    connection_secret: z.string(),
    max_connections: z.int(),
    tls: z.strictObject({ sslmode: z.nullable(z.enum(SSL_MODES)), ca_pem: z.boolean().check(z.describe('whether a CA bundle is set')) }),
    created_at: timestamp,
    created_by: z.string(),
    health: z.nullable(z.strictObject({ healthy: z.boolean(), probed_at: timestamp, last_error: z.nullable(z.string()) })),
    irrevocable_leases: z.int(),
  })
  .check(z.meta({ id: 'DynamicEngine' }));

export const engineListSchema = z.strictObject({ engines: z.array(engineSchema) });

export const roleSchema = z
  .strictObject({
    engine: z.string(),
    name: z.string(),
    creation_statements: z.array(z.string()),
    revocation_statements: z.array(z.string()),
    renew_statements: z.array(z.string()),
    rollback_statements: z.array(z.string()),
    default_ttl: z.int(),
    max_ttl: z.int(),
    max_leases: z.int(),
    active_leases: z.int(),
    created_at: timestamp,
  })
  .check(z.meta({ id: 'DynamicRole' }));

export const roleListSchema = z.strictObject({ roles: z.array(roleSchema) });

export const leaseSchema = z
  .strictObject({
    lease_id: z.string(),
    engine: z.string(),
    role: z.string(),
    username: z.string(),
    issued_by: z.string(),
    issued_at: timestamp,
    expires_at: timestamp,
    max_expires_at: timestamp,
    ttl: z.int().check(z.describe('seconds left')),
    state: z.enum(['active', 'revoking', 'irrevocable']),
    revocation_attempts: z.int(),
    next_attempt_at: nullableTimestamp,
    last_error: z.nullable(z.string()),
  })
  .check(z.meta({ id: 'Lease' }));

export const leaseListSchema = z.strictObject({ leases: z.array(leaseSchema), next_cursor: nextCursor });

export const credentialSchema = z
  .strictObject({
    lease_id: z.string(),
    username: z.string(),
    password: z.string().check(z.describe('shown once; never stored')),
    ttl: z.int(),
    expires_at: timestamp,
    renewable: z.boolean(),
  })
  .check(z.meta({ id: 'DynamicCredential' }));

export const revokePrefixSchema = z.strictObject({ revoked: z.int(), pending: z.int(), more: z.boolean() });

export const engineJson = (engine: DynamicEngine): z.infer<typeof engineSchema> => ({
  name: engine.name,
  plugin: engine.plugin,
  connection_secret: engine.connectionSecret,
  max_connections: engine.maxConnections,
  tls: { sslmode: engine.tls.sslmode ?? null, ca_pem: engine.tls.caPem !== undefined },
  created_at: engine.createdAt,
  created_by: engine.createdBy,
  health: engine.health && { healthy: engine.health.healthy, probed_at: engine.health.probedAt, last_error: engine.health.lastError },
  irrevocable_leases: engine.irrevocableLeases,
});

export const roleJson = (role: DynamicRole): z.infer<typeof roleSchema> => ({
  engine: role.engine,
  name: role.name,
  creation_statements: [...role.statements.creation],
  revocation_statements: [...role.statements.revocation],
  renew_statements: [...role.statements.renewal],
  rollback_statements: [...role.statements.rollback],
  default_ttl: role.defaultTtlSeconds,
  max_ttl: role.maxTtlSeconds,
  max_leases: role.maxLeases,
  active_leases: role.activeLeases,
  created_at: role.createdAt,
});

export const leaseJson = (lease: Lease, now: number = Date.now()): z.infer<typeof leaseSchema> => ({
  lease_id: lease.leaseId,
  engine: lease.engine,
  role: lease.role,
  username: lease.username,
  issued_by: lease.identityId,
  issued_at: lease.issuedAt,
  expires_at: lease.expiresAt,
  max_expires_at: lease.maxExpiresAt,
  ttl: Math.max(0, Math.floor((Date.parse(lease.expiresAt) - now) / 1000)),
  state: lease.state,
  revocation_attempts: lease.attempts,
  next_attempt_at: lease.state === 'active' || !lease.nextAttemptAt ? null : lease.nextAttemptAt,
  last_error: lease.lastError,
});

export const credentialJson = ({ lease, password }: IssuedCredential, now: number = Date.now()): z.infer<typeof credentialSchema> => ({
  lease_id: lease.leaseId,
  username: lease.username,
  password,
  ttl: Math.max(0, Math.round((Date.parse(lease.expiresAt) - now) / 1000)),
  expires_at: lease.expiresAt,
  renewable: lease.expiresAt < lease.maxExpiresAt,
});

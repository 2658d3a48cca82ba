// Dynamic secrets: engines (a database the vault administers), roles (what a
// credential may do there) and leases (one issued credential and its expiry).
import { ValidationError } from '../errors.js';
import { validateSecretPath } from '../secrets/secret-path.js';

export const ENGINE_NAME_PATTERN = /^[a-z][a-z0-9-]{0,47}$/;
export const ROLE_NAME_PATTERN = /^[a-z][a-z0-9_-]{0,47}$/;
export const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];
/** A pool of at most a few connections per instance: a fleet of Lambdas must not exhaust the database's max_connections. */
export const MAX_ENGINE_CONNECTIONS = 5;
export const MAX_STATEMENTS = 20;
export const MAX_STATEMENT_LENGTH = 4096;
export const MAX_TTL_SECONDS = 30 * 24 * 3600;
export const MAX_LEASES_LIMIT = 100_000;

export interface EngineTls {
  /** Overrides the connection URL's sslmode when given. */
  readonly sslmode?: SslMode;
  /** PEM certificates the server's chain must lead to (verify-ca, verify-full). */
  readonly caPem?: string;
}

export interface EngineHealth {
  readonly healthy: boolean;
  readonly probedAt: string;
  readonly lastError: string | null;
}

export interface DynamicEngine {
  readonly tenantId: string;
  readonly name: string;
  readonly plugin: 'postgresql';
  /** Path of the tenant's secret holding the admin connection URL (as the postgresql rotator reads it). */
  readonly connectionSecret: string;
  readonly maxConnections: number;
  readonly tls: EngineTls;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly health: EngineHealth | null;
  /** Leases the scheduler gave up revoking: the credential may still exist in the database. */
  readonly irrevocableLeases: number;
}

export interface RoleStatements {
  readonly creation: readonly string[];
  readonly revocation: readonly string[];
  readonly renewal: readonly string[];
  readonly rollback: readonly string[];
}

export interface DynamicRole {
  readonly tenantId: string;
  readonly engine: string;
  readonly name: string;
  readonly statements: RoleStatements;
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly maxLeases: number;
  readonly activeLeases: number;
  readonly createdAt: string;
}

/** `active` until due; `revoking` once a revocation failed and waits for its retry; `irrevocable` after the last. */
export type LeaseState = 'active' | 'revoking' | 'irrevocable';

export interface Lease {
  readonly tenantId: string;
  /** `dynamic/<engine>/creds/<role>/<id>`: its prefixes are what revoke-prefix and listings take. */
  readonly leaseId: string;
  readonly engine: string;
  readonly role: string;
  readonly username: string;
  readonly identityId: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
  /** Renewals never carry a lease past this (issue time + the role's max_ttl). */
  readonly maxExpiresAt: string;
  readonly state: LeaseState;
  /** Failed revocation attempts so far. */
  readonly attempts: number;
  /** When the scheduler next acts on it: its expiry, or its next retry. */
  readonly nextAttemptAt: string;
  readonly lastError: string | null;
  /** The role's revocation statements when issued: a lease stays revocable after its role changes or goes. */
  readonly revocationStatements: readonly string[];
}

/** A credential as issued: the password is returned to the caller once and never stored. */
export interface IssuedCredential {
  readonly lease: Lease;
  readonly password: string;
}

export const leasePrefixOf = (engine: string, role?: string): string => `dynamic/${engine}/creds/${role === undefined ? '' : `${role}/`}`;

/** The policy path a lease operation is checked against: `dynamic/<engine>/creds/<role>`. */
export const credsPathOf = (engine: string, role: string): string => `dynamic/${engine}/creds/${role}`;

const LEASE_ID_PATTERN = /^dynamic\/([a-z][a-z0-9-]{0,47})\/creds\/([a-z][a-z0-9_-]{0,47})\/([a-z0-9]{10,40})$/;

/** The engine and role a lease id names; throws ValidationError for anything else. */
export const parseLeaseId = (leaseId: string): { engine: string; role: string } => {
  const match = LEASE_ID_PATTERN.exec(leaseId);
  if (!match?.[1] || !match[2]) throw new ValidationError('lease_id must look like dynamic/<engine>/creds/<role>/<id>', 'lease_id');
  return { engine: match[1], role: match[2] };
};

/** A revoke-by-prefix prefix: `dynamic/<engine>/` or deeper, never empty (that would be every lease). */
export const validateLeasePrefix = (prefix: string): string => {
  if (!/^dynamic\/[a-z][a-z0-9-]{0,47}\/(creds\/([a-z][a-z0-9_-]{0,47}\/?([a-z0-9]{0,40}))?)?$/.test(prefix)) {
    throw new ValidationError('prefix must be dynamic/<engine>/, optionally followed by creds/<role>/', 'prefix');
  }
  return prefix;
};

export const validateName = (value: string, pattern: RegExp, field: string): string => {
  if (!pattern.test(value))
    throw new ValidationError(
      `${field} must be lowercase letters, digits and ${pattern === ROLE_NAME_PATTERN ? '_ or -' : '-'}, starting with a letter, at most 48 characters`,
      field,
    );
  return value;
};

export const validateConnectionSecret = (path: string): string => {
  try {
    return validateSecretPath(path);
  } catch (error) {
    throw new ValidationError(`connection_secret: ${(error as Error).message}`, 'connection_secret');
  }
};

export const validateTls = (tls: EngineTls): EngineTls => {
  if (tls.caPem !== undefined && !/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/.test(tls.caPem.trim())) {
    throw new ValidationError('tls.ca_pem must hold PEM certificates (-----BEGIN CERTIFICATE-----)', 'tls.ca_pem');
  }
  if (tls.caPem !== undefined && tls.sslmode !== 'verify-ca' && tls.sslmode !== 'verify-full') {
    throw new ValidationError('tls.ca_pem needs tls.sslmode verify-ca or verify-full', 'tls.sslmode');
  }
  return tls;
};

export const validateTtls = (defaultTtl: number, maxTtl: number): void => {
  if (!Number.isInteger(maxTtl) || maxTtl < 1 || maxTtl > MAX_TTL_SECONDS)
    throw new ValidationError(`max_ttl must be 1 to ${MAX_TTL_SECONDS} seconds`, 'max_ttl');
  if (!Number.isInteger(defaultTtl) || defaultTtl < 1 || defaultTtl > maxTtl)
    throw new ValidationError('default_ttl must be 1 second to max_ttl', 'default_ttl');
};

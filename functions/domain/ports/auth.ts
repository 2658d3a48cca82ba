// Identities, tokens, policies and tenants, and the repository that keeps them.

import type { DataKeyRecord } from './keys.js';

export type Capability = 'read' | 'write' | 'delete' | 'list' | 'rotate' | 'admin';

export const CAPABILITIES: readonly Capability[] = ['read', 'write', 'delete', 'list', 'rotate', 'admin'];

export interface PolicyRule {
  readonly path: string;
  readonly capabilities: readonly Capability[];
}

export interface Policy {
  readonly tenantId: string;
  readonly name: string;
  readonly rules: readonly PolicyRule[];
  readonly updatedAt: string;
}

export interface Tenant {
  readonly tenantId: string;
  readonly displayName: string;
  readonly activeKeyId: string;
  readonly createdAt: string;
}

export interface Identity {
  readonly tenantId: string;
  readonly identityId: string;
  readonly policies: readonly string[];
  readonly createdAt: string;
}

export interface TokenRecord {
  readonly tokenHash: string;
  /** Short public id, safe to log, for telling tokens apart. */
  readonly accessor: string;
  readonly tenantId: string;
  readonly identityId: string;
  readonly policies: readonly string[];
  readonly issuedAt: number;
  /** Epoch ms; null for the root token, which does not expire. */
  readonly expiresAt: number | null;
  readonly ttlSeconds: number;
  readonly renewable: boolean;
  /** Epoch ms past which renewal cannot extend the token. */
  readonly maxExpiresAt: number | null;
}

export interface AuthRepository {
  createTenant(tenant: Tenant): Promise<void>;
  getTenant(tenantId: string): Promise<Tenant | undefined>;
  listTenantIds(): Promise<string[]>;
  putIdentity(identity: Identity): Promise<void>;
  getIdentity(tenantId: string, identityId: string): Promise<Identity | undefined>;
  putToken(token: TokenRecord): Promise<void>;
  getToken(tokenHash: string): Promise<TokenRecord | undefined>;
  extendToken(tokenHash: string, expiresAt: number): Promise<void>;
  putPolicy(policy: Policy): Promise<void>;
  getPolicy(tenantId: string, name: string): Promise<Policy | undefined>;
  putDataKey(record: DataKeyRecord): Promise<void>;
  getDataKey(tenantId: string, keyId: string): Promise<DataKeyRecord | undefined>;
}

/** Tokens by expiry time (an index, never a scan): the expiry gauges and the `token.expiring` warnings read it. */
export interface TokenExpiryIndex {
  /** Tokens whose expiry falls in [fromMs, toMs). */
  countExpiring(fromMs: number, toMs: number): Promise<number>;
  /** Up to `limit` tokens expiring in [fromMs, toMs) not yet warned about for their current expiry, soonest first. */
  unwarned(fromMs: number, toMs: number, limit: number): Promise<TokenRecord[]>;
  /** Marks the token warned for `expiresAt`; false when another run did it first (or its expiry moved). */
  markWarned(tokenHash: string, expiresAt: number): Promise<boolean>;
  /** Undoes a mark whose warning could not be published, so the next run tries again. */
  clearWarned(tokenHash: string, expiresAt: number): Promise<void>;
}

/** A rotating bearer token's versions: the current one and, after a rotation, the one it replaced. */
export interface TokenVersions {
  readonly current: string;
  readonly previous?: string;
  /** When the current version was made; the previous one is accepted for a grace period after it. */
  readonly currentSince?: Date;
}

/** Where a rotating token's versions are read (Secrets Manager's AWSCURRENT and AWSPREVIOUS in AWS). */
export interface TokenVersionSource {
  read(): Promise<TokenVersions>;
}

/** A secret's version ids and the staging labels each carries (AWSCURRENT, AWSPENDING, AWSPREVIOUS). */
export interface SecretVersionStages {
  readonly rotationEnabled: boolean;
  readonly versions: Readonly<Record<string, readonly string[]>>;
}

/** The calls a Secrets Manager rotation makes on the one secret it rotates. */
export interface RotatingSecret {
  describe(): Promise<SecretVersionStages>;
  /** The value of a version under a stage; undefined when there is none. */
  readVersion(versionId: string, stage: string): Promise<string | undefined>;
  /** Stores `value` as the version `versionId`, staged AWSPENDING. */
  putPending(versionId: string, value: string): Promise<void>;
  /** Moves AWSCURRENT to `versionId` (and so AWSPREVIOUS to the version that held it). */
  promote(versionId: string, fromVersionId: string | undefined): Promise<void>;
}

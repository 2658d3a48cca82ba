// Ports the domain depends on; adapters under functions/adapters implement them.

import type { RateLimitRule } from '../config.js';

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

export interface DataKeyRecord {
  readonly tenantId: string;
  readonly keyId: string;
  readonly wrapped: Uint8Array;
  readonly provider: string;
  readonly createdAt: string;
}

export interface SealedValue {
  readonly keyId: string;
  readonly iv: Uint8Array;
  /** Ciphertext with the 16-byte GCM tag appended. */
  readonly ciphertext: Uint8Array;
}

export interface SecretVersionRecord {
  readonly tenantId: string;
  readonly path: string;
  readonly version: number;
  readonly type: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly sealed: SealedValue;
  readonly createdAt: string;
  readonly createdBy: string;
}

/** The head item: the current version in full plus secret-level state. */
export interface SecretHead extends SecretVersionRecord {
  readonly firstCreatedAt: string;
  readonly deletedAt: string | null;
  readonly rotation: RotationSettings | null;
}

export interface RotationSettings {
  readonly intervalDays: number;
  readonly rotator: string;
  readonly options: Readonly<Record<string, string | number | boolean>>;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
}

export interface SecretRepository {
  getHead(tenantId: string, path: string): Promise<SecretHead | undefined>;
  getVersion(tenantId: string, path: string, version: number): Promise<SecretVersionRecord | undefined>;
  /**
   * Makes `next` the current version. `previous` (the head read before) is kept
   * as history first; the head update is the single conditional commit point,
   * so a version is visible completely or not at all.
   */
  commit(next: SecretHead, previous: SecretHead | undefined): Promise<void>;
  markDeleted(tenantId: string, path: string, expectedVersion: number, deletedAt: string | null): Promise<void>;
  listHeads(tenantId: string, prefix: string, limit: number, cursor: string | undefined): Promise<Page<SecretHead>>;
  listHistory(tenantId: string, path: string): Promise<readonly SecretVersionRecord[]>;
  destroy(tenantId: string, path: string): Promise<void>;
  countLive(tenantId: string): Promise<number>;
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

export interface WrappedDataKey {
  readonly plaintext: Buffer;
  readonly wrapped: Uint8Array;
}

export interface KeyProviderStatus {
  readonly provider: string;
  readonly keyId: string;
  readonly state: string;
}

/** Wraps and unwraps data keys under a master key (KMS or the local key file). */
export interface KeyWrapper {
  readonly provider: string;
  generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey>;
  unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer>;
  describe(): Promise<KeyProviderStatus>;
}

export interface RateLimitGrant {
  readonly granted: number;
  /** Tokens left in the shared bucket after the grant. */
  readonly remaining: number;
  /** Seconds until one token is available, when nothing was granted. */
  readonly retryAfterSeconds: number;
}

/** Token buckets shared by every instance. */
export interface RateLimitStore {
  take(bucketKey: string, rule: RateLimitRule, wanted: number, nowMs: number): Promise<RateLimitGrant>;
}

/** Business events the domain reports; functions/observability turns them into metrics. */
export interface MetricsRecorder {
  secretRead(tenantId: string, secretType: string): void;
  secretWritten(tenantId: string): void;
  /** Tokens left in a shared rate-limit bucket after a refill. */
  rateLimitLevel(category: string, subject: string, level: number): void;
}

export const NO_METRICS: MetricsRecorder = {
  secretRead: () => undefined,
  secretWritten: () => undefined,
  rateLimitLevel: () => undefined,
};

/** A named reachability check for readiness. */
export interface DependencyProbe {
  readonly name: string;
  check(): Promise<void>;
}

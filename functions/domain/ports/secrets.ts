// Secret versions and the repository that keeps them.

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

import type { Principal } from '../auth/principal.js';
import { NO_EVENTS } from '../events/events.js';
import type { AuthService } from '../auth/auth-service.js';
import type { KeyManager } from '../crypto/key-manager.js';
import { ConflictError, NotFoundError, PreconditionFailedError, TooLargeError, ValidationError, WriteContentionError } from '../errors.js';
import { validatePrefix, validateSecretPath } from './secret-path.js';
import type { EventPublisher } from '../ports/events.js';
import { type MetricsRecorder, NO_METRICS } from '../ports/metrics.js';
import type { Page, RotationSettings, SecretHead, SecretRepository, SecretVersionRecord } from '../ports/secrets.js';
import { TtlCache } from '../ttl-cache.js';

export const MAX_VALUE_BYTES = 64 * 1024;
export const SECRET_TYPES = ['generic', 'password', 'api_key', 'json', 'certificate', 'ssh_key', 'connection_string'] as const;
const MAX_METADATA_ENTRIES = 32;
/** Heads whose current version this instance remembers (see `read`'s `authorized`); a stale one costs a second record, never a wrong one. */
const KNOWN_VERSIONS = 10_000;
const KNOWN_VERSION_TTL_MS = 3_600_000;

/**
 * Told, once a read is authorized and before storage is touched, which version
 * the read expects to return, when that is known beforehand: the version asked
 * for, or the current version this instance last saw. The caller may start the
 * read's durable record then, beside the read, instead of after it.
 */
export type ReadAuthorized = (expectedVersion: number | undefined) => void;

/** How a write without If-Match retries a lost race: capped exponential backoff with full jitter, within a time budget. */
export interface WriteRetryPolicy {
  readonly maxAttempts: number;
  /** No new attempt starts after this long (inside the 9 s request deadline); waiting for its turn counts. */
  readonly budgetMs: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_WRITE_RETRY: WriteRetryPolicy = { maxAttempts: 100, budgetMs: 8000, baseDelayMs: 5, maxDelayMs: 250 };

export interface WriteSecretInput {
  readonly path: string;
  readonly value: string;
  readonly type: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly rotation: RotationSettings | null;
  /** Check-and-set: the version the caller expects to be current (0 for "must not exist"). */
  readonly expectedVersion: number | undefined;
}

export interface SecretValue {
  readonly path: string;
  readonly version: number;
  readonly value: string;
  readonly type: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly currentVersion: number;
}

export interface SecretSummary {
  readonly path: string;
  readonly type: string;
  readonly currentVersion: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly deletedAt: string | null;
  readonly rotation: RotationSettings | null;
}

export interface VersionSummary {
  readonly version: number;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly current: boolean;
}

const headKey = (tenantId: string, path: string): string => `${tenantId}\u0000${path}`;

const summarize = (head: SecretHead): SecretSummary => ({
  path: head.path,
  type: head.type,
  currentVersion: head.version,
  metadata: head.metadata,
  createdAt: head.firstCreatedAt,
  updatedAt: head.createdAt,
  deletedAt: head.deletedAt,
  rotation: head.rotation,
});

/** Secret use cases. Every method authorizes before it touches storage. */
export class SecretService {
  private readonly writing = new Map<string, Promise<void>>();
  private readonly knownVersions: TtlCache<number>;

  constructor(
    private readonly repository: SecretRepository,
    private readonly keys: KeyManager,
    private readonly auth: AuthService,
    private readonly now: () => number = Date.now,
    private readonly metrics: MetricsRecorder = NO_METRICS,
    private readonly events: EventPublisher = NO_EVENTS,
    private readonly retry: WriteRetryPolicy = DEFAULT_WRITE_RETRY,
  ) {
    this.knownVersions = new TtlCache(KNOWN_VERSION_TTL_MS, KNOWN_VERSIONS, now);
  }

  async write(principal: Principal, input: WriteSecretInput): Promise<SecretSummary> {
    const path = validateSecretPath(input.path);
    await this.auth.require(principal, 'write', path);
    if (Buffer.byteLength(input.value, 'utf8') > MAX_VALUE_BYTES) {
      throw new TooLargeError(`value must be at most ${MAX_VALUE_BYTES} bytes`);
    }
    if (!(SECRET_TYPES as readonly string[]).includes(input.type)) {
      throw new ValidationError(`type must be one of ${SECRET_TYPES.join(', ')}`, 'type');
    }
    validateMetadata(input.metadata);
    const keyId = await this.auth.activeKeyId(principal.tenantId);
    const startedAt = performance.now();
    // Writers to one secret in this instance take turns, so they do not spend their attempts colliding with each other;
    // the conditional write still decides between instances.
    return this.oneAtATime(headKey(principal.tenantId, path), () => this.commitNextVersion(principal, path, input, keyId, startedAt));
  }

  private async commitNextVersion(principal: Principal, path: string, input: WriteSecretInput, keyId: string, startedAt: number): Promise<SecretSummary> {
    // Without If-Match, a write that loses a race simply becomes the next version.
    for (let attempt = 1; ; attempt += 1) {
      // Out of budget (waiting for its turn counts) before anything was written: say so rather than write late.
      if (performance.now() - startedAt > this.retry.budgetMs) throw new WriteContentionError(1);
      const previous = await this.repository.getHead(principal.tenantId, path);
      const currentVersion = previous?.version ?? 0;
      if (input.expectedVersion !== undefined && input.expectedVersion !== currentVersion) {
        throw new PreconditionFailedError(`version ${input.expectedVersion} is not current`, currentVersion);
      }
      const version = currentVersion + 1;
      const createdAt = new Date(this.now()).toISOString();
      const sealed = await this.keys.seal(keyId, input.value, { tenantId: principal.tenantId, path, version });
      const next: SecretHead = {
        tenantId: principal.tenantId,
        path,
        version,
        type: input.type,
        metadata: input.metadata,
        sealed,
        createdAt,
        createdBy: principal.identityId,
        firstCreatedAt: previous?.firstCreatedAt ?? createdAt,
        deletedAt: null,
        rotation: input.rotation ?? previous?.rotation ?? null,
      };
      try {
        await this.repository.commit(next, previous);
        this.knownVersions.set(headKey(principal.tenantId, path), version);
        this.metrics.secretWritten(principal.tenantId);
        await this.events.publish({
          type: version === 1 ? 'secret.created' : 'secret.updated',
          tenantId: principal.tenantId,
          data: { path, version, type: input.type },
          occurredAt: createdAt,
        });
        return summarize(next);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (input.expectedVersion !== undefined) {
          throw new PreconditionFailedError(`version ${input.expectedVersion} is not current`, error.currentVersion);
        }
        // Full jitter over a growing window, so contending writers spread out instead of colliding again.
        const delayMs = Math.random() * Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** Math.min(attempt, 16));
        if (attempt >= this.retry.maxAttempts || performance.now() - startedAt + delayMs > this.retry.budgetMs) {
          // Every attempt's conditional write failed, so nothing of this request was written.
          throw new WriteContentionError(1);
        }
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  /** Runs `task` after every earlier task under `key` has settled. */
  private async oneAtATime<T>(key: string, task: () => Promise<T>): Promise<T> {
    const run = (this.writing.get(key) ?? Promise.resolve()).then(task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.writing.get(key) === settled) this.writing.delete(key);
    }
  }

  async read(principal: Principal, rawPath: string, version: number | undefined, authorized?: ReadAuthorized): Promise<SecretValue> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, 'read', path);
    const key = headKey(principal.tenantId, path);
    authorized?.(version ?? this.knownVersions.get(key));
    const head = await this.repository.getHead(principal.tenantId, path);
    if (!head || head.deletedAt) {
      this.knownVersions.delete(key);
      throw new NotFoundError(`secret ${path} not found`);
    }
    this.knownVersions.set(key, head.version);
    let record: SecretVersionRecord | undefined = head;
    if (version !== undefined && version !== head.version) {
      record = version < head.version && version >= 1 ? await this.repository.getVersion(principal.tenantId, path, version) : undefined;
      if (!record) throw new NotFoundError(`version ${version} of secret ${path} not found`);
    }
    const value = await this.keys.open(record.sealed, { tenantId: principal.tenantId, path, version: record.version });
    this.metrics.secretRead(principal.tenantId, record.type);
    return {
      path,
      version: record.version,
      value,
      type: record.type,
      metadata: record.metadata,
      createdAt: record.createdAt,
      currentVersion: head.version,
    };
  }

  async describe(principal: Principal, rawPath: string): Promise<SecretSummary> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, 'list', path);
    const head = await this.repository.getHead(principal.tenantId, path);
    if (!head) throw new NotFoundError(`secret ${path} not found`);
    return summarize(head);
  }

  async list(principal: Principal, rawPrefix: string, limit: number, cursor: string | undefined, includeDeleted: boolean): Promise<Page<SecretSummary>> {
    const prefix = validatePrefix(rawPrefix);
    // Each entry is filtered by the caller's list grants, so a listing never
    // names a secret the caller could not name itself.
    const page = await this.repository.listHeads(principal.tenantId, prefix, limit, cursor);
    const visible: SecretSummary[] = [];
    for (const head of page.items) {
      if (head.deletedAt && !includeDeleted) continue;
      if (await this.auth.can(principal, 'list', head.path)) visible.push(summarize(head));
    }
    return { items: visible, nextCursor: page.nextCursor };
  }

  async versions(principal: Principal, rawPath: string): Promise<readonly VersionSummary[]> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, 'list', path);
    const head = await this.repository.getHead(principal.tenantId, path);
    if (!head) throw new NotFoundError(`secret ${path} not found`);
    const history = await this.repository.listHistory(principal.tenantId, path);
    return [...history.filter((v) => v.version < head.version), head]
      .map((v) => ({ version: v.version, createdAt: v.createdAt, createdBy: v.createdBy, current: v.version === head.version }))
      .sort((a, b) => b.version - a.version);
  }

  /** Soft delete: the secret stops being readable but can be restored. `expectedVersion` is If-Match. */
  async softDelete(principal: Principal, rawPath: string, expectedVersion?: number): Promise<SecretSummary> {
    return this.setDeleted(principal, rawPath, true, expectedVersion);
  }

  async restore(principal: Principal, rawPath: string): Promise<SecretSummary> {
    return this.setDeleted(principal, rawPath, false, undefined);
  }

  /** Permanently removes every version of the secret. `expectedVersion` is If-Match. */
  async destroy(principal: Principal, rawPath: string, expectedVersion?: number): Promise<void> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, 'delete', path);
    const head = await this.headAt(principal.tenantId, path, expectedVersion);
    // With If-Match, a conditional write pins the expected version before anything is removed.
    if (expectedVersion !== undefined) await this.markDeleted(head, head.deletedAt ?? new Date(this.now()).toISOString(), expectedVersion);
    await this.repository.destroy(principal.tenantId, path);
    this.knownVersions.delete(headKey(principal.tenantId, path));
    await this.events.publish({
      type: 'secret.deleted',
      tenantId: principal.tenantId,
      data: { path, destroyed: true },
      occurredAt: new Date(this.now()).toISOString(),
    });
  }

  private async setDeleted(principal: Principal, rawPath: string, deleted: boolean, expectedVersion: number | undefined): Promise<SecretSummary> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, deleted ? 'delete' : 'write', path);
    const head = await this.headAt(principal.tenantId, path, expectedVersion);
    const deletedAt = deleted ? (head.deletedAt ?? new Date(this.now()).toISOString()) : null;
    await this.markDeleted(head, deletedAt, expectedVersion);
    this.knownVersions.delete(headKey(principal.tenantId, path));
    if (deleted && !head.deletedAt) {
      await this.events.publish({ type: 'secret.deleted', tenantId: principal.tenantId, data: { path, destroyed: false }, occurredAt: deletedAt ?? '' });
    }
    return summarize({ ...head, deletedAt });
  }

  /** The current head; with If-Match (`expectedVersion`), only while it is still at that version. */
  private async headAt(tenantId: string, path: string, expectedVersion: number | undefined): Promise<SecretHead> {
    const head = await this.repository.getHead(tenantId, path);
    if (!head) throw new NotFoundError(`secret ${path} not found`);
    if (expectedVersion !== undefined && expectedVersion !== head.version) {
      throw new PreconditionFailedError(`version ${expectedVersion} is not current`, head.version);
    }
    return head;
  }

  /** Conditional on the head's version; a lost race under If-Match is a failed precondition. */
  private async markDeleted(head: SecretHead, deletedAt: string | null, expectedVersion: number | undefined): Promise<void> {
    try {
      await this.repository.markDeleted(head.tenantId, head.path, head.version, deletedAt);
    } catch (error) {
      if (!(error instanceof ConflictError) || expectedVersion === undefined) throw error;
      const current = await this.repository.getHead(head.tenantId, head.path);
      throw new PreconditionFailedError(`version ${expectedVersion} is not current`, current?.version ?? 0);
    }
  }
}

const validateMetadata = (metadata: Readonly<Record<string, string>>): void => {
  const entries = Object.entries(metadata);
  if (entries.length > MAX_METADATA_ENTRIES) throw new ValidationError(`metadata may have at most ${MAX_METADATA_ENTRIES} entries`, 'metadata');
  for (const [key, value] of entries) {
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(key)) throw new ValidationError(`metadata key "${key}" is invalid`, 'metadata');
    if (typeof value !== 'string' || value.length > 512)
      throw new ValidationError(`metadata value of "${key}" must be a string of at most 512 characters`, 'metadata');
  }
};

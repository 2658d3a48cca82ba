import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { AuthService } from '../../functions/domain/auth/auth-service.js';
import type { Principal } from '../../functions/domain/auth/principal.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import {
  ConflictError,
  ForbiddenError,
  IntegrityError,
  NotFoundError,
  PreconditionFailedError,
  TooLargeError,
  ValidationError,
  WriteContentionError,
} from '../../functions/domain/errors.js';
import { MAX_VALUE_BYTES, SecretService, type WriteSecretInput } from '../../functions/domain/secrets/secret-service.js';
import { InMemoryAuthRepository } from './support/in-memory-auth-repository.js';
import type { Capability } from '../../functions/domain/ports/auth.js';
import type { Page, SecretHead, SecretRepository, SecretVersionRecord } from '../../functions/domain/ports/secrets.js';

const id = (tenantId: string, path: string) => `${tenantId}\u0000${path}`;

/**
 * The SecretRepository port in memory with the DynamoDB adapter's semantics:
 * commit keeps `previous` as history, then writes the head only if its version
 * still equals previous.version (or, for a new secret, no head exists).
 */
class InMemorySecretRepository implements SecretRepository {
  readonly heads = new Map<string, SecretHead>();
  readonly history = new Map<string, Map<number, SecretVersionRecord>>();
  /** Runs once before the next commit's condition check, to simulate a concurrent writer. */
  beforeNextCommit: (() => void) | undefined;

  async getHead(tenantId: string, path: string): Promise<SecretHead | undefined> {
    return this.heads.get(id(tenantId, path));
  }

  async getVersion(tenantId: string, path: string, version: number): Promise<SecretVersionRecord | undefined> {
    return this.history.get(id(tenantId, path))?.get(version);
  }

  async commit(next: SecretHead, previous: SecretHead | undefined): Promise<void> {
    const hook = this.beforeNextCommit;
    this.beforeNextCommit = undefined;
    hook?.();
    const key = id(next.tenantId, next.path);
    if (previous) {
      const versions = this.history.get(key) ?? new Map<number, SecretVersionRecord>();
      versions.set(previous.version, versionOf(previous));
      this.history.set(key, versions);
    }
    const current = this.heads.get(key);
    if (previous ? current?.version !== previous.version : current !== undefined) {
      throw new ConflictError(`secret ${next.path} changed concurrently`);
    }
    this.heads.set(key, next);
  }

  async markDeleted(tenantId: string, path: string, expectedVersion: number, deletedAt: string | null): Promise<void> {
    const head = this.heads.get(id(tenantId, path));
    if (!head || head.version !== expectedVersion) throw new ConflictError(`secret ${path} changed concurrently`);
    this.heads.set(id(tenantId, path), { ...head, deletedAt });
  }

  async listHeads(tenantId: string, prefix: string, limit: number, cursor: string | undefined): Promise<Page<SecretHead>> {
    const all = [...this.heads.values()]
      .filter((head) => head.tenantId === tenantId && head.path.startsWith(prefix) && (cursor === undefined || head.path > cursor))
      .sort((a, b) => a.path.localeCompare(b.path));
    const items = all.slice(0, limit).map((head) => ({ ...head, sealed: { keyId: head.sealed.keyId, iv: new Uint8Array(), ciphertext: new Uint8Array() } }));
    return { items, nextCursor: all.length > limit ? items[items.length - 1]?.path : undefined };
  }

  async listHistory(tenantId: string, path: string): Promise<readonly SecretVersionRecord[]> {
    return [...(this.history.get(id(tenantId, path))?.values() ?? [])];
  }

  async destroy(tenantId: string, path: string): Promise<void> {
    this.history.delete(id(tenantId, path));
    this.heads.delete(id(tenantId, path));
  }

  async countLive(tenantId: string): Promise<number> {
    return [...this.heads.values()].filter((head) => head.tenantId === tenantId && !head.deletedAt).length;
  }
}

const versionOf = (head: SecretHead): SecretVersionRecord => ({
  tenantId: head.tenantId,
  path: head.path,
  version: head.version,
  type: head.type,
  metadata: head.metadata,
  sealed: head.sealed,
  createdAt: head.createdAt,
  createdBy: head.createdBy,
});

const setup = async (retry?: ConstructorParameters<typeof SecretService>[6], repository = new InMemorySecretRepository()) => {
  const authRepository = new InMemoryAuthRepository();
  const keys = new KeyManager(new LocalKeyWrapper(randomBytes(32)), authRepository, new DataKeyCache(300, 100));
  const auth = new AuthService(authRepository, keys, { authCacheTtlSeconds: 5, maxTokenTtlSeconds: 86_400 });
  const secrets = new SecretService(repository, keys, auth, Date.now, undefined, undefined, retry);
  await auth.ensureTenant('acme', 'Acme');
  await auth.ensureTenant('globex', 'Globex');

  let counter = 0;
  const principal = async (tenantId: string, rules: { path: string; capabilities: Capability[] }[] | 'admin'): Promise<Principal> => {
    counter += 1;
    const policies = rules === 'admin' ? ['admin'] : [`p${counter}`];
    if (rules !== 'admin') await auth.putPolicy(tenantId, `p${counter}`, rules);
    const issued = await auth.createIdentity({
      tenantId,
      identityId: `sa:user-${counter}`,
      policies,
      ttlSeconds: 3600,
      renewable: false,
      maxTtlSeconds: 3600,
    });
    return auth.authenticate(`Bearer ${issued.token}`);
  };

  return { repository, secrets, keys, auth, principal, admin: await principal('acme', 'admin') };
};

const input = (overrides: Partial<WriteSecretInput> = {}): WriteSecretInput => ({
  path: 'app/db/password',
  value: 's3cret',
  type: 'password',
  metadata: {},
  rotation: null,
  expectedVersion: undefined,
  ...overrides,
});

describe('SecretService write and read', () => {
  it('round-trips a value with its type and metadata', async () => {
    const { secrets, admin } = await setup();
    const summary = await secrets.write(admin, input({ value: 'pässwörd ✓', metadata: { owner: 'team-db' } }));
    expect(summary).toMatchObject({ path: 'app/db/password', type: 'password', currentVersion: 1, deletedAt: null });
    const read = await secrets.read(admin, 'app/db/password', undefined);
    expect(read).toMatchObject({
      path: 'app/db/password',
      version: 1,
      currentVersion: 1,
      value: 'pässwörd ✓',
      type: 'password',
      metadata: { owner: 'team-db' },
    });
  });

  it('stores only ciphertext', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ value: 'very-recognisable-plaintext' }));
    const head = repository.heads.get(id('acme', 'app/db/password'))!;
    expect(Buffer.from(head.sealed.ciphertext).includes(Buffer.from('very-recognisable-plaintext'))).toBe(false);
  });

  it('makes a second write version 2 and keeps version 1 readable', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    const summary = await secrets.write(admin, input({ value: 'two' }));
    expect(summary.currentVersion).toBe(2);
    expect(await secrets.read(admin, 'app/db/password', undefined)).toMatchObject({ version: 2, value: 'two' });
    expect(await secrets.read(admin, 'app/db/password', 1)).toMatchObject({ version: 1, value: 'one', currentVersion: 2 });
    expect(await secrets.read(admin, 'app/db/password', 2)).toMatchObject({ version: 2, value: 'two' });
  });

  it('answers NotFound for a version that does not exist', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input());
    await secrets.write(admin, input());
    for (const version of [0, 3, -1]) {
      await expect(secrets.read(admin, 'app/db/password', version)).rejects.toBeInstanceOf(NotFoundError);
    }
    await expect(secrets.read(admin, 'app/other', undefined)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists versions newest first, marking the current one', async () => {
    const { secrets, admin } = await setup();
    for (let i = 0; i < 3; i += 1) await secrets.write(admin, input({ value: `v${i}` }));
    const versions = await secrets.versions(admin, 'app/db/password');
    expect(versions.map((v) => [v.version, v.current])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    expect(versions.every((v) => v.createdBy === admin.identityId)).toBe(true);
  });

  it('refuses a stale If-Match with PreconditionFailedError carrying the current version, writing nothing', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    await secrets.write(admin, input({ value: 'two' }));
    const error = await secrets.write(admin, input({ value: 'stale', expectedVersion: 1 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect((error as PreconditionFailedError).currentVersion).toBe(2);
    expect(await secrets.read(admin, 'app/db/password', undefined)).toMatchObject({ version: 2, value: 'two' });
  });

  it('accepts a current If-Match', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    expect((await secrets.write(admin, input({ value: 'two', expectedVersion: 1 }))).currentVersion).toBe(2);
  });

  it('treats expectedVersion 0 as "must not exist"', async () => {
    const { secrets, admin } = await setup();
    expect((await secrets.write(admin, input({ value: 'first', expectedVersion: 0 }))).currentVersion).toBe(1);
    await expect(secrets.write(admin, input({ value: 'second', expectedVersion: 0 }))).rejects.toBeInstanceOf(PreconditionFailedError);
    expect(await secrets.read(admin, 'app/db/password', undefined)).toMatchObject({ value: 'first' });
  });

  it('retries a write that lost a race without If-Match, becoming the next version', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    repository.beforeNextCommit = () => {
      const head = repository.heads.get(id('acme', 'app/db/password'))!;
      repository.heads.set(id('acme', 'app/db/password'), { ...head, version: 2 });
    };
    const summary = await secrets.write(admin, input({ value: 'mine' }));
    expect(summary.currentVersion).toBe(3);
    expect(await secrets.read(admin, 'app/db/password', undefined)).toMatchObject({ version: 3, value: 'mine' });
  });

  it('lands every one of many concurrent writers without If-Match as its own next version', async () => {
    const { secrets, admin } = await setup();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => secrets.write(admin, input({ value: `w${i}` }))));
    expect(results.map((r) => r.currentVersion).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('gives up on endless contention within its bounds with WriteContentionError, having written nothing', async () => {
    const { secrets, admin, repository } = await setup({ maxAttempts: 5, budgetMs: 1000, baseDelayMs: 1, maxDelayMs: 2 });
    await secrets.write(admin, input({ value: 'one' }));
    const sealedBefore = repository.heads.get(id('acme', 'app/db/password'))!.sealed;
    let attempts = 0;
    const racer = () => {
      attempts += 1;
      const head = repository.heads.get(id('acme', 'app/db/password'))!;
      repository.heads.set(id('acme', 'app/db/password'), { ...head, version: head.version + 1 });
      repository.beforeNextCommit = racer;
    };
    repository.beforeNextCommit = racer;
    const error = await secrets.write(admin, input({ value: 'mine' })).catch((e: unknown) => e);
    repository.beforeNextCommit = undefined;
    expect(error).toBeInstanceOf(WriteContentionError);
    expect(attempts).toBe(5);
    expect(repository.heads.get(id('acme', 'app/db/password'))!.sealed).toBe(sealedBefore);
  });

  it('counts waiting for its turn against the budget: a writer whose turn comes too late writes nothing', async () => {
    class SlowRepository extends InMemorySecretRepository {
      override async commit(next: SecretHead, previous: SecretHead | undefined): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 40));
        return super.commit(next, previous);
      }
    }
    const { secrets, admin, repository } = await setup({ maxAttempts: 5, budgetMs: 100, baseDelayMs: 1, maxDelayMs: 2 }, new SlowRepository());
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => secrets.write(admin, input({ value: `w${i}` })).catch((e: unknown) => e)));
    const landed = results.filter((r) => !(r instanceof Error));
    expect(results.filter((r) => r instanceof WriteContentionError).length).toBe(8 - landed.length);
    expect(landed.length).toBeGreaterThan(0);
    expect(landed.length).toBeLessThan(8);
    // Exactly the writes that answered success exist.
    expect(repository.heads.get(id('acme', 'app/db/password'))!.version).toBe(landed.length);
  });

  it('reports a lost race under If-Match as PreconditionFailedError', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    repository.beforeNextCommit = () => {
      const head = repository.heads.get(id('acme', 'app/db/password'))!;
      repository.heads.set(id('acme', 'app/db/password'), { ...head, version: 2 });
    };
    await expect(secrets.write(admin, input({ value: 'mine', expectedVersion: 1 }))).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('refuses a value over 64 KiB, counting UTF-8 bytes', async () => {
    const { secrets, admin, repository } = await setup();
    await expect(secrets.write(admin, input({ value: 'a'.repeat(MAX_VALUE_BYTES + 1) }))).rejects.toBeInstanceOf(TooLargeError);
    // Fewer characters than the limit, but two bytes each.
    await expect(secrets.write(admin, input({ value: 'é'.repeat(MAX_VALUE_BYTES / 2 + 1) }))).rejects.toBeInstanceOf(TooLargeError);
    expect(repository.heads.size).toBe(0);
    const value = 'a'.repeat(MAX_VALUE_BYTES);
    await secrets.write(admin, input({ value }));
    expect((await secrets.read(admin, 'app/db/password', undefined)).value).toBe(value);
  });

  it('refuses an unknown type', async () => {
    const { secrets, admin } = await setup();
    const error = await secrets.write(admin, input({ type: 'banana' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('type');
  });

  it('refuses invalid metadata', async () => {
    const { secrets, admin } = await setup();
    await expect(secrets.write(admin, input({ metadata: { 'bad key': 'x' } }))).rejects.toBeInstanceOf(ValidationError);
    await expect(secrets.write(admin, input({ metadata: { k: 'x'.repeat(513) } }))).rejects.toBeInstanceOf(ValidationError);
    const tooMany = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    await expect(secrets.write(admin, input({ metadata: tooMany }))).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses an invalid path before anything else', async () => {
    const { secrets, admin, repository } = await setup();
    await expect(secrets.write(admin, input({ path: '../etc/passwd' }))).rejects.toBeInstanceOf(ValidationError);
    await expect(secrets.read(admin, 'a//b', undefined)).rejects.toBeInstanceOf(ValidationError);
    expect(repository.heads.size).toBe(0);
  });
});

describe('SecretService read: the version expected before storage is touched', () => {
  it('names the version asked for, else the current one this instance last saw, and nothing for a path it has not seen', async () => {
    const { secrets, admin, repository, keys, auth } = await setup();
    // Another instance over the same table.
    const other = new SecretService(repository, keys, auth);
    const seen: Array<number | undefined> = [];
    const order: string[] = [];
    const getHead = repository.getHead.bind(repository);
    repository.getHead = async (tenantId, path) => {
      order.push('head');
      return getHead(tenantId, path);
    };
    const read = (service: SecretService, version?: number) =>
      service.read(admin, 'app/db/password', version, (expected) => {
        order.push('expected');
        seen.push(expected);
      });
    await secrets.write(admin, input({ value: 'one' }));
    await read(other);
    await read(other);
    await read(secrets);
    order.length = 0;
    await other.write(admin, input({ value: 'two' }));
    // This instance still expects version 1; the read returns 2, and the next read expects 2.
    expect((await read(secrets)).version).toBe(2);
    expect(order.slice(-2)).toEqual(['expected', 'head']);
    await read(secrets);
    await read(secrets, 1);
    expect(seen).toEqual([undefined, 1, 1, 1, 2, 1]);
  });

  it('forgets a deleted secret: the next read expects no version', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input());
    await secrets.softDelete(admin, 'app/db/password');
    await secrets.restore(admin, 'app/db/password');
    const seen: Array<number | undefined> = [];
    await secrets.read(admin, 'app/db/password', undefined, (expected) => void seen.push(expected));
    expect(seen).toEqual([undefined]);
  });

  it('announces nothing to a reader without the read capability', async () => {
    const { secrets, admin, principal } = await setup();
    await secrets.write(admin, input());
    const outsider = await principal('acme', [{ path: 'other/*', capabilities: ['read'] }]);
    const seen: Array<number | undefined> = [];
    await expect(secrets.read(outsider, 'app/db/password', undefined, (expected) => void seen.push(expected))).rejects.toBeInstanceOf(ForbiddenError);
    expect(seen).toEqual([]);
  });
});

describe('SecretService authorization', () => {
  it('forbids a write without the write capability and writes nothing', async () => {
    const { secrets, principal, repository } = await setup();
    const reader = await principal('acme', [{ path: '**', capabilities: ['read', 'list', 'delete'] }]);
    await expect(secrets.write(reader, input())).rejects.toBeInstanceOf(ForbiddenError);
    expect(repository.heads.size).toBe(0);
  });

  it('limits a writer to the paths its policy covers', async () => {
    const { secrets, principal, repository } = await setup();
    const writer = await principal('acme', [{ path: 'app/**', capabilities: ['write'] }]);
    await secrets.write(writer, input({ path: 'app/x' }));
    await expect(secrets.write(writer, input({ path: 'ops/x' }))).rejects.toBeInstanceOf(ForbiddenError);
    expect([...repository.heads.values()].map((h) => h.path)).toEqual(['app/x']);
    // Writing does not imply reading.
    await expect(secrets.read(writer, 'app/x', undefined)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('keeps tenants apart: the same path in another tenant is a different secret', async () => {
    const { secrets, admin, principal } = await setup();
    await secrets.write(admin, input({ value: 'acme-only' }));
    const globexAdmin = await principal('globex', 'admin');
    await expect(secrets.read(globexAdmin, 'app/db/password', undefined)).rejects.toBeInstanceOf(NotFoundError);
    expect((await secrets.list(globexAdmin, '', 100, undefined, true)).items).toEqual([]);
  });

  it('detects a ciphertext moved to another path', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ path: 'app/a', value: 'secret-a' }));
    await secrets.write(admin, input({ path: 'app/b', value: 'secret-b' }));
    const a = repository.heads.get(id('acme', 'app/a'))!;
    const b = repository.heads.get(id('acme', 'app/b'))!;
    repository.heads.set(id('acme', 'app/b'), { ...b, sealed: a.sealed });
    await expect(secrets.read(admin, 'app/b', undefined)).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('SecretService delete, restore, destroy', () => {
  it('soft delete hides the secret from reads; restore brings the same value back', async () => {
    const { secrets, admin } = await setup();
    await secrets.write(admin, input({ value: 'keep-me' }));
    const deleted = await secrets.softDelete(admin, 'app/db/password');
    expect(deleted.deletedAt).not.toBeNull();
    await expect(secrets.read(admin, 'app/db/password', undefined)).rejects.toBeInstanceOf(NotFoundError);
    await expect(secrets.read(admin, 'app/db/password', 1)).rejects.toBeInstanceOf(NotFoundError);
    expect((await secrets.describe(admin, 'app/db/password')).deletedAt).toBe(deleted.deletedAt);

    const restored = await secrets.restore(admin, 'app/db/password');
    expect(restored.deletedAt).toBeNull();
    expect(await secrets.read(admin, 'app/db/password', undefined)).toMatchObject({ value: 'keep-me', version: 1 });
  });

  it('requires delete to soft-delete and write to restore', async () => {
    const { secrets, admin, principal } = await setup();
    await secrets.write(admin, input());
    const reader = await principal('acme', [{ path: '**', capabilities: ['read', 'list'] }]);
    await expect(secrets.softDelete(reader, 'app/db/password')).rejects.toBeInstanceOf(ForbiddenError);
    await secrets.softDelete(admin, 'app/db/password');
    await expect(secrets.restore(reader, 'app/db/password')).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('answers NotFound when deleting, restoring or destroying a secret that does not exist', async () => {
    const { secrets, admin } = await setup();
    await expect(secrets.softDelete(admin, 'app/none')).rejects.toBeInstanceOf(NotFoundError);
    await expect(secrets.restore(admin, 'app/none')).rejects.toBeInstanceOf(NotFoundError);
    await expect(secrets.destroy(admin, 'app/none')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('destroy removes every version; a later write starts again at version 1', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    await secrets.write(admin, input({ value: 'two' }));
    await secrets.destroy(admin, 'app/db/password');
    expect(repository.heads.size).toBe(0);
    expect(await repository.listHistory('acme', 'app/db/password')).toEqual([]);
    await expect(secrets.read(admin, 'app/db/password', undefined)).rejects.toBeInstanceOf(NotFoundError);
    await expect(secrets.versions(admin, 'app/db/password')).rejects.toBeInstanceOf(NotFoundError);
    expect((await secrets.write(admin, input({ value: 'fresh' }))).currentVersion).toBe(1);
    await expect(secrets.read(admin, 'app/db/password', 1)).resolves.toMatchObject({ value: 'fresh' });
  });

  it('honours If-Match on soft delete and destroy: a stale version deletes nothing', async () => {
    const { secrets, admin, repository } = await setup();
    await secrets.write(admin, input({ value: 'one' }));
    await secrets.write(admin, input({ value: 'two' }));
    await expect(secrets.softDelete(admin, 'app/db/password', 7)).rejects.toMatchObject({ name: 'PreconditionFailedError', currentVersion: 2 });
    await expect(secrets.destroy(admin, 'app/db/password', 1)).rejects.toMatchObject({ name: 'PreconditionFailedError', currentVersion: 2 });
    await expect(secrets.destroy(admin, 'app/db/password', 0)).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(secrets.read(admin, 'app/db/password', undefined)).resolves.toMatchObject({ version: 2, value: 'two' });
    expect((await secrets.softDelete(admin, 'app/db/password', 2)).deletedAt).not.toBeNull();
    await secrets.restore(admin, 'app/db/password');
    await secrets.destroy(admin, 'app/db/password', 2);
    expect(repository.heads.size).toBe(0);
  });

  it('refuses an If-Match delete that loses a race to a concurrent write, keeping the new version', async () => {
    class RacingRepository extends InMemorySecretRepository {
      /** Runs once after the next getHead has read its answer: a write that lands in between. */
      afterNextGetHead: (() => Promise<unknown>) | undefined;
      override async getHead(tenantId: string, path: string): Promise<SecretHead | undefined> {
        const head = await super.getHead(tenantId, path);
        const hook = this.afterNextGetHead;
        this.afterNextGetHead = undefined;
        await hook?.();
        return head;
      }
    }
    const { secrets, admin, repository } = await setup(undefined, new RacingRepository());
    const racing = repository as RacingRepository;
    await secrets.write(admin, input({ value: 'one' }));
    const cases: Array<[number, () => Promise<unknown>]> = [
      [1, () => secrets.softDelete(admin, 'app/db/password', 1)],
      [2, () => secrets.destroy(admin, 'app/db/password', 2)],
    ];
    for (const [expected, remove] of cases) {
      racing.afterNextGetHead = () => secrets.write(admin, input({ value: `newer than ${expected}` }));
      await expect(remove()).rejects.toMatchObject({ name: 'PreconditionFailedError', currentVersion: expected + 1 });
      await expect(secrets.read(admin, 'app/db/password', undefined)).resolves.toMatchObject({ version: expected + 1, value: `newer than ${expected}` });
    }
  });

  it('forbids destroy without the delete capability and keeps the secret', async () => {
    const { secrets, admin, principal } = await setup();
    await secrets.write(admin, input());
    const writer = await principal('acme', [{ path: '**', capabilities: ['read', 'write'] }]);
    await expect(secrets.destroy(writer, 'app/db/password')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(secrets.read(admin, 'app/db/password', undefined)).resolves.toMatchObject({ value: 's3cret' });
  });
});

describe('SecretService.list', () => {
  const seeded = async () => {
    const context = await setup();
    for (const path of ['app/db', 'app/cache', 'ops/deploy', 'ops/nested/key']) {
      await context.secrets.write(context.admin, input({ path, value: `value-of-${path}` }));
    }
    return context;
  };

  it('never returns values', async () => {
    const { secrets, admin } = await seeded();
    const page = await secrets.list(admin, '', 100, undefined, false);
    expect(page.items).toHaveLength(4);
    const text = JSON.stringify(page);
    expect(text).not.toContain('value-of-');
    for (const item of page.items) expect(item).not.toHaveProperty('value');
  });

  it('shows only secrets the caller may list', async () => {
    const { secrets, principal } = await seeded();
    const appLister = await principal('acme', [
      { path: 'app/*', capabilities: ['list'] },
      { path: 'ops/**', capabilities: ['read'] },
    ]);
    const page = await secrets.list(appLister, '', 100, undefined, false);
    expect(page.items.map((s) => s.path).sort()).toEqual(['app/cache', 'app/db']);
  });

  it('filters by prefix', async () => {
    const { secrets, admin } = await seeded();
    const page = await secrets.list(admin, 'ops/', 100, undefined, false);
    expect(page.items.map((s) => s.path).sort()).toEqual(['ops/deploy', 'ops/nested/key']);
  });

  it('hides soft-deleted secrets unless asked for them', async () => {
    const { secrets, admin } = await seeded();
    await secrets.softDelete(admin, 'app/db');
    expect((await secrets.list(admin, 'app/', 100, undefined, false)).items.map((s) => s.path)).toEqual(['app/cache']);
    const withDeleted = await secrets.list(admin, 'app/', 100, undefined, true);
    expect(withDeleted.items.find((s) => s.path === 'app/db')?.deletedAt).not.toBeNull();
  });

  it('passes the cursor through for the next page', async () => {
    const { secrets, admin } = await seeded();
    const first = await secrets.list(admin, '', 2, undefined, false);
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBeDefined();
    const second = await secrets.list(admin, '', 2, first.nextCursor, false);
    expect([...first.items, ...second.items].map((s) => s.path).sort()).toEqual(['app/cache', 'app/db', 'ops/deploy', 'ops/nested/key']);
  });

  it('rejects a malformed prefix', async () => {
    const { secrets, admin } = await seeded();
    await expect(secrets.list(admin, '../', 100, undefined, false)).rejects.toBeInstanceOf(ValidationError);
  });
});

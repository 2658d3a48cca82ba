import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { AuthService, type NewIdentity } from '../../functions/domain/auth/auth-service.js';
import type { Principal } from '../../functions/domain/auth/principal.js';
import { newToken } from '../../functions/domain/auth/tokens.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError, ValidationError } from '../../functions/domain/errors.js';
import { InMemoryAuthRepository } from './support/in-memory-auth-repository.js';

const MAX_TTL = 7 * 24 * 3600;

const setup = async () => {
  let now = Date.UTC(2025, 0, 1);
  const clock = {
    now: () => now,
    advanceSeconds: (s: number) => {
      now += s * 1000;
    },
  };
  const repository = new InMemoryAuthRepository();
  const keys = new KeyManager(new LocalKeyWrapper(randomBytes(32)), repository, new DataKeyCache(300, 100));
  const auth = new AuthService(repository, keys, { authCacheTtlSeconds: 5, maxTokenTtlSeconds: MAX_TTL }, clock.now);
  const rootToken = newToken();
  await auth.bootstrapRoot(rootToken);
  const root = await auth.authenticate(`Bearer ${rootToken}`);
  return { clock, repository, auth, rootToken, root };
};

const identity = (overrides: Partial<NewIdentity> = {}): NewIdentity => ({
  tenantId: 'acme',
  identityId: 'sa:billing',
  policies: [],
  ttlSeconds: 3600,
  renewable: true,
  maxTtlSeconds: 7200,
  ...overrides,
});

const principalOf = (tenantId: string, policies: readonly string[], base: Principal): Principal => ({
  ...base,
  tenantId,
  identityId: 'sa:test',
  policies,
});

describe('AuthService.authenticate', () => {
  it('rejects a missing Authorization header', async () => {
    const { auth } = await setup();
    await expect(auth.authenticate(undefined)).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(auth.authenticate('')).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it.each([
    ['a non-Bearer scheme', (t: string) => `Basic ${t}`],
    ['a bare token', (t: string) => t],
    ['a token without the svt_ prefix', (t: string) => `Bearer ${t.slice(4)}`],
    ['a truncated token', (t: string) => `Bearer ${t.slice(0, -1)}`],
    ['two tokens', (t: string) => `Bearer ${t} ${t}`],
  ])('rejects %s as malformed', async (_, header) => {
    const { auth, rootToken } = await setup();
    await expect(auth.authenticate(header(rootToken))).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('rejects a well-formed token it never issued', async () => {
    const { auth } = await setup();
    await expect(auth.authenticate(`Bearer ${newToken()}`)).rejects.toThrow(UnauthenticatedError);
  });

  it("accepts the scheme case-insensitively and returns the token's principal", async () => {
    const { auth, root } = await setup();
    await auth.ensureTenant('acme', 'Acme');
    const issued = await auth.createIdentity(identity({ policies: ['admin'] }));
    const principal = await auth.authenticate(`bearer ${issued.token}`);
    expect(principal).toMatchObject({ tenantId: 'acme', identityId: 'sa:billing', policies: ['admin'] });
    expect(principal.token.tokenHash).toBe(issued.record.tokenHash);
    expect(root).toMatchObject({ tenantId: 'default', identityId: 'sa:root', policies: ['admin'] });
  });

  it('rejects a token once it expires, even while it is cached', async () => {
    const { auth, clock } = await setup();
    await auth.ensureTenant('acme', 'Acme');
    const issued = await auth.createIdentity(identity({ ttlSeconds: 60, maxTtlSeconds: 60 }));
    clock.advanceSeconds(59);
    await expect(auth.authenticate(`Bearer ${issued.token}`)).resolves.toMatchObject({ identityId: 'sa:billing' });
    clock.advanceSeconds(1);
    await expect(auth.authenticate(`Bearer ${issued.token}`)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('stores only a hash of an issued token', async () => {
    const { auth, repository, rootToken } = await setup();
    await auth.ensureTenant('acme', 'Acme');
    const issued = await auth.createIdentity(identity());
    const stored = JSON.stringify([...repository.tokens.entries()]);
    expect(stored).not.toContain(issued.token);
    expect(stored).not.toContain(rootToken);
  });
});

describe('AuthService authorization', () => {
  const withPolicies = async () => {
    const context = await setup();
    await context.auth.ensureTenant('acme', 'Acme');
    await context.auth.putPolicy('acme', 'app-reader', [{ path: 'app/**', capabilities: ['read', 'list'] }]);
    await context.auth.putPolicy('acme', 'ops-admin', [{ path: 'ops/*', capabilities: ['admin'] }]);
    await context.auth.putPolicy('acme', 'db-writer', [{ path: '**/db', capabilities: ['write'] }]);
    return context;
  };

  it('grants the built-in admin policy every capability on every path', async () => {
    const { auth, root } = await setup();
    for (const capability of ['read', 'write', 'delete', 'list', 'rotate', 'admin'] as const) {
      expect(await auth.can(root, capability, 'any/path/at/all')).toBe(true);
    }
  });

  it("grants exactly what a tenant policy's rules allow", async () => {
    const { auth, root } = await withPolicies();
    const reader = principalOf('acme', ['app-reader'], root);
    expect(await auth.can(reader, 'read', 'app/db/password')).toBe(true);
    expect(await auth.can(reader, 'list', 'app/db')).toBe(true);
    expect(await auth.can(reader, 'write', 'app/db/password')).toBe(false);
    expect(await auth.can(reader, 'read', 'app')).toBe(false);
    expect(await auth.can(reader, 'read', 'other/db')).toBe(false);
  });

  it("treats the admin capability in a rule as every capability on that rule's paths", async () => {
    const { auth, root } = await withPolicies();
    const ops = principalOf('acme', ['ops-admin'], root);
    expect(await auth.can(ops, 'delete', 'ops/deploy-key')).toBe(true);
    expect(await auth.can(ops, 'rotate', 'ops/deploy-key')).toBe(true);
    expect(await auth.can(ops, 'read', 'ops/nested/key')).toBe(false);
    expect(await auth.can(ops, 'read', 'app/db')).toBe(false);
  });

  it('unions the grants of several policies', async () => {
    const { auth, root } = await withPolicies();
    const both = principalOf('acme', ['app-reader', 'db-writer'], root);
    expect(await auth.can(both, 'read', 'app/x')).toBe(true);
    expect(await auth.can(both, 'write', 'app/db')).toBe(true);
    expect(await auth.can(both, 'write', 'app/x')).toBe(false);
  });

  it("resolves policy names in the principal's own tenant only", async () => {
    const { auth, root } = await withPolicies();
    const outsider = principalOf('globex', ['app-reader'], root);
    expect(await auth.can(outsider, 'read', 'app/db')).toBe(false);
  });

  it('sees a changed policy immediately on the instance that changed it', async () => {
    const { auth, root } = await withPolicies();
    const reader = principalOf('acme', ['app-reader'], root);
    expect(await auth.can(reader, 'write', 'app/db')).toBe(false);
    await auth.putPolicy('acme', 'app-reader', [{ path: 'app/**', capabilities: ['read', 'write'] }]);
    expect(await auth.can(reader, 'write', 'app/db')).toBe(true);
  });

  it('refuses to redefine the built-in admin policy', async () => {
    const { auth } = await setup();
    await expect(auth.putPolicy('acme', 'admin', [])).rejects.toBeInstanceOf(ValidationError);
  });

  it('refuses a policy without rules', async () => {
    const { auth } = await setup();
    await expect(auth.putPolicy('acme', 'nothing', [])).rejects.toMatchObject({ name: 'ValidationError', field: 'rules' });
  });

  it('require() throws ForbiddenError exactly when can() is false', async () => {
    const { auth, root } = await withPolicies();
    const reader = principalOf('acme', ['app-reader'], root);
    await expect(auth.require(reader, 'read', 'app/db')).resolves.toBeUndefined();
    await expect(auth.require(reader, 'write', 'app/db')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth.require(principalOf('acme', [], root), 'read', 'app/db')).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('AuthService.requireAdminOf', () => {
  const tenantAdmin = async () => {
    const context = await setup();
    await context.auth.ensureTenant('acme', 'Acme');
    await context.auth.ensureTenant('globex', 'Globex');
    const issued = await context.auth.createIdentity(identity({ identityId: 'sa:acme-admin', policies: ['admin'] }));
    return { ...context, admin: await context.auth.authenticate(`Bearer ${issued.token}`) };
  };

  it('lets a tenant admin act on its own tenant, by default or by name', async () => {
    const { auth, admin } = await tenantAdmin();
    expect(await auth.requireAdminOf(admin, undefined)).toBe('acme');
    expect(await auth.requireAdminOf(admin, 'acme')).toBe('acme');
  });

  it('forbids a tenant admin to act on another tenant', async () => {
    const { auth, admin } = await tenantAdmin();
    await expect(auth.requireAdminOf(admin, 'globex')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth.requireAdminOf(admin, 'default')).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('lets a default-tenant admin act on any existing tenant', async () => {
    const { auth, root } = await tenantAdmin();
    expect(await auth.requireAdminOf(root, 'globex')).toBe('globex');
    expect(await auth.requireAdminOf(root, undefined)).toBe('default');
    await expect(auth.requireAdminOf(root, 'missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('forbids a non-admin, even of the default tenant', async () => {
    const { auth, root } = await tenantAdmin();
    await auth.putPolicy('default', 'reader', [{ path: '**', capabilities: ['read'] }]);
    await expect(auth.requireAdminOf(principalOf('default', ['reader'], root), undefined)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth.requireAdminOf(principalOf('default', ['reader'], root), 'acme')).rejects.toBeInstanceOf(ForbiddenError);
  });
});

describe('AuthService.createTenant', () => {
  it('creates a tenant with its own data key, once', async () => {
    const { auth, root, repository } = await setup();
    await auth.createTenant(root, 'acme', 'Acme');
    const tenant = await repository.getTenant('acme');
    expect(tenant?.displayName).toBe('Acme');
    expect(await repository.getDataKey('acme', tenant!.activeKeyId)).toBeDefined();
    expect(await auth.activeKeyId('acme')).toBe(tenant!.activeKeyId);
    await expect(auth.createTenant(root, 'acme', 'Again')).rejects.toBeInstanceOf(ConflictError);
  });

  it('validates the tenant id and restricts creation to default-tenant admins', async () => {
    const { auth, root } = await setup();
    for (const bad of ['A', 'a', '1abc', 'has_underscore', 'a'.repeat(40)]) {
      await expect(auth.createTenant(root, bad, 'x')).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(auth.createTenant(principalOf('acme', ['admin'], root), 'newco', 'x')).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth.activeKeyId('newco')).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe('AuthService.createIdentity', () => {
  const ready = async () => {
    const context = await setup();
    await context.auth.ensureTenant('acme', 'Acme');
    await context.auth.putPolicy('acme', 'reader', [{ path: '**', capabilities: ['read'] }]);
    return context;
  };

  const fieldOf = async (promise: Promise<unknown>): Promise<string | undefined> => {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  };

  it.each(['billing', 'sa:', 'sa:Billing', 'sa:-x', 'user:alice', 'user:alice@localhost', 'sa:a b', `sa:${'a'.repeat(64)}`])(
    'rejects identity id %j',
    async (identityId) => {
      const { auth, repository } = await ready();
      expect(await fieldOf(auth.createIdentity(identity({ identityId })))).toBe('identity');
      expect(repository.identities.size).toBe(0);
    },
  );

  it('accepts service-account and user identities', async () => {
    const { auth } = await ready();
    for (const identityId of ['sa:ci.deploy-1', 'user:alice.smith+ops@example.co.uk']) {
      const issued = await auth.createIdentity(identity({ identityId, policies: ['reader'] }));
      expect(issued.token).toMatch(/^svt_[A-Za-z0-9_-]{43}$/);
      expect(issued.record).toMatchObject({ tenantId: 'acme', identityId, policies: ['reader'] });
    }
  });

  it('rejects an unknown or malformed policy name', async () => {
    const { auth, repository } = await ready();
    expect(await fieldOf(auth.createIdentity(identity({ policies: ['writer'] })))).toBe('policies');
    expect(await fieldOf(auth.createIdentity(identity({ policies: ['Bad Name'] })))).toBe('policies');
    // A policy of another tenant does not count.
    await auth.putPolicy('globex', 'writer', [{ path: '**', capabilities: ['write'] }]);
    expect(await fieldOf(auth.createIdentity(identity({ policies: ['writer'] })))).toBe('policies');
    expect(repository.tokens.size).toBe(1); // only the root token
  });

  it('rejects a TTL out of bounds or not an integer', async () => {
    const { auth } = await ready();
    for (const ttlSeconds of [0, -60, 90.5, MAX_TTL + 1]) {
      expect(await fieldOf(auth.createIdentity(identity({ ttlSeconds, maxTtlSeconds: MAX_TTL })))).toBe('ttl_seconds');
    }
    expect(await fieldOf(auth.createIdentity(identity({ ttlSeconds: 3600, maxTtlSeconds: MAX_TTL + 1 })))).toBe('max_ttl_seconds');
  });

  it('rejects max_ttl shorter than ttl', async () => {
    const { auth } = await ready();
    expect(await fieldOf(auth.createIdentity(identity({ ttlSeconds: 7200, maxTtlSeconds: 3600 })))).toBe('max_ttl_seconds');
  });

  it('issues a token that expires after ttl and cannot be renewed past max_ttl', async () => {
    const { auth, clock } = await ready();
    const start = clock.now();
    const { record } = await auth.createIdentity(identity({ ttlSeconds: 600, maxTtlSeconds: 1200 }));
    expect(record.expiresAt).toBe(start + 600_000);
    expect(record.maxExpiresAt).toBe(start + 1_200_000);
  });
});

describe('AuthService.renew', () => {
  const renewable = async (ttlSeconds: number, maxTtlSeconds: number, renewableFlag = true) => {
    const context = await setup();
    await context.auth.ensureTenant('acme', 'Acme');
    const start = context.clock.now();
    const issued = await context.auth.createIdentity(identity({ ttlSeconds, maxTtlSeconds, renewable: renewableFlag }));
    const principal = await context.auth.authenticate(`Bearer ${issued.token}`);
    return { ...context, start, issued, principal };
  };

  it('refuses the root token and tokens issued as non-renewable', async () => {
    const { auth, root, principal } = await renewable(600, 1200, false);
    await expect(auth.renew(root, undefined)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(auth.renew(principal, undefined)).rejects.toBeInstanceOf(ForbiddenError);
  });

  it('extends by the original TTL from now, persisting the new expiry', async () => {
    const { auth, clock, start, principal, repository, issued } = await renewable(600, 3600);
    clock.advanceSeconds(500);
    const renewed = await auth.renew(principal, undefined);
    expect(renewed.expiresAt).toBe(start + 1_100_000);
    expect(repository.tokens.get(issued.record.tokenHash)?.expiresAt).toBe(start + 1_100_000);
    // Past the original expiry the token still works.
    clock.advanceSeconds(200);
    await expect(auth.authenticate(`Bearer ${issued.token}`)).resolves.toMatchObject({ identityId: 'sa:billing' });
  });

  it("caps the renewal at the token's max TTL", async () => {
    const { auth, clock, start, principal, issued } = await renewable(600, 1000);
    clock.advanceSeconds(500);
    const renewed = await auth.renew(principal, 3600);
    expect(renewed.expiresAt).toBe(start + 1_000_000);
    clock.advanceSeconds(500);
    await expect(auth.authenticate(`Bearer ${issued.token}`)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('never shortens a token', async () => {
    const { auth, start, principal } = await renewable(3600, 7200);
    const renewed = await auth.renew(principal, 60);
    expect(renewed.expiresAt).toBe(start + 3_600_000);
  });

  it('validates the increment', async () => {
    const { auth, principal } = await renewable(600, 1200);
    await expect(auth.renew(principal, 0)).rejects.toBeInstanceOf(ValidationError);
    await expect(auth.renew(principal, MAX_TTL + 1)).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('AuthService.bootstrapRoot', () => {
  it('is idempotent: one default tenant, one data key, one root token that never expires', async () => {
    const { auth, repository, rootToken, clock } = await setup();
    await auth.bootstrapRoot(rootToken);
    expect([...repository.tenants.keys()]).toEqual(['default']);
    expect(repository.dataKeys.size).toBe(1);
    expect(repository.tokens.size).toBe(1);
    const [record] = repository.tokens.values();
    expect(record).toMatchObject({ tenantId: 'default', identityId: 'sa:root', policies: ['admin'], expiresAt: null, renewable: false });
    clock.advanceSeconds(10 * 365 * 24 * 3600);
    await expect(auth.authenticate(`Bearer ${rootToken}`)).resolves.toMatchObject({ identityId: 'sa:root' });
  });

  it('refuses a malformed root token', async () => {
    const { auth } = await setup();
    await expect(auth.bootstrapRoot('not-a-token')).rejects.toBeInstanceOf(ValidationError);
    await expect(auth.bootstrapRoot(`svt_${'a'.repeat(42)}`)).rejects.toBeInstanceOf(ValidationError);
  });
});

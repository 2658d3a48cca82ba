import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity, VaultProcess } from './support/vault.js';

describe('tenants, identities, policies and tokens', () => {
  let vault: VaultProcess;
  let acmeReader: string;
  let acmeAdmin: string;
  let globexApp: string;

  beforeAll(async () => {
    vault = await VaultProcess.start();
    acmeAdmin = await createIdentity(vault, { tenant: 'acme', identity: 'sa:acme-admin', policies: ['admin'] });
    acmeReader = await createIdentity(vault, {
      tenant: 'acme',
      identity: 'sa:reporting',
      rules: [
        { path: 'reports/**', capabilities: ['read', 'list'] },
        { path: 'shared/*', capabilities: ['read'] },
      ],
    });
    globexApp = await createIdentity(vault, {
      tenant: 'globex',
      identity: 'user:ops@globex.example',
      rules: [{ path: '**', capabilities: ['read', 'write', 'list', 'delete'] }],
    });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('enforces policy globs and capabilities, with 403 decided by policy alone', async () => {
    expect((await vault.request('PUT', '/v1/secrets/reports/q1', { token: acmeAdmin, body: { value: 'acme-q1-figures' } })).status).toBe(201);
    expect((await vault.request('GET', '/v1/secrets/reports/q1', { token: acmeReader })).body.value).toBe('acme-q1-figures');
    // Read-only identity cannot write.
    const write = await vault.request('PUT', '/v1/secrets/reports/q2', { token: acmeReader, body: { value: 'nope' } });
    expect(write.status).toBe(403);
    expect(write.headers.get('content-type')).toBe('application/problem+json');
    expect((await vault.request('GET', '/v1/secrets/reports/q2', { token: acmeAdmin })).status).toBe(404);
    // Outside its globs: forbidden whether or not the secret exists.
    await vault.request('PUT', '/v1/secrets/payroll/key', { token: acmeAdmin, body: { value: 'acme-payroll' } });
    const existing = await vault.request('GET', '/v1/secrets/payroll/key', { token: acmeReader });
    const absent = await vault.request('GET', '/v1/secrets/payroll/none', { token: acmeReader });
    expect(existing.status).toBe(403);
    expect(absent.status).toBe(403);
    // `shared/*` covers one segment only.
    await vault.request('PUT', '/v1/secrets/shared/a/b', { token: acmeAdmin, body: { value: 'deep' } });
    expect((await vault.request('GET', '/v1/secrets/shared/a/b', { token: acmeReader })).status).toBe(403);
    // Listing shows only what the identity may list.
    const listed = await vault.request('GET', '/v1/secrets', { token: acmeReader });
    expect(listed.body.secrets.map((s: { path: string }) => s.path)).toEqual(['reports/q1']);
    // Non-admins cannot administer.
    expect((await vault.request('POST', '/v1/identities', { token: acmeReader, body: { identity: 'sa:x', policies: [] } })).status).toBe(403);
    expect((await vault.request('POST', '/v1/tenants', { token: acmeAdmin, body: { tenant_id: 'sneaky' } })).status).toBe(403);
    // Operating the vault is for administrators of the default tenant only.
    for (const path of ['/v1/health/detailed', '/v1/admin/status']) {
      expect((await vault.request('GET', path, { token: acmeAdmin })).status).toBe(403);
      expect((await vault.request('GET', path, { token: acmeReader })).status).toBe(403);
      expect((await vault.request('GET', path)).status).toBe(200);
    }
    expect((await vault.request('POST', '/v1/admin/cache/clear', { token: acmeAdmin })).status).toBe(403);
  });

  it("isolates tenants: another tenant's secret answers exactly like a missing one", async () => {
    await vault.request('PUT', '/v1/secrets/db/password', { token: globexApp, body: { value: 'globex-db-pass' } });
    const theirs = await vault.request('GET', '/v1/secrets/db/password', { token: acmeAdmin });
    const nothing = await vault.request('GET', '/v1/secrets/db/never-written', { token: acmeAdmin });
    expect(theirs.status).toBe(404);
    expect(nothing.status).toBe(404);
    const strip = (body: Record<string, unknown>) => ({
      ...body,
      request_id: undefined,
      detail: String(body.detail).replace('db/password', 'X').replace('db/never-written', 'X'),
    });
    expect(strip(theirs.body)).toEqual(strip(nothing.body));
    expect(theirs.text).not.toContain('globex-db-pass');
    expect((await vault.request('GET', '/v1/secrets/db/password/versions', { token: acmeAdmin })).status).toBe(404);
    const acmeList = await vault.request('GET', '/v1/secrets?prefix=db/', { token: acmeAdmin });
    expect(acmeList.body.secrets).toEqual([]);
    // Writing the same path in acme creates acme's own secret; globex's is untouched.
    expect((await vault.request('PUT', '/v1/secrets/db/password', { token: acmeAdmin, body: { value: 'acme-db-pass' } })).body.version).toBe(1);
    expect((await vault.request('GET', '/v1/secrets/db/password', { token: globexApp })).body.value).toBe('globex-db-pass');
    // A tenant admin cannot act in another tenant.
    const cross = await vault.request('PUT', '/v1/policies/steal', {
      token: acmeAdmin,
      body: { tenant_id: 'globex', rules: [{ path: '**', capabilities: ['read'] }] },
    });
    expect(cross.status).toBe(403);
  });

  it('reports and renews tokens within their maximum TTL', async () => {
    const token = await createIdentity(vault, { tenant: 'acme', identity: 'sa:renewer', policies: ['admin'], ttl: 120, maxTtl: 300 });
    const self = await vault.request('GET', '/v1/auth/token/self', { token });
    expect(self.status).toBe(200);
    expect(self.body).toMatchObject({ tenant_id: 'acme', identity_id: 'sa:renewer', renewable: true, policies: ['admin'] });
    expect(self.body.ttl_seconds).toBeGreaterThan(100);
    expect(self.body.ttl_seconds).toBeLessThanOrEqual(120);
    expect(JSON.stringify(self.body)).not.toContain(token);
    const renewed = await vault.request('POST', '/v1/auth/token/renew', { token, body: { increment_seconds: 250 } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.ttl_seconds).toBeGreaterThan(200);
    const capped = await vault.request('POST', '/v1/auth/token/renew', { token, body: { increment_seconds: 3000 } });
    expect(capped.body.ttl_seconds).toBeLessThanOrEqual(300);
    const fixed = await createIdentity(vault, { tenant: 'acme', identity: 'sa:fixed', policies: ['admin'], renewable: false });
    expect((await vault.request('POST', '/v1/auth/token/renew', { token: fixed })).status).toBe(403);
  });

  it('refuses missing, malformed, forged and expired tokens with 401', async () => {
    for (const token of [null, 'garbage', `svt_${'A'.repeat(43)}`]) {
      const response = await vault.request('GET', '/v1/secrets/reports/q1', { token });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.body.request_id).toEqual(expect.any(String));
    }
    // Two seconds: its first use must land before expiry even on a busy machine.
    const shortLived = await createIdentity(vault, { tenant: 'acme', identity: 'sa:ephemeral', policies: ['admin'], ttl: 2 });
    expect((await vault.request('GET', '/v1/auth/token/self', { token: shortLived })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2300));
    expect((await vault.request('GET', '/v1/auth/token/self', { token: shortLived })).status).toBe(401);
    expect((await vault.request('GET', '/v1/secrets/reports/q1', { token: shortLived })).status).toBe(401);
  });

  it('rejects duplicate tenants and identities, invalid names and unknown policies', async () => {
    expect((await vault.request('POST', '/v1/tenants', { body: { tenant_id: 'acme' } })).status).toBe(409);
    expect((await vault.request('POST', '/v1/tenants', { body: { tenant_id: 'Bad Name!' } })).status).toBe(400);
    expect((await vault.request('POST', '/v1/identities', { body: { tenant_id: 'acme', identity: 'sa:reporting', policies: [] } })).status).toBe(409);
    expect((await vault.request('POST', '/v1/identities', { body: { tenant_id: 'acme', identity: 'robot', policies: [] } })).status).toBe(400);
    expect((await vault.request('POST', '/v1/identities', { body: { tenant_id: 'acme', identity: 'sa:new', policies: ['ghost'] } })).status).toBe(400);
    expect((await vault.request('POST', '/v1/identities', { body: { tenant_id: 'nowhere', identity: 'sa:new', policies: [] } })).status).toBe(404);
    expect((await vault.request('PUT', '/v1/policies/bad', { body: { rules: [{ path: '../x', capabilities: ['read'] }] } })).status).toBe(400);
    expect((await vault.request('PUT', '/v1/policies/bad', { body: { rules: [{ path: 'x/*', capabilities: ['fly'] }] } })).status).toBe(400);
  });
});

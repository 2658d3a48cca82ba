import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiRouter } from '../../functions/routes/route-table.js';
import { OPENAPI_FILE } from '../../scripts/openapi.js';
import { VaultProcess } from './support/vault.js';

// Every route group answered over real HTTP at least once. VaultProcess.request
// checks each answer against the schema its route declares for that status, so
// a handler whose JSON drifts from its schema fails here (see support/contract.ts).

const API_ROUTE_GROUPS = await apiRouter().all();

describe('the API keeps its declared contract', () => {
  let vault: VaultProcess;
  const groupsSeen = new Set<string>();
  const groupOf = (pattern: string) => API_ROUTE_GROUPS.find((group) => group.routes.some((route) => route.pattern === pattern))!.name;

  const call = async (method: string, path: string, pattern: string, options: Parameters<VaultProcess['request']>[2] = {}) => {
    const response = await vault.request(method, path, options);
    groupsSeen.add(groupOf(pattern));
    return response;
  };

  beforeAll(async () => {
    vault = await VaultProcess.start();
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('health and metrics', async () => {
    expect((await call('GET', '/v1/health', '/v1/health', { token: null })).status).toBe(200);
    expect((await call('GET', '/v1/health/ready', '/v1/health/ready', { token: null })).status).toBe(200);
    expect((await call('GET', '/v1/health/detailed', '/v1/health/detailed')).status).toBe(200);
    const metrics = await call('GET', '/v1/metrics', '/v1/metrics', { token: null });
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('scaivault_');
  });

  it('tenants, identities, tokens and policies', async () => {
    expect((await call('POST', '/v1/tenants', '/v1/tenants', { body: { tenant_id: 'contract' } })).status).toBe(201);
    const policy = await call('PUT', '/v1/policies/readers', '/v1/policies/{name}', {
      body: { tenant_id: 'contract', rules: [{ path: 'app/*', capabilities: ['read', 'list'] }] },
    });
    expect(policy.status).toBe(200);
    const identity = await call('POST', '/v1/identities', '/v1/identities', { body: { tenant_id: 'contract', identity: 'sa:reader', policies: ['readers'] } });
    expect(identity.status).toBe(201);
    const token = identity.body.token as string;
    expect((await call('GET', '/v1/auth/token/self', '/v1/auth/token/self', { token })).body.identity_id).toBe('sa:reader');
    expect((await call('POST', '/v1/auth/token/renew', '/v1/auth/token/renew', { token })).status).toBe(200);
  });

  it('secrets and rotation', async () => {
    const secret = '/v1/secrets/{path+}';
    expect((await call('PUT', '/v1/secrets/app/db', secret, { body: { value: 'one', rotation: { interval_days: 30 } } })).status).toBe(201);
    expect((await call('PUT', '/v1/secrets/app/db', secret, { body: { value: 'two', metadata: { owner: 'team' } } })).status).toBe(200);
    expect((await call('GET', '/v1/secrets/app/db?version=1', secret)).body.value).toBe('one');
    expect((await call('GET', '/v1/secrets?prefix=app/', '/v1/secrets')).body.secrets).toHaveLength(1);
    expect((await call('GET', '/v1/secrets/app/db/versions', `${secret}/versions`)).body.versions).toHaveLength(2);
    expect((await call('DELETE', '/v1/secrets/app/db', secret)).status).toBe(200);
    expect((await call('POST', '/v1/secrets/app/db/restore', `${secret}/restore`)).status).toBe(200);
    const rotation = await call('POST', '/v1/secrets/app/db/rotate', `${secret}/rotate`);
    expect(rotation.status).toBe(202);
    expect((await call('GET', `/v1/jobs/${rotation.body.job_id}`, '/v1/jobs/{id}')).status).toBe(200);
    expect((await call('DELETE', '/v1/secrets/app/gone?destroy=true', secret)).status).toBe(404);
  });

  it('webhooks', async () => {
    const created = await call('POST', '/v1/webhooks', '/v1/webhooks', { body: { url: 'https://hooks.example.com/vault', event_types: ['secret.deleted'] } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await call('GET', '/v1/webhooks', '/v1/webhooks')).body.webhooks).toHaveLength(1);
    expect((await call('GET', `/v1/webhooks/${id}`, '/v1/webhooks/{id}')).status).toBe(200);
    expect((await call('POST', `/v1/webhooks/${id}/rotate-secret`, '/v1/webhooks/{id}/rotate-secret')).body.secret_version).toBe(2);
    expect((await call('GET', `/v1/webhooks/${id}/deliveries`, '/v1/webhooks/{id}/deliveries')).body.deliveries).toEqual([]);
    expect((await call('DELETE', `/v1/webhooks/${id}`, '/v1/webhooks/{id}')).status).toBe(204);
  });

  it('audit', async () => {
    const events = await call('GET', '/v1/audit/events?type=secret.write', '/v1/audit/events');
    expect(events.body.events.length).toBeGreaterThan(0);
    expect((await call('GET', '/v1/audit/verify', '/v1/audit/verify')).body.ok).toBe(true);
    expect((await call('POST', '/v1/audit/hash', '/v1/audit/hash', { body: { input: 'two' } })).body.hmac).toMatch(/^hmac-sha256:/);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    expect([200, 202, 409]).toContain((await call('POST', '/v1/audit/export', '/v1/audit/export', { body: { from } })).status);
    expect((await call('GET', `/v1/audit/exports/exp_${'0'.repeat(32)}`, '/v1/audit/exports/{id}')).status).toBe(404);
  });

  it('dynamic secrets (the full flow against PostgreSQL is in dynamic-secrets.test.ts)', async () => {
    expect((await call('GET', '/v1/dynamic/engines', '/v1/dynamic/engines')).body.engines).toEqual([]);
    const engine = await call('POST', '/v1/dynamic/engines', '/v1/dynamic/engines', { body: { name: 'contract', connection_secret: 'db/none' } });
    expect(engine.status).toBe(409);
    expect((await call('GET', '/v1/leases?prefix=dynamic/contract/', '/v1/leases')).body.leases).toEqual([]);
    expect((await call('POST', '/v1/dynamic/contract/creds/reader', '/v1/dynamic/{engine}/creds/{role}')).status).toBe(404);
  });

  it('keys: data-key rotation and the master key', async () => {
    expect((await call('GET', '/v1/admin/keys/rotation', '/v1/admin/keys/rotation')).status).toBe(404);
    const started = await call('POST', '/v1/admin/keys/rotate', '/v1/admin/keys/rotate', { body: {} });
    expect(started.status).toBe(202);
    expect((await call('GET', '/v1/admin/keys/rotation', '/v1/admin/keys/rotation')).body.rotation_id).toBe(started.body.rotation_id);
    expect((await call('POST', '/v1/admin/keys/rotate', '/v1/admin/keys/rotate', { body: { tenant: 'default' } })).status).toBe(409);
    const master = await call('POST', '/v1/admin/keys/master/rotate', '/v1/admin/keys/master/rotate');
    expect(master.body).toEqual({ provider: 'local', key_version: 'v2' });
    // Values written before both rotations still read.
    expect((await vault.request('GET', '/v1/secrets/app/db')).status).toBe(200);
  });

  it('pki', async () => {
    const ca = await call('POST', '/v1/pki/cas', '/v1/pki/cas', { body: { type: 'root', name: 'contract', common_name: 'Contract Root' } });
    expect(ca.status).toBe(201);
    expect((await call('GET', `/v1/pki/cas/${ca.body.ca_id}/roles`, '/v1/pki/cas/{ca}/roles')).status).toBe(200);
    expect((await call('GET', `/v1/pki/${ca.body.ca_id}/crl/pem`, '/v1/pki/{ca}/crl/pem', { token: null })).status).toBe(200);
  });

  it('admin: the status reports the features that are wired', async () => {
    const status = await call('GET', '/v1/admin/status', '/v1/admin/status');
    expect(status.status).toBe(200);
    expect(status.body.features).toEqual({
      secrets: true,
      tenants: true,
      rate_limiting: true,
      rotation: true,
      webhooks: true,
      audit: true,
      pki: true,
      leases: true,
    });
    expect((await call('POST', '/v1/admin/cache/clear', '/v1/admin/cache/clear')).status).toBe(200);
  });

  it('serves the committed OpenAPI document, without a token', async () => {
    const served = await call('GET', '/v1/openapi.json', '/v1/openapi.json', { token: null });
    expect(served.status).toBe(200);
    expect(served.headers.get('ratelimit')).toBeNull();
    expect(served.body).toEqual(JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')));
    expect(served.text).not.toContain(vault.rootToken);
  });

  it('ACME providers, managed certificates and the public HTTP-01 route', async () => {
    // A name that does not resolve now is not refused at creation; ordering (the scheduler) never runs here.
    const provider = { name: 'contract-ca', directory_url: 'https://acme.contract.invalid/directory', eab: { kid: 'kid-1', hmac_key: 'A'.repeat(43) } };
    expect((await call('POST', '/v1/acme/providers', '/v1/acme/providers', { body: provider })).status).toBe(201);
    expect((await call('GET', '/v1/acme/providers', '/v1/acme/providers')).body.providers).toHaveLength(1);
    expect((await call('GET', '/v1/acme/providers/contract-ca', '/v1/acme/providers/{name}')).body.eab_kid).toBe('kid-1');
    const certificate = {
      name: 'contract-web',
      provider: 'contract-ca',
      domains: ['www.contract.invalid'],
      challenge_type: 'dns-01',
      dns: { hosted_zone_id: 'Z0123456789' },
    };
    expect((await call('POST', '/v1/acme/certificates', '/v1/acme/certificates', { body: certificate })).status).toBe(202);
    expect((await call('GET', '/v1/acme/certificates', '/v1/acme/certificates')).body.certificates).toHaveLength(1);
    expect((await call('GET', '/v1/acme/certificates/contract-web', '/v1/acme/certificates/{name}')).body.status).toBe('pending');
    expect((await call('GET', '/v1/acme/certificates/contract-web/key', '/v1/acme/certificates/{name}/key')).status).toBe(409);
    expect((await call('POST', '/v1/acme/certificates/contract-web/renew', '/v1/acme/certificates/{name}/renew')).status).toBe(202);
    expect((await call('DELETE', '/v1/acme/providers/contract-ca', '/v1/acme/providers/{name}')).status).toBe(409);
    expect((await call('DELETE', '/v1/acme/certificates/contract-web', '/v1/acme/certificates/{name}')).status).toBe(204);
    expect((await call('DELETE', '/v1/acme/providers/contract-ca', '/v1/acme/providers/{name}')).status).toBe(204);
    const challenge = '/.well-known/acme-challenge/{token}';
    expect((await call('GET', '/.well-known/acme-challenge/nosuchtoken0123456789', challenge, { token: null })).status).toBe(404);
  });

  it('has hit every route group', () => {
    expect([...groupsSeen].sort()).toEqual(API_ROUTE_GROUPS.map((group) => group.name).sort());
  });
});

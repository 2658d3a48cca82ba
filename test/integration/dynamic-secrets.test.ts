import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresServer } from '../support/postgres-server.js';
import { waitFor } from './support/processes.js';
import type { OtlpReceiver } from './support/otlp-receiver.js';
import { startTracedVault, stopTracedVault } from './support/traced-vault.js';
import { createIdentity, type VaultProcess } from './support/vault.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

const CREATION = ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiration}}', 'GRANT SELECT ON inventory TO {{name}}'];

let vault: VaultProcess;
let db: PostgresServer;
let receiver: WebhookReceiver;
let spans: OtlpReceiver;

const role = (overrides: Record<string, unknown> = {}) => ({ creation_statements: CREATION, default_ttl: 300, max_ttl: 600, ...overrides });

const putRole = (engine: string, name: string, body: Record<string, unknown>, token?: string) =>
  vault.request('PUT', `/v1/dynamic/engines/${engine}/roles/${name}`, { body, token });

const issue = (engine: string, name: string, body: Record<string, unknown> = {}, token?: string) =>
  vault.request('POST', `/v1/dynamic/${engine}/creds/${name}`, { body, token });

const leasesUnder = async (prefix: string): Promise<Record<string, any>[]> => {
  const answer = await vault.request('GET', `/v1/leases?prefix=${encodeURIComponent(prefix)}`);
  expect(answer.status).toBe(200);
  return answer.body.leases;
};

const roleExists = async (server: PostgresServer, name: string): Promise<boolean> =>
  (await server.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length > 0;

/** Runs a statement as a dynamic user: `ok`, or the SQLSTATE it failed with. */
const runAs = async (user: string, password: string, sql: string): Promise<string> => {
  const { Client, DatabaseError } = await import('pg');
  const client = new Client({ host: db.host, port: db.port, user, password, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return error instanceof DatabaseError ? (error.code ?? 'unknown') : (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
};

const metricValue = async (series: string): Promise<number | undefined> => {
  const text = await (await fetch(`${vault.url}/v1/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

beforeAll(async () => {
  [db, receiver] = await Promise.all([PostgresServer.start(), WebhookReceiver.start()]);
  await db.query('CREATE TABLE inventory (id int PRIMARY KEY, item text)');
  await db.query("INSERT INTO inventory VALUES (1, 'lamp')");
  ({ vault, receiver: spans } = await startTracedVault({
    SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
    SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
    SCAIVAULT_LEASE_REVOKE_BACKOFF_BASE_MS: '300',
    SCAIVAULT_LEASE_REVOKE_MAX_ATTEMPTS: '3',
    SCAIVAULT_METRICS_FLUSH_SECONDS: '0.3',
    SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
  }));
  expect((await vault.request('PUT', '/v1/secrets/db/admin', { body: { value: db.adminUrl, type: 'connection_string' } })).status).toBe(201);
  const hook = await vault.request('POST', '/v1/webhooks', {
    body: { url: receiver.url('/leases'), event_types: ['lease.created', 'lease.revoked', 'lease.revocation_failed'] },
  });
  expect(hook.status).toBe(201);
  const engine = await vault.request('POST', '/v1/dynamic/engines', { body: { name: 'main', connection_secret: 'db/admin', max_connections: 2 } });
  expect(engine.status).toBe(201);
  expect(engine.body.health.healthy).toBe(true);
}, 90_000);

afterAll(async () => {
  await stopTracedVault(vault, spans);
  await Promise.all([db?.stop(), receiver?.close()]);
});

describe('dynamic PostgreSQL credentials with leases', () => {
  it('issues a user that logs in and can do what the creation statements grant, and revoking it locks it out', async () => {
    expect((await putRole('main', 'reader', role())).status).toBe(200);
    const creds = await issue('main', 'reader', { ttl: 120 });
    expect(creds.status).toBe(201);
    const { username, password, lease_id: leaseId, ttl } = creds.body;
    expect(leaseId).toMatch(/^dynamic\/main\/creds\/reader\/[a-z0-9]+$/);
    expect(ttl).toBeGreaterThan(110);
    expect(ttl).toBeLessThanOrEqual(120);
    expect(await runAs(username, password, 'SELECT item FROM inventory')).toBe('ok');
    expect(await runAs(username, password, "INSERT INTO inventory VALUES (2, 'chair')")).toBe('42501');
    const [row] = await db.query<{ until: string }>('SELECT rolvaliduntil::text AS until FROM pg_roles WHERE rolname = $1', [username]);
    expect(Math.abs(Date.parse(row!.until) - Date.parse(creds.body.expires_at))).toBeLessThan(1000);

    const listed = await leasesUnder('dynamic/main/creds/reader/');
    expect(listed.map((lease) => lease.lease_id)).toContain(leaseId);
    expect(JSON.stringify(listed)).not.toContain(password);

    expect((await vault.request('POST', '/v1/leases/revoke', { body: { lease_id: leaseId } })).status).toBe(204);
    expect(await runAs(username, password, 'SELECT 1')).toBe('28P01');
    expect(await roleExists(db, username)).toBe(false);
    // Idempotent from the caller's side: the lease is gone, and saying so is a 404, not a second DROP.
    expect((await vault.request('POST', '/v1/leases/revoke', { body: { lease_id: leaseId } })).status).toBe(404);
    // The password reached neither the vault's logs, nor the database's (a SCRAM verifier was sent), nor a webhook.
    expect(vault.output).not.toContain(password);
    expect(db.log()).not.toContain(password);
    await waitFor(
      async () => receiver.at('/leases').some((delivery) => delivery.body.includes('lease.revoked') && delivery.body.includes(leaseId)),
      15_000,
      'lease.revoked',
    );
    expect(receiver.received.map((delivery) => delivery.body).join('\n')).not.toContain(password);
    // Every database call is a span naming the statement templates, never the rendered SQL.
    await waitFor(async () => spans.spans.some((span) => span.name === 'postgresql revoke_credential'), 15_000, 'database spans');
    const create = spans.spans.find((span) => span.name === 'postgresql create_credential');
    expect(create?.attributes).toMatchObject({ 'db.system': 'postgresql', 'db.operation.name': 'create_credential', 'server.address': '127.0.0.1' });
    expect(create?.attributes['db.query.text']).toContain('PASSWORD {{password}} VALID UNTIL {{expiration}}');
    expect(JSON.stringify(spans.spans)).not.toContain(password);
    expect(JSON.stringify(spans.spans)).not.toContain(username);
    const audit = await vault.request('GET', '/v1/audit/events?type=lease.create');
    expect(audit.status).toBe(200);
    expect(audit.body.events.length).toBeGreaterThan(0);
    expect(audit.text).not.toContain(password);
  });

  it('renews up to max_ttl and moves VALID UNTIL with it', async () => {
    expect((await putRole('main', 'renewer', role({ default_ttl: 60, max_ttl: 90 }))).status).toBe(200);
    const creds = await issue('main', 'renewer');
    const renewed = await vault.request('POST', '/v1/leases/renew', { body: { lease_id: creds.body.lease_id, increment: 3600 } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.expires_at).toBe(renewed.body.max_expires_at);
    const [row] = await db.query<{ until: string }>('SELECT rolvaliduntil::text AS until FROM pg_roles WHERE rolname = $1', [creds.body.username]);
    expect(Math.abs(Date.parse(row!.until) - Date.parse(renewed.body.expires_at))).toBeLessThan(1000);
  });

  it('revokes expired leases from the scheduler: the user can no longer log in', async () => {
    // Three seconds: long enough for the login below on a busy machine, before the scheduler (every second here) revokes it.
    expect((await putRole('main', 'brief', role({ default_ttl: 3, max_ttl: 5 }))).status).toBe(200);
    const creds = await issue('main', 'brief');
    expect(creds.status).toBe(201);
    expect(await runAs(creds.body.username, creds.body.password, 'SELECT 1')).toBe('ok');
    await waitFor(async () => (await leasesUnder('dynamic/main/creds/brief/')).length === 0, 15_000, 'the expired lease to be revoked');
    expect(await roleExists(db, creds.body.username)).toBe(false);
    expect(await runAs(creds.body.username, creds.body.password, 'SELECT 1')).toBe('28P01');
    await waitFor(
      async () => (await metricValue('scaivault_lease_revocations_total{engine="main",status="success"}')) !== undefined,
      10_000,
      'revocations counted',
    );
  });

  it('answers 429 over max_leases and creates nothing', async () => {
    expect((await putRole('main', 'single', role({ max_leases: 1 }))).status).toBe(200);
    expect((await issue('main', 'single')).status).toBe(201);
    const before = await db.query('SELECT rolname FROM pg_roles');
    const refused = await issue('main', 'single');
    expect(refused.status).toBe(429);
    expect(refused.body.type).toBe('https://scaivault.dev/problems/quota-exceeded');
    expect(refused.body.detail).toContain('max_leases (1)');
    expect(refused.headers.get('retry-after')).toBeTruthy();
    expect((await db.query('SELECT rolname FROM pg_roles')).length).toBe(before.length);
    // Revoking gives the quota back.
    const revoked = await vault.request('POST', '/v1/leases/revoke-prefix', { body: { prefix: 'dynamic/main/creds/single/' } });
    expect(revoked.body).toEqual({ revoked: 1, pending: 0, more: false });
    expect((await issue('main', 'single')).status).toBe(201);
  });

  it.each([
    [{ creation_statements: ['CREATE ROLE {{name}} LOGIN PASSWORD {{pasword}}'] }, 'unknown placeholder {{pasword}}'],
    [{ creation_statements: ['CREATE ROLE "{{name}}" LOGIN PASSWORD {{password}}'] }, 'without quotes'],
    [{ creation_statements: ['CREATE ROLE {{name}} LOGIN'] }, 'must use {{password}}'],
    [
      { creation_statements: ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}}', 'GRANT SELECT ON missing_table TO {{name}}'] },
      'relation "missing_table" does not exist',
    ],
    [
      { creation_statements: ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}}'], revocation_statements: ['DROP ROLE {{name}} CASCADE'] },
      'revocation_statements[0] failed',
    ],
  ])('refuses bad statements with a 400 and keeps no role: %j', async (statements, message) => {
    const answer = await putRole('main', 'broken', role(statements));
    expect(answer.status).toBe(400);
    expect(answer.body.detail).toContain(message);
    expect((await vault.request('GET', '/v1/dynamic/engines/main/roles/broken')).status).toBe(404);
    expect(await roleExists(db, 'scaivault_verify_role')).toBe(false);
  });

  it('refuses an engine on a private address that is not allowlisted, and the metadata service', async () => {
    expect((await vault.request('PUT', '/v1/secrets/db/metadata', { body: { value: 'postgres://u:p@169.254.169.254/db' } })).status).toBe(201);
    const refused = await vault.request('POST', '/v1/dynamic/engines', { body: { name: 'metadata', connection_secret: 'db/metadata' } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('egress to 169.254.169.254 refused');
    expect((await vault.request('GET', '/v1/dynamic/engines/metadata')).status).toBe(404);
  });

  it('rolls back a half-made credential: no user, no lease, no quota used', async () => {
    await db.query('CREATE TABLE doomed (id int)');
    const statements = ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}}', 'GRANT SELECT ON doomed TO {{name}}'];
    expect((await putRole('main', 'halfmade', role({ creation_statements: statements, max_leases: 1 }))).status).toBe(200);
    await db.query('DROP TABLE doomed');
    const failed = await issue('main', 'halfmade');
    expect(failed.status).toBe(503);
    expect(await db.query("SELECT rolname FROM pg_roles WHERE rolname LIKE 'v\\_halfmade\\_%'")).toEqual([]);
    expect(await leasesUnder('dynamic/main/creds/halfmade/')).toEqual([]);
    expect((await vault.request('GET', '/v1/dynamic/engines/main/roles/halfmade')).body.active_leases).toBe(0);
  });

  it("answers 404 for unknown roles and engines, and for another tenant's engine", async () => {
    expect((await issue('main', 'nobody')).status).toBe(404);
    expect((await issue('nothing', 'reader')).status).toBe(404);
    const other = await createIdentity(vault, {
      tenant: 'tenant-b',
      identity: 'sa:b-admin',
      rules: [{ path: 'dynamic/**', capabilities: ['read', 'list', 'delete', 'admin'] }],
    });
    const roles = await db.query('SELECT rolname FROM pg_roles');
    expect((await issue('main', 'reader', {}, other)).status).toBe(404);
    expect((await vault.request('GET', '/v1/dynamic/engines/main', { token: other })).status).toBe(404);
    expect((await vault.request('GET', '/v1/dynamic/engines', { token: other })).body.engines).toEqual([]);
    expect((await putRole('main', 'stolen', role(), other)).status).toBe(404);
    expect((await vault.request('GET', '/v1/leases?prefix=dynamic/main/', { token: other })).body.leases).toEqual([]);
    expect((await db.query('SELECT rolname FROM pg_roles')).length).toBe(roles.length);
  });

  it('needs read on dynamic/<engine>/creds/<role> to issue', async () => {
    const narrow = await createIdentity(vault, {
      tenant: 'default',
      identity: 'sa:narrow',
      rules: [{ path: 'dynamic/main/creds/renewer', capabilities: ['read'] }],
    });
    expect((await issue('main', 'reader', {}, narrow)).status).toBe(403);
    expect((await issue('main', 'renewer', {}, narrow)).status).toBe(201);
  });

  it('shows generated leases and engine health as metrics', async () => {
    await waitFor(async () => (await metricValue('scaivault_leases_generated_total{engine="main",role="reader"}')) === 1, 10_000, 'generated counter');
    expect(await metricValue('scaivault_engine_health{engine="main"}')).toBe(1);
    expect(await metricValue('scaivault_leases_active{engine="main"}')).toBeGreaterThanOrEqual(2);
    // The renewer's lease, issued several tests ago, is still held.
    expect(await metricValue('scaivault_lease_oldest_age_seconds{engine="main"}')).toBeGreaterThanOrEqual(2);
    expect(await metricValue('scaivault_leases_irrevocable{engine="main"}')).toBe(0);
  });
});

describe('a lease whose database is down', () => {
  let flaky: PostgresServer;

  beforeAll(async () => {
    flaky = await PostgresServer.start();
    expect((await vault.request('PUT', '/v1/secrets/db/flaky', { body: { value: flaky.adminUrl, type: 'connection_string' } })).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await flaky?.stop();
  });

  it('is retried with backoff, then reported irrevocable: listed with its error, counted, announced', async () => {
    expect((await vault.request('POST', '/v1/dynamic/engines', { body: { name: 'flaky', connection_secret: 'db/flaky' } })).status).toBe(201);
    expect(
      // Expiring after the database is stopped below, even on a busy machine: its revocation must fail too.
      (await putRole('flaky', 'app', { creation_statements: ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}}'], default_ttl: 3, max_ttl: 60 })).status,
    ).toBe(200);
    const expiring = await issue('flaky', 'app');
    const held = await issue('flaky', 'app', { ttl: 60 });
    expect([expiring.status, held.status]).toEqual([201, 201]);
    await flaky.stop();
    // Revoked by hand while the database is down: accepted for retries, and the answer says how it stands.
    const sent = Date.now();
    const revoke = await vault.request('POST', '/v1/leases/revoke', { body: { lease_id: held.body.lease_id } });
    expect(revoke.status).toBe(202);
    expect(revoke.body).toMatchObject({ state: 'revoking', revocation_attempts: 1 });
    expect(revoke.body.last_error).toContain('ECONNREFUSED');
    expect(Date.parse(revoke.body.next_attempt_at)).toBeGreaterThan(sent);
    let leases: Record<string, any>[] = [];
    await waitFor(
      async () => {
        leases = await leasesUnder('dynamic/flaky/');
        return leases.length === 2 && leases.every((lease) => lease.state === 'irrevocable');
      },
      30_000,
      'both leases to become irrevocable',
    );
    for (const lease of leases) {
      expect(lease.revocation_attempts).toBe(3);
      expect(lease.last_error).toContain('ECONNREFUSED');
    }
    await waitFor(async () => (await metricValue('scaivault_leases_irrevocable{engine="flaky"}')) === 2, 10_000, 'irrevocable gauge');
    expect(await metricValue('scaivault_engine_health{engine="flaky"}')).toBe(0);
    expect(await metricValue('scaivault_leases_active{engine="flaky"}')).toBe(0);
    await waitFor(
      async () => (await metricValue('scaivault_lease_revocations_total{engine="flaky",status="irrevocable"}')) === 2,
      10_000,
      'irrevocable counter',
    );
    expect(await metricValue('scaivault_lease_revocations_total{engine="flaky",status="failed"}')).toBe(4);
    await waitFor(async () => receiver.at('/leases').some((delivery) => delivery.body.includes('lease.revocation_failed')), 15_000, 'lease.revocation_failed');
    const engine = await vault.request('GET', '/v1/dynamic/engines/flaky');
    expect(engine.body.health.healthy).toBe(false);
    expect(engine.body.irrevocable_leases).toBe(2);
  });
});

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynaliteProcess } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

describe('secrets API over HTTP on the embedded stack', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    vault = await VaultProcess.start();
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('writes versions, reads the current one or an older one by number', async () => {
    const first = await vault.request('PUT', '/v1/secrets/app/db/password', {
      body: { value: 'first-s3cr3t', type: 'password', metadata: { owner: 'team-a' } },
    });
    expect(first.status).toBe(201);
    expect(first.headers.get('etag')).toBe('"1"');
    const second = await vault.request('PUT', '/v1/secrets/app/db/password', { body: { value: 'second-s3cr3t', type: 'password' } });
    expect(second.status).toBe(200);
    expect(second.body.version).toBe(2);

    const current = await vault.request('GET', '/v1/secrets/app/db/password');
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ path: 'app/db/password', version: 2, current_version: 2, value: 'second-s3cr3t', type: 'password' });
    expect(current.headers.get('etag')).toBe('"2"');

    const old = await vault.request('GET', '/v1/secrets/app/db/password?version=1');
    expect(old.body).toMatchObject({ version: 1, current_version: 2, value: 'first-s3cr3t', metadata: { owner: 'team-a' } });

    const missing = await vault.request('GET', '/v1/secrets/app/db/password?version=3');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');

    const versions = await vault.request('GET', '/v1/secrets/app/db/password/versions');
    expect(versions.body.versions.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    expect(versions.text).not.toContain('s3cr3t');
  });

  it('honours If-Match check-and-set and refuses a stale version with 412, changing nothing', async () => {
    const created = await vault.request('PUT', '/v1/secrets/cas/key', { body: { value: 'v1' }, headers: { 'if-match': '"0"' } });
    expect(created.status).toBe(201);
    const again = await vault.request('PUT', '/v1/secrets/cas/key', { body: { value: 'dup' }, headers: { 'if-match': '"0"' } });
    expect(again.status).toBe(412);
    const next = await vault.request('PUT', '/v1/secrets/cas/key', { body: { value: 'v2' }, headers: { 'if-match': '"1"' } });
    expect(next.status).toBe(200);
    const stale = await vault.request('PUT', '/v1/secrets/cas/key', { body: { value: 'stale' }, headers: { 'if-match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({ status: 412, current_version: 2 });
    expect(typeof stale.body.request_id).toBe('string');
    const read = await vault.request('GET', '/v1/secrets/cas/key');
    expect(read.body).toMatchObject({ version: 2, value: 'v2' });
  });

  it('honours If-Match on delete and destroy: a stale version is 412 with the current one, and deletes nothing', async () => {
    await vault.request('PUT', '/v1/secrets/cas/doomed', { body: { value: 'v1' } });
    await vault.request('PUT', '/v1/secrets/cas/doomed', { body: { value: 'v2' } });
    for (const query of ['', '?destroy=true']) {
      const stale = await vault.request('DELETE', `/v1/secrets/cas/doomed${query}`, { headers: { 'if-match': '"7"' } });
      expect(stale.status).toBe(412);
      expect(stale.body).toMatchObject({ status: 412, current_version: 2 });
      expect((await vault.request('GET', '/v1/secrets/cas/doomed')).body).toMatchObject({ version: 2, value: 'v2' });
    }
    const deleted = await vault.request('DELETE', '/v1/secrets/cas/doomed', { headers: { 'if-match': '"2"' } });
    expect(deleted.status).toBe(200);
    expect((await vault.request('GET', '/v1/secrets/cas/doomed')).status).toBe(404);
    expect((await vault.request('DELETE', '/v1/secrets/cas/doomed?destroy=true', { headers: { 'if-match': '"2"' } })).status).toBe(204);
    expect((await vault.request('GET', '/v1/secrets/cas/doomed/versions')).status).toBe(404);
  });

  it('never lets concurrent writers overwrite each other', async () => {
    const writes = await Promise.all(Array.from({ length: 8 }, (_, i) => vault.request('PUT', '/v1/secrets/race/plain', { body: { value: `writer-${i}` } })));
    expect(writes.every((w) => w.status === 200 || w.status === 201)).toBe(true);
    expect(new Set(writes.map((w) => w.body.version)).size).toBe(8);
    const versions = await vault.request('GET', '/v1/secrets/race/plain/versions');
    expect(versions.body.versions).toHaveLength(8);
    const values = await Promise.all(Array.from({ length: 8 }, (_, i) => vault.request('GET', `/v1/secrets/race/plain?version=${i + 1}`)));
    expect(new Set(values.map((v) => v.body.value)).size).toBe(8);

    await vault.request('PUT', '/v1/secrets/race/cas', { body: { value: 'base' } });
    const contenders = await Promise.all(
      Array.from({ length: 6 }, (_, i) => vault.request('PUT', '/v1/secrets/race/cas', { body: { value: `c-${i}` }, headers: { 'if-match': '"1"' } })),
    );
    expect(contenders.filter((c) => c.status === 200)).toHaveLength(1);
    expect(contenders.filter((c) => c.status === 412)).toHaveLength(5);
  });

  it('lands 50 concurrent writes without If-Match on one path as versions 1..50', async () => {
    const writes = await Promise.all(Array.from({ length: 50 }, (_, i) => vault.request('PUT', '/v1/secrets/race/fifty', { body: { value: `fifty-${i}` } })));
    const statuses = writes.map((w) => w.status);
    expect(
      statuses.filter((status) => status !== 200 && status !== 201),
      writes.find((w) => w.status >= 300)?.text,
    ).toEqual([]);
    expect(writes.map((w) => w.body.version as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const versions = await vault.request('GET', '/v1/secrets/race/fifty/versions');
    expect(versions.body.versions).toHaveLength(50);
  });

  it('lists metadata with cursor pagination and never values', async () => {
    for (let i = 0; i < 7; i += 1) {
      expect((await vault.request('PUT', `/v1/secrets/list/item-${i}`, { body: { value: `listed-value-${i}` } })).status).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `/v1/secrets?prefix=list/&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await vault.request('GET', query);
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('listed-value');
      for (const secret of page.body.secrets) {
        expect(secret).not.toHaveProperty('value');
        seen.push(secret.path);
      }
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor && pages < 10);
    expect(seen.sort()).toEqual(Array.from({ length: 7 }, (_, i) => `list/item-${i}`));
    expect(pages).toBeGreaterThanOrEqual(3);

    const forged = Buffer.from(JSON.stringify({ pk: 'T#other#SECRETS', sk: 'list/' })).toString('base64url');
    const bad = await vault.request('GET', `/v1/secrets?prefix=list/&cursor=${forged}`);
    expect(bad.status).toBe(400);
  });

  it('soft deletes, restores and destroys', async () => {
    await vault.request('PUT', '/v1/secrets/lifecycle/token', { body: { value: 'one' } });
    await vault.request('PUT', '/v1/secrets/lifecycle/token', { body: { value: 'two' } });
    const deleted = await vault.request('DELETE', '/v1/secrets/lifecycle/token');
    expect(deleted.status).toBe(200);
    expect(deleted.body.deleted_at).toEqual(expect.any(String));
    expect((await vault.request('GET', '/v1/secrets/lifecycle/token')).status).toBe(404);
    expect((await vault.request('GET', '/v1/secrets/lifecycle/token?version=1')).status).toBe(404);
    const listed = await vault.request('GET', '/v1/secrets?prefix=lifecycle/');
    expect(listed.body.secrets).toHaveLength(0);
    const withDeleted = await vault.request('GET', '/v1/secrets?prefix=lifecycle/&include_deleted=true');
    expect(withDeleted.body.secrets).toHaveLength(1);

    expect((await vault.request('POST', '/v1/secrets/lifecycle/token/restore')).status).toBe(200);
    expect((await vault.request('GET', '/v1/secrets/lifecycle/token')).body.value).toBe('two');

    expect((await vault.request('DELETE', '/v1/secrets/lifecycle/token?destroy=true')).status).toBe(204);
    expect((await vault.request('GET', '/v1/secrets/lifecycle/token')).status).toBe(404);
    expect((await vault.request('GET', '/v1/secrets/lifecycle/token/versions')).status).toBe(404);
    const rewritten = await vault.request('PUT', '/v1/secrets/lifecycle/token', { body: { value: 'fresh' } });
    expect(rewritten.body.version).toBe(1);
  });

  it('reports readiness of every dependency and the admin status', async () => {
    const ready = await vault.request('GET', '/v1/health/ready', { token: null });
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual([
      'audit_bucket',
      'audit_export_queue',
      'audit_sink',
      'dynamodb',
      'key_provider',
      'rotation_queue',
      'webhook_queue',
    ]);
    const status = await vault.request('GET', '/v1/admin/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ status: 'healthy', key_provider: { provider: 'local', state: 'Enabled' } });
    expect(status.body.telemetry).toEqual({ prometheus: true, tracing: false, cloudwatch_emf: false });
    expect(status.body.monitoring).toMatchObject({ metrics: '/v1/metrics', readiness: '/v1/health/ready' });
    expect(status.body.cache.entries).toBeGreaterThan(0);
    const cleared = await vault.request('POST', '/v1/admin/cache/clear');
    expect(cleared.body.cleared_entries).toBeGreaterThan(0);
    expect(cleared.body.cache.entries).toBe(0);
    // Reads still work after the cache is cleared: the key is unwrapped again.
    expect((await vault.request('GET', '/v1/secrets/cas/key')).body.value).toBe('v2');
  });
});

describe('concurrent writers on two instances sharing one table', () => {
  let dynalite: DynaliteProcess;
  const vaults: VaultProcess[] = [];

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    const env = {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: `svt_${'w'.repeat(43)}`,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
    };
    // One after the other: the first creates the tables and the shared master key.
    vaults.push(await VaultProcess.start({ env }));
    vaults.push(await VaultProcess.start({ env }));
  });

  afterAll(async () => {
    await Promise.all(vaults.map((vault) => vault.stop()));
    await dynalite?.stop();
  });

  it('lands 50 writes without If-Match, 25 through each instance, as versions 1..50', async () => {
    const writes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => vaults[i % 2]!.request('PUT', '/v1/secrets/race/two-instances', { body: { value: `w-${i}` } })),
    );
    expect(
      writes.filter((w) => w.status !== 200 && w.status !== 201).map((w) => w.status),
      writes.find((w) => w.status >= 300)?.text,
    ).toEqual([]);
    expect(writes.map((w) => w.body.version as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const values = await Promise.all(Array.from({ length: 50 }, (_, i) => vaults[0]!.request('GET', `/v1/secrets/race/two-instances?version=${i + 1}`)));
    expect(new Set(values.map((v) => v.body.value)).size).toBe(50);
  });
});

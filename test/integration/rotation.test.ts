import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';
import { PostgresServer } from '../support/postgres-server.js';

describe('rotation through the rotation queue and worker on the embedded stack', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    vault = await VaultProcess.start({
      env: { SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1', SCAIVAULT_METRICS_FLUSH_SECONDS: '0.2', SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1' },
    });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  const finished = async (jobId: string) => {
    let job: Record<string, unknown> = {};
    await waitFor(
      async () => {
        job = (await vault.request('GET', `/v1/jobs/${jobId}`)).body;
        return job.status !== 'pending';
      },
      20_000,
      `job ${jobId}`,
    );
    return job;
  };

  it('rotates a password in four steps into exactly one new version', async () => {
    const written = await vault.request('PUT', '/v1/secrets/rotate/app-password', {
      body: { value: 'initial-password-value', type: 'password', rotation: { interval_days: 30, rotator: 'password', options: { length: 24 } } },
    });
    expect(written.status).toBe(201);
    const requested = await vault.request('POST', '/v1/secrets/rotate/app-password/rotate');
    expect(requested.status).toBe(202);
    expect(requested.headers.get('location')).toBe(`/v1/jobs/${requested.body.job_id}`);
    expect(requested.body).toMatchObject({ status: 'pending', kind: 'rotate-secret', path: 'rotate/app-password' });

    const job = await finished(requested.body.job_id);
    expect(job).toMatchObject({ status: 'succeeded', outcome: 'rotated to version 2' });
    const current = await vault.request('GET', '/v1/secrets/rotate/app-password');
    expect(current.body.version).toBe(2);
    expect(current.body.value).toHaveLength(24);
    expect(current.body.value).not.toBe('initial-password-value');
    expect((await vault.request('GET', '/v1/secrets/rotate/app-password?version=1')).body.value).toBe('initial-password-value');
    const versions = await vault.request('GET', '/v1/secrets/rotate/app-password/versions');
    expect(versions.body.versions).toHaveLength(2);
    expect(versions.body.versions[0].created_by).toBe(`rotation:${requested.body.job_id}`);
    // The generated value never reaches the logs.
    expect(vault.output).not.toContain(current.body.value);
  });

  it('keeps the current version readable and says why when a rotation fails', async () => {
    await vault.request('PUT', '/v1/secrets/rotate/db-role', {
      body: {
        value: 'role-password-v1',
        rotation: { interval_days: 30, rotator: 'postgresql', options: { connection_secret: 'rotate/missing-admin', role: 'app_user' } },
      },
    });
    const requested = await vault.request('POST', '/v1/secrets/rotate/db-role/rotate');
    const job = await finished(requested.body.job_id);
    expect(job.status).toBe('failed');
    expect(String(job.outcome)).toMatch(/^set: .*rotate\/missing-admin/);
    const current = await vault.request('GET', '/v1/secrets/rotate/db-role');
    expect(current.body).toMatchObject({ version: 1, value: 'role-password-v1' });
  });

  it('refuses rotation of missing secrets, without capability, and with unknown rotators', async () => {
    expect((await vault.request('POST', '/v1/secrets/rotate/none/rotate')).status).toBe(404);
    const bad = await vault.request('PUT', '/v1/secrets/rotate/bad', { body: { value: 'x', rotation: { interval_days: 1, rotator: 'teleport' } } });
    expect(bad.status).toBe(400);
    expect((await vault.request('GET', '/v1/secrets/rotate/bad')).status).toBe(404);
    expect((await vault.request('GET', '/v1/jobs/rot_doesnotexist000')).status).toBe(404);
  });

  it('counts rotations by outcome in /v1/metrics', async () => {
    await waitFor(
      async () => {
        const samples = parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text);
        return (
          sumOf(samples, 'scaivault_secret_rotations_total', { status: 'success' }) === 1 &&
          sumOf(samples, 'scaivault_secret_rotations_total', { status: 'failed' }) === 1
        );
      },
      10_000,
      'rotation counters',
    );
  });

  describe('a PostgreSQL role password, against a real PostgreSQL', () => {
    let postgres: PostgresServer;

    beforeAll(async () => {
      postgres = await PostgresServer.start();
      await postgres.createLoginRole('app_user', 'role-password-before');
    });

    afterAll(async () => {
      await postgres?.stop();
    });

    it('changes the role password, proves a login with it, then promotes it', async () => {
      await vault.request('PUT', '/v1/secrets/pg/admin', { body: { value: postgres.adminUrl, type: 'connection_string' } });
      await vault.request('PUT', '/v1/secrets/pg/app-user', {
        body: {
          value: 'role-password-before',
          type: 'password',
          rotation: { interval_days: 7, rotator: 'postgresql', options: { connection_secret: 'pg/admin', role: 'app_user' } },
        },
      });
      const requested = await vault.request('POST', '/v1/secrets/pg/app-user/rotate');
      const job = await finished(requested.body.job_id);
      expect(job).toMatchObject({ status: 'succeeded', outcome: 'rotated to version 2' });
      const rotated = (await vault.request('GET', '/v1/secrets/pg/app-user')).body;
      expect(rotated.version).toBe(2);
      expect(await postgres.loginAs('app_user', rotated.value)).toBe('ok');
      expect(await postgres.loginAs('app_user', 'role-password-before')).toBe('28P01');
      // Neither the new password nor the admin URL's credentials reach the vault's output.
      expect(vault.output).not.toContain(rotated.value);
      expect(vault.output).not.toContain(postgres.adminUrl);
    });
  });
});

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentity, VaultProcess } from './support/vault.js';

describe('embedded runtime lifecycle', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    vault = await VaultProcess.start();
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('keeps its root token and master key readable by the owner only', () => {
    expect(statSync(join(vault.dataDir, 'root-token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(vault.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(vault.rootToken).toMatch(/^svt_[A-Za-z0-9_-]{43}$/);
    expect(vault.output).toContain(join(vault.dataDir, 'root-token'));
  });

  it('keeps every acknowledged write across SIGTERM and SIGINT restarts', async () => {
    const writes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => vault.request('PUT', `/v1/secrets/durable/s${i}`, { body: { value: `durable-${i}` } })),
    );
    expect(writes.every((w) => w.status === 201)).toBe(true);
    const token = await createIdentity(vault, { tenant: 'keepers', identity: 'sa:keeper', policies: ['admin'] });
    await vault.request('PUT', '/v1/secrets/kept', { token, body: { value: 'tenant-kept' } });

    expect(await vault.stop('SIGTERM')).toBe(0);
    expect(vault.output).toContain('"message":"scaivault stopped"');
    await vault.restart();
    for (let i = 0; i < 20; i += 1) {
      expect((await vault.request('GET', `/v1/secrets/durable/s${i}`)).body.value).toBe(`durable-${i}`);
    }
    expect((await vault.request('GET', '/v1/secrets/kept', { token })).body.value).toBe('tenant-kept');

    await vault.request('PUT', '/v1/secrets/durable/s0', { body: { value: 'durable-0-v2' } });
    expect(await vault.stop('SIGINT')).toBe(0);
    await vault.restart();
    expect((await vault.request('GET', '/v1/secrets/durable/s0')).body).toMatchObject({ version: 2, value: 'durable-0-v2' });
  });
});

describe('logs', () => {
  let vault: VaultProcess;
  const values = ['correct-horse-battery-staple-0001', 'p@ss w0rd "quoted" \\ slash', 'AKIAEXAMPLESECRETVALUE9'];

  beforeAll(async () => {
    vault = await VaultProcess.start({ env: { LOG_LEVEL: 'debug' } });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('write one JSON line per request with the contract fields, and never a secret value or token', async () => {
    const token = await createIdentity(vault, { tenant: 'logs', identity: 'sa:logger', policies: ['admin'] });
    for (const [i, value] of values.entries()) {
      await vault.request('PUT', `/v1/secrets/log/s${i}`, {
        token,
        body: { value, metadata: { note: 'metadata is fine' } },
        headers: { 'x-request-id': `log-req-${i}` },
      });
      await vault.request('GET', `/v1/secrets/log/s${i}`, { token });
      await vault.request('GET', `/v1/secrets/log/s${i}?version=1`, { token });
    }
    // Failures must not leak either: a bad body echoing a value, a forged token, a conflict.
    await vault.request('PUT', '/v1/secrets/log/s0', { token, raw: `{"value": "${values[0]}", "oops"` });
    await vault.request('PUT', '/v1/secrets/log/s0', { token, body: { value: values[0], unknown: values[1] } });
    await vault.request('GET', '/v1/secrets/log/s0', { token: `svt_${'Z'.repeat(43)}` });
    await vault.request('GET', '/v1/auth/token/self', { token });
    await vault.request('POST', '/v1/auth/token/renew', { token });

    const output = vault.output;
    for (const secret of [...values, token, vault.rootToken, `svt_${'Z'.repeat(43)}`]) {
      expect(output).not.toContain(secret);
      expect(output).not.toContain(JSON.stringify(secret).slice(1, -1));
    }

    const requests = vault.logLines().filter((line) => line.message === 'request');
    const puts = requests.filter((line) => typeof line.request_id === 'string' && String(line.request_id).startsWith('log-req-'));
    expect(puts).toHaveLength(values.length);
    for (const line of puts) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining(['timestamp', 'level', 'message', 'request_id', 'tenant_id', 'identity_id', 'path', 'duration_ms', 'status']),
      );
      expect(line).toMatchObject({ level: 'info', tenant_id: 'logs', identity_id: 'sa:logger', status: 201 });
      expect(String(line.path)).toMatch(/^log\/s\d$/);
      expect(typeof line.duration_ms).toBe('number');
      expect(new Date(String(line.timestamp)).toISOString()).toBe(line.timestamp);
    }
    expect(requests.length).toBeGreaterThanOrEqual(values.length * 3 + 5);
    const unauthenticated = requests.find((line) => line.status === 401);
    expect(unauthenticated).toMatchObject({ level: 'warn', tenant_id: null, identity_id: null });
  });
});

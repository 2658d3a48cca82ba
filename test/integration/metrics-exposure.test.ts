import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isLoopbackHost, unprotectedMetricsProblem } from '../../local/listen-guard.js';
import { ROOT, exited, freePort, tempDir } from './support/processes.js';
import { VaultProcess, createIdentity } from './support/vault.js';

const startRaw = async (env: Record<string, string>) => {
  const dataDir = tempDir('exposed');
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/embedded.ts')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: String(await freePort()), SCAIVAULT_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return { child, dataDir, output: () => output };
};

describe('metrics exposure', () => {
  const vaults: VaultProcess[] = [];
  afterAll(async () => {
    await Promise.all(vaults.map((vault) => vault.stop()));
  });

  it('knows loopback hosts from the rest', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', '192.168.1.2', 'vault.example.com', '128.0.0.1']) expect(isLoopbackHost(host), host).toBe(false);
    expect(unprotectedMetricsProblem('0.0.0.0', { SCAIVAULT_METRICS_TOKEN: 'x' })).toBeUndefined();
  });

  it('refuses to start bound beyond loopback without a metrics token, saying why, before touching its data dir', async () => {
    const { child, dataDir, output } = await startRaw({ SCAIVAULT_HOST: '0.0.0.0' });
    const code = await exited(child);
    expect(code).toBe(1);
    expect(output()).toContain('SCAIVAULT_METRICS_TOKEN');
    expect(existsSync(join(dataDir, 'root-token'))).toBe(false);
  });

  it('starts bound beyond loopback once a metrics token is set, and /v1/metrics then wants it', async () => {
    const vault = await VaultProcess.start({ env: { SCAIVAULT_HOST: '0.0.0.0', SCAIVAULT_METRICS_TOKEN: 'scrape-token-for-tests' } });
    vaults.push(vault);
    expect((await vault.request('GET', '/v1/metrics', { token: null })).status).toBe(401);
    expect((await vault.request('GET', '/v1/metrics', { token: 'scrape-token-for-tests' })).status).toBe(200);
  });

  it('answers the metrics token and operators, forbids any other valid token and refuses the rest', async () => {
    const vault = await VaultProcess.start({ env: { SCAIVAULT_METRICS_TOKEN: 'scrape-token-for-tests' } });
    vaults.push(vault);
    const acmeAdmin = await createIdentity(vault, { tenant: 'acme', identity: 'sa:acme-admin', policies: ['admin'] });
    const scrape = async (token: string | null) => (await vault.request('GET', '/v1/metrics', { token })).status;
    expect(await scrape(acmeAdmin)).toBe(403);
    expect(await scrape(`svt_${'x'.repeat(43)}`)).toBe(401);
    expect(await scrape('not-a-token')).toBe(401);
    expect(await scrape(null)).toBe(401);
    expect(await scrape(vault.rootToken)).toBe(200);
    expect(await scrape('scrape-token-for-tests')).toBe(200);
  });
});

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { DynaliteProcess, waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

const promtool = (): string | undefined => {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
};

describe('/v1/metrics across a fleet of two api instances on one DynamoDB', () => {
  let dynalite: DynaliteProcess;
  let a: VaultProcess;
  let b: VaultProcess;
  const rootToken = `svt_${'m'.repeat(43)}`;
  const metricsToken = 'scrape-token-for-tests-only';

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    const env = {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: rootToken,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
      SCAIVAULT_METRICS_FLUSH_SECONDS: '0.2',
      SCAIVAULT_METRICS_RETIRE_SECONDS: '2',
      SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
      SCAIVAULT_METRICS_TOKEN: metricsToken,
    };
    a = await VaultProcess.start({ env });
    b = await VaultProcess.start({ env });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dynalite?.stop();
  });

  const scrape = async (vault: VaultProcess) => {
    const response = await vault.request('GET', '/v1/metrics', { token: metricsToken });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    return { text: response.text, samples: parseExposition(response.text) };
  };
  const reads = (samples: Map<string, number>) => sumOf(samples, 'scaivault_secret_reads_total', { tenant: 'default' });
  const okGets = (samples: Map<string, number>) => sumOf(samples, 'scaivault_requests_total', { method: 'GET', path_category: 'secrets', status: '200' });
  const settle = () => new Promise((r) => setTimeout(r, 400));

  it('requires the metrics token (or an admin token) and never exposes values or tokens', async () => {
    expect((await a.request('GET', '/v1/metrics', { token: null })).status).toBe(401);
    expect((await a.request('GET', '/v1/metrics', { token: `svt_${'x'.repeat(43)}` })).status).toBe(401);
    expect((await a.request('GET', '/v1/metrics', { token: rootToken })).status).toBe(200);
    await a.request('PUT', '/v1/secrets/fleet/secret', { body: { value: 'fleet-secret-value' } });
    const { text } = await scrape(a);
    expect(text).not.toContain('fleet-secret-value');
    expect(text).not.toContain(rootToken);
    expect(text).not.toContain('fleet/secret');
  });

  it('sums both instances, and stays monotonic when one instance restarts', async () => {
    for (let i = 0; i < 5; i += 1) expect((await a.request('GET', '/v1/secrets/fleet/secret')).status).toBe(200);
    for (let i = 0; i < 7; i += 1) expect((await b.request('GET', '/v1/secrets/fleet/secret')).status).toBe(200);
    await settle();
    // Each instance flushes after a request once its interval passed; nudge both.
    await a.request('GET', '/v1/health');
    await b.request('GET', '/v1/health');

    await waitFor(async () => reads((await scrape(a)).samples) === 12, 10_000, 'a to see 12 reads');
    const fromA = (await scrape(a)).samples;
    const fromB = (await scrape(b)).samples;
    expect(reads(fromB)).toBe(12);
    expect(okGets(fromA)).toBe(12);
    expect(sumOf(fromA, 'scaivault_secret_writes_total', { tenant: 'default' })).toBe(1);
    expect(sumOf(fromA, 'scaivault_secrets_total', { tenant: 'default' })).toBe(1);
    // Every duration histogram count agrees with the request counter.
    expect(sumOf(fromA, 'scaivault_request_duration_seconds_count', { method: 'GET', path_category: 'secrets' })).toBeGreaterThanOrEqual(12);

    // Restart b: its process state is gone, the fleet totals are not.
    expect(await b.stop()).toBe(0);
    const afterStop = reads((await scrape(a)).samples);
    expect(afterStop).toBe(12);
    await b.restart();
    const afterRestart = reads((await scrape(b)).samples);
    expect(afterRestart).toBeGreaterThanOrEqual(12);

    for (let i = 0; i < 3; i += 1) await b.request('GET', '/v1/secrets/fleet/secret');
    await settle();
    await b.request('GET', '/v1/health');
    await waitFor(async () => reads((await scrape(a)).samples) === 15, 10_000, 'a to see 15 reads');

    // Let the stopped instance's item go silent past the retirement window; scrapes fold it.
    await new Promise((r) => setTimeout(r, 2500));
    const series: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      await a.request('GET', '/v1/secrets/fleet/secret');
      await settle();
      series.push(reads((await scrape(i % 2 === 0 ? a : b)).samples));
    }
    for (let i = 1; i < series.length; i += 1) expect(series[i]!).toBeGreaterThanOrEqual(series[i - 1]!);
    await waitFor(async () => reads((await scrape(b)).samples) === 19, 10_000, 'b to see 19 reads after folding');
  });

  it('passes promtool check metrics, but for the one name the operator contract fixes', async () => {
    const tool = promtool();
    expect(tool, 'promtool is installed by scripts/ensure-test-deps.sh (npm test runs it)').toBeDefined();
    const { text } = await scrape(a);
    const result = spawnSync(tool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // The contract names the live-secret gauge scaivault_secrets_total; promtool's lint prefers
    // no _total on gauges. Anything else promtool says is a defect.
    const findings = (result.stdout + result.stderr).trim().split('\n').filter(Boolean);
    expect(findings).toEqual(['scaivault_secrets_total non-counter metrics should not have "_total" suffix']);
  });
});

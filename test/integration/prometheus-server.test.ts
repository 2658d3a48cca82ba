import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_TABLE } from '../../functions/runtime/definitions.js';
import { DynaliteProcess, ROOT, tempDir } from './support/processes.js';
import { findPrometheus, PrometheusServer, type PromAlert } from './support/prometheus-server.js';
import { SlowProxy } from './support/slow-proxy.js';
import { VaultProcess } from './support/vault.js';

// A real Prometheus (Debian's `prometheus`, installed by scripts/ensure-test-deps.sh)
// scrapes the embedded vault every second and evaluates the rule files we ship.
// DynamoDB (dynalite) sits behind a TCP proxy so the test can make it slow or
// broken under the running vault, and watch the matching alert go pending.

const RULE_FILES = [join(ROOT, 'ops/prometheus/alerts.yml'), join(ROOT, 'ops/prometheus/recording-rules.yml')];
const HIGH_LATENCY = 'ScaiVaultHighLatency';
const ERROR_RATE = 'ScaiVaultErrorRate';
const NOT_READY = 'ScaiVaultNotReady';
const SECRET = '/v1/secrets/prometheus/probe';

/**
 * Added to every DynamoDB request. A read costs one GetItem plus, about once a
 * second, a rate-limit refill (GetItem + PutItem) it waits for: ≥ 3 × 350 ms,
 * above the 1 s bucket. Kept well under 500 ms: a refill that takes a second
 * or more hands out a reservation that has already expired, so the limiter
 * refills again at once, and at ≥ 500 ms per call it never gets out of that
 * loop; reads then end in the 29 s invocation timeout with a 500.
 */
const SLOW_DYNAMODB_MS = 350;

/** Authenticated reads in a few loops until stopped; counts the statuses. */
class Traffic {
  readonly statuses = new Map<number, number>();
  private running = true;
  private readonly loops: Promise<void>[];

  constructor(
    private readonly vault: VaultProcess,
    concurrency: number,
    private readonly pauseMs = 0,
  ) {
    this.loops = Array.from({ length: concurrency }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const status = await this.vault
        .request('GET', SECRET)
        .then((response) => response.status)
        .catch(() => 0);
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
      if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  async stop(): Promise<Record<number, number>> {
    this.running = false;
    await Promise.all(this.loops);
    return Object.fromEntries(this.statuses);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a real Prometheus scraping the embedded stack and evaluating ops/prometheus rules', () => {
  let dynalite: DynaliteProcess | undefined;
  let proxy: SlowProxy | undefined;
  let vault: VaultProcess | undefined;
  let prometheus: PrometheusServer | undefined;
  const keyDir = tempDir('prometheus-key');
  const vaultDir = tempDir('vault');
  const rootToken = `svt_${'Prom3theus-scrapes_the-vault'.padEnd(43, 'x')}`;

  beforeAll(async () => {
    // Before starting anything else: a missing binary is a setup problem, said plainly.
    expect(findPrometheus(), 'prometheus is not on PATH: `bash scripts/ensure-test-deps.sh` installs it (npm test runs it first)').toBeDefined();
    dynalite = await DynaliteProcess.start();
    proxy = await SlowProxy.start(dynalite.port);
    vault = await VaultProcess.start({
      dataDir: vaultDir,
      env: {
        SCAIVAULT_DYNAMODB_ENDPOINT: proxy.endpoint,
        // Far above the injected latency: slow calls must succeed, not time out.
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '5000',
        SCAIVAULT_ROOT_TOKEN: rootToken,
        SCAIVAULT_LOCAL_KEY_FILE: join(keyDir, 'master.key'),
        // State gauges are read from the state table at scrape time; the error phase
        // breaks that table, and a failed gauge read fails the whole exposition
        // (see the report). Read them once, so the scrape only needs the metrics table.
        SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '3600',
        // Scrapes report only what instances flushed to the metrics table: flush every second.
        SCAIVAULT_METRICS_FLUSH_SECONDS: '1',
        LOG_LEVEL: 'warn',
      },
    });
    expect((await vault.request('PUT', SECRET, { body: { value: 'scraped-but-never-exposed' } })).status).toBe(201);
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${vault.port}`], ruleFiles: RULE_FILES });
  }, 90_000);

  afterAll(async () => {
    const steps: (() => Promise<unknown>)[] = [
      async () => prometheus?.stop(),
      async () => vault?.stop(),
      async () => proxy?.stop(),
      async () => dynalite?.stop(),
    ];
    for (const step of steps) await step().catch(() => undefined);
    for (const dir of [keyDir, vaultDir, dynalite?.dataDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Polls the alerts API until `name` is in `state`; on timeout, says what Prometheus saw. */
  const waitForAlert = async (name: string, state: PromAlert['state'], timeoutMs = 40_000): Promise<PromAlert> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = (await prometheus!.alertsNamed(name)).find((alert) => alert.state === state);
      if (found) return found;
      if (Date.now() > deadline) {
        const targets = await prometheus!.targets();
        const rules = (await prometheus!.ruleGroups()).flatMap((group) => group.rules).filter((rule) => rule.name === name);
        throw new Error(
          `timed out waiting for ${name} to be ${state}\nalerts: ${JSON.stringify(await prometheus!.alerts())}\nrule: ${JSON.stringify(rules)}\n` +
            `targets: ${JSON.stringify(targets.map((t) => ({ health: t.health, lastError: t.lastError, duration: t.lastScrapeDuration })))}\n` +
            `prometheus: ${prometheus!.output}`,
        );
      }
      await sleep(250);
    }
  };

  /** The vault's error lines, to say why a request failed when a test did not expect it to. */
  const vaultErrors = () =>
    vault!.output
      .split('\n')
      .filter((line) => /"level":"error"|^\S+ ERROR /.test(line))
      .slice(-10)
      .join('\n');

  const activeStates = async (name: string) => (await prometheus!.alertsNamed(name)).map((alert) => alert.state);

  it('scrapes /v1/metrics, loads and evaluates every shipped rule, and raises neither alert on a healthy vault', async () => {
    const target = `127.0.0.1:${vault!.port}`;
    await waitForUp(prometheus!, target);
    const [scraped] = (await prometheus!.targets()).filter((t) => t.labels.instance === target);
    expect(scraped).toMatchObject({ health: 'up', scrapeUrl: `http://${target}/v1/metrics`, labels: { job: 'scaivault' } });
    expect(await prometheus!.value('up{job="scaivault"}')).toBe(1);

    // A light healthy load: few requests, so the slow ones of the next phase dominate the 5m window quickly.
    const traffic = new Traffic(vault!, 1, 250);
    // Rate-based rules need two scrapes that saw traffic; the recording rule is the proof they had them.
    await waitForValue('job:scaivault_requests_errors:ratio_rate5m{job="scaivault"}', (value) => value !== undefined, 20_000);
    await sleep(2_000);
    expect(await traffic.stop()).toEqual({ 200: expect.any(Number) });

    const requests = await prometheus!.query('scaivault_requests_total{job="scaivault",method="GET",path_category="secrets",status="200"}');
    expect(requests).toHaveLength(1);
    expect(Number(requests[0]!.value[1])).toBeGreaterThan(0);
    // Nothing a scrape carries may name a secret or a token.
    const names = await prometheus!.query('count by (__name__) ({job="scaivault"})');
    expect(names.length).toBeGreaterThan(10);
    expect(JSON.stringify(await prometheus!.query('{job="scaivault"}'))).not.toMatch(/scraped-but-never-exposed|svt_|prometheus\/probe/);

    // Every rule of both files is loaded and evaluates without error against real series.
    await waitForRules(prometheus!);
    const groups = await prometheus!.ruleGroups();
    expect(new Set(groups.map((group) => group.file))).toEqual(new Set(RULE_FILES));
    const broken = groups.flatMap((group) => group.rules).filter((rule) => rule.health !== 'ok');
    expect(broken).toEqual([]);

    // Healthy: the alert expressions are evaluated with data and come out below their thresholds.
    expect(await prometheus!.value('job:scaivault_requests_errors:ratio_rate5m{job="scaivault"}')).toBe(0);
    const p95 = await prometheus!.value('histogram_quantile(0.95, sum by (le) (rate(scaivault_request_duration_seconds_bucket[5m])))');
    expect(p95).toBeLessThan(1);
    expect(await activeStates(HIGH_LATENCY)).toEqual([]);
    expect(await activeStates(ERROR_RATE)).toEqual([]);
    expect(await activeStates(NOT_READY)).toEqual([]);
  });

  it('slow DynamoDB: reads succeed in over a second, p95 > 1 s, ScaiVaultHighLatency goes pending (for: 10m keeps it there)', async () => {
    proxy!.delayMs = SLOW_DYNAMODB_MS;
    const traffic = new Traffic(vault!, 3);
    let statuses: Record<number, number>;
    let alert: PromAlert;
    let secretsP95: number | undefined;
    try {
      alert = await waitForAlert(HIGH_LATENCY, 'pending');
      // The alert spans every route (slow scrapes of /v1/metrics count too); the recording
      // rule the dashboard uses shows the reads themselves crossing 1 s.
      secretsP95 = await waitForValue('path_category:scaivault_request_duration_seconds:p95_5m{path_category="secrets"}', (value) => value! > 1, 30_000);
    } finally {
      statuses = await traffic.stop();
      proxy!.delayMs = 0;
    }
    // Slow, not failing: every read was answered 200 (else: what the vault said of the others).
    expect(statuses, vaultErrors()).toEqual({ 200: expect.any(Number) });
    expect(alert.labels).toMatchObject({ alertname: HIGH_LATENCY, severity: 'warning' });
    expect(Number(alert.value)).toBeGreaterThan(1);
    expect(secretsP95).toBeGreaterThan(1);
    expect(await activeStates(HIGH_LATENCY)).toEqual(['pending']);
    expect(await activeStates(ERROR_RATE)).toEqual([]);
  });

  it('state table unreachable: reads answer 503, ScaiVaultErrorRate goes pending while the target stays up, and the scrape reports not ready', async () => {
    proxy!.failWhen = SlowProxy.dynamoDbTable(STATE_TABLE.id);
    const traffic = new Traffic(vault!, 2);
    let statuses: Record<number, number>;
    let alert: PromAlert;
    try {
      alert = await waitForAlert(ERROR_RATE, 'pending');
    } finally {
      statuses = await traffic.stop();
    }
    expect(statuses).toEqual({ 503: expect.any(Number) });
    expect(alert.labels).toMatchObject({ alertname: ERROR_RATE, severity: 'critical' });
    expect(Number(alert.value)).toBeGreaterThan(0.01);
    expect(await activeStates(ERROR_RATE)).toEqual(['pending']);
    // The metrics table still answers, so the errors are exported and scraped.
    expect(await prometheus!.value('up{job="scaivault"}')).toBe(1);
    const errors = await prometheus!.query('scaivault_requests_total{job="scaivault",path_category="secrets",status="503"}');
    expect(errors).toHaveLength(1);
    // The state table is a readiness dependency: each scrape runs the checks, and reports them.
    const notReady = await waitForAlert(NOT_READY, 'pending', 10_000);
    expect(notReady.labels).toMatchObject({ job: 'scaivault', instance: `127.0.0.1:${vault!.port}` });
    expect(await prometheus!.value('scaivault_ready{job="scaivault"}')).toBe(0);
    expect(await prometheus!.value('scaivault_dependency_up{job="scaivault",dependency="dynamodb"}')).toBe(0);
    expect(await prometheus!.value('scaivault_dependency_up{job="scaivault",dependency="key_provider"}')).toBe(1);
  });

  it('total DynamoDB outage: the exposition itself fails, up == 0 and ScaiVaultNotReady stays pending', async () => {
    proxy!.failWhen = undefined;
    proxy!.refuse = true;
    expect((await vault!.request('GET', SECRET)).status).toBe(503);
    // The scrape's flush is a write, but a scrape changes nothing a caller asked for: unanswered, it is still a 503.
    expect((await vault!.request('GET', '/v1/metrics', { token: null })).status).toBe(503);
    await waitForValue('up{job="scaivault"}', (value) => value === 0, 20_000);
    const alert = await waitForAlert(NOT_READY, 'pending', 20_000);
    expect(alert.labels).toMatchObject({ alertname: NOT_READY, job: 'scaivault', instance: `127.0.0.1:${vault!.port}` });
    expect(await prometheus!.value('up{job="scaivault"}')).toBe(0);
  });

  const waitForUp = async (server: PrometheusServer, instance: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const target = (await server.targets()).find((t) => t.labels.instance === instance);
      if (target?.health === 'up') return;
      if (Date.now() > deadline) throw new Error(`target ${instance} never came up: ${JSON.stringify(target)}\n${vault!.output}`);
      await sleep(200);
    }
  };

  const waitForValue = async (promql: string, ok: (value: number | undefined) => boolean, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await prometheus!.value(promql);
      if (ok(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting on ${promql}: last value ${value}`);
      await sleep(250);
    }
  };

  const waitForRules = async (server: PrometheusServer) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rules = (await server.ruleGroups()).flatMap((group) => group.rules);
      if (rules.length > 0 && rules.every((rule) => rule.health !== 'unknown')) return;
      if (Date.now() > deadline) throw new Error(`rules never all evaluated: ${JSON.stringify(rules.filter((r) => r.health === 'unknown'))}`);
      await sleep(250);
    }
  };
});

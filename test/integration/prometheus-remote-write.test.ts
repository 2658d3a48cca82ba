import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FauxqsProcess, ROOT, freePort, waitFor } from './support/processes.js';
import { findPrometheus, PrometheusServer, type PromAlert } from './support/prometheus-server.js';
import { VaultProcess } from './support/vault.js';

// Pushed mode, as after `cdk deploy`: nothing scrapes the pushing vault. Its
// scheduler (every second here) checks its dependencies and remote-writes the
// fleet's metrics into a real Prometheus (Debian's, with its remote-write
// receiver on), which evaluates the shipped rules. A second vault pushes to a
// dead URL and is scraped: the same rules see its failing publisher.

const RULE_FILES = [join(ROOT, 'ops/prometheus/alerts.yml'), join(ROOT, 'ops/prometheus/recording-rules.yml')];
const NOT_READY = 'ScaiVaultNotReady';
const PUBLISH_FAILING = 'ScaiVaultMetricsPublishFailing';
const PUSHED = 'pushed-vault';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const FAST_SCHEDULER = {
  SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
  SCAIVAULT_METRICS_FLUSH_SECONDS: '1',
  SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '1000',
  // The default: a probe slowed past a shorter bound on a busy machine would read as not ready.
  SCAIVAULT_READINESS_CHECK_TIMEOUT_MS: '2000',
  LOG_LEVEL: 'warn',
};

describe('the scheduler remote-writing to a real Prometheus that evaluates ops/prometheus rules', () => {
  let fauxqs: FauxqsProcess | undefined;
  let pushing: VaultProcess | undefined;
  let failing: VaultProcess | undefined;
  let prometheus: PrometheusServer | undefined;

  beforeAll(async () => {
    expect(findPrometheus(), 'prometheus is not on PATH: `bash scripts/ensure-test-deps.sh` installs it (npm test runs it first)').toBeDefined();
    // Nothing listens there: every push is refused.
    const deadUrl = `http://127.0.0.1:${await freePort()}/api/v1/write`;
    [fauxqs, failing] = await Promise.all([FauxqsProcess.start(), VaultProcess.start({ env: { ...FAST_SCHEDULER, SCAIVAULT_REMOTE_WRITE_URL: deadUrl } })]);
    prometheus = await PrometheusServer.start({ targets: [`127.0.0.1:${failing.port}`], ruleFiles: RULE_FILES, remoteWriteReceiver: true });
    pushing = await VaultProcess.start({
      env: {
        ...FAST_SCHEDULER,
        SCAIVAULT_SQS_S3_ENDPOINT: fauxqs.endpoint,
        SCAIVAULT_REMOTE_WRITE_URL: prometheus.remoteWriteUrl,
        SCAIVAULT_METRICS_INSTANCE: PUSHED,
      },
    });
  }, 90_000);

  afterAll(async () => {
    for (const step of [() => prometheus?.stop(), () => pushing?.stop(), () => failing?.stop(), () => fauxqs?.stop()]) await step()?.catch(() => undefined);
  });

  const value = async (promql: string) => prometheus!.value(promql);
  const waitForValue = async (promql: string, ok: (v: number | undefined) => boolean, timeoutMs = 20_000) => {
    let last: number | undefined;
    await waitFor(async () => ok((last = await value(promql))), timeoutMs, `${promql} (last ${last})`);
    return last;
  };
  const waitForAlert = async (name: string, instance: string, state: PromAlert['state'], timeoutMs = 20_000): Promise<PromAlert> => {
    let found: PromAlert | undefined;
    await waitFor(
      async () => (found = (await prometheus!.alertsNamed(name)).find((a) => a.labels.instance === instance && a.state === state)) !== undefined,
      timeoutMs,
      `${name} ${state} for ${instance}`,
    );
    return found!;
  };

  it('receives the pushed scaivault_* series under job="scaivault", histograms as buckets, and raises nothing for a ready vault', async () => {
    await waitForValue(`scaivault_ready{job="scaivault",instance="${PUSHED}"}`, (v) => v === 1);
    const names = await prometheus!.query(`count by (__name__) ({job="scaivault",instance="${PUSHED}",__name__=~"scaivault_.+"})`);
    expect(names.length).toBeGreaterThan(30);
    expect(await value(`scaivault_dependency_up{instance="${PUSHED}",dependency="rotation_queue"}`)).toBe(1);
    await waitForValue(`scaivault_dependency_check_duration_seconds_count{instance="${PUSHED}",dependency="dynamodb"}`, (v) => (v ?? 0) > 0);
    // In one query: a push landing between two queries would put the second one a check ahead.
    const labels = `instance="${PUSHED}",dependency="dynamodb"`;
    const histogram = 'scaivault_dependency_check_duration_seconds';
    expect(await value(`${histogram}_count{${labels}} - ignoring(le) ${histogram}_bucket{${labels},le="+Inf"}`)).toBe(0);
    await waitForValue(`scaivault_metrics_last_publish_timestamp_seconds{instance="${PUSHED}"}`, (v) => (v ?? 0) > Date.now() / 1000 - 60);
    // Pushed, not scraped: Prometheus has no `up` for it.
    expect(await prometheus!.query(`up{instance="${PUSHED}"}`)).toEqual([]);
    const rules = (await prometheus!.ruleGroups()).flatMap((group) => group.rules);
    expect(rules.filter((rule) => rule.health === 'err')).toEqual([]);
    expect(rules.map((rule) => rule.name)).toEqual(expect.arrayContaining([NOT_READY, PUBLISH_FAILING]));
    await sleep(2000);
    const mine = (await prometheus!.alerts()).filter((alert) => alert.labels.instance === PUSHED || alert.labels.instance === undefined);
    expect(mine).toEqual([]);
  });

  it('shows the scheduler’s latest checks in /v1/health/detailed', async () => {
    const detailed = await pushing!.request('GET', '/v1/health/detailed');
    expect(detailed.body.scheduled_checks).toMatchObject({ status: 'ready', checks: { dynamodb: { status: 'up' }, key_provider: { status: 'up' } } });
    expect(Date.now() - Date.parse(detailed.body.scheduled_checks.checked_at)).toBeLessThan(10_000);
  });

  it('scraped: a publisher that cannot push is counted and ScaiVaultMetricsPublishFailing fires (it has no `for`)', async () => {
    const instance = `127.0.0.1:${failing!.port}`;
    await waitForValue(`scaivault_metrics_publish_failures_total{instance="${instance}"}`, (v) => (v ?? 0) >= 2, 30_000);
    const alert = await waitForAlert(PUBLISH_FAILING, instance, 'firing');
    expect(alert.labels).toMatchObject({ job: 'scaivault', severity: 'warning' });
    expect(failing!.output).toContain('metrics publish failed');
    expect(failing!.output).not.toContain('/api/v1/write');
  });

  it('pushed: with SQS and S3 gone, the pushed scaivault_ready drops to 0 and ScaiVaultNotReady goes pending', async () => {
    await fauxqs!.stop();
    await waitForValue(`scaivault_ready{job="scaivault",instance="${PUSHED}"}`, (v) => v === 0);
    expect(await value(`scaivault_dependency_up{instance="${PUSHED}",dependency="rotation_queue"}`)).toBe(0);
    expect(await value(`scaivault_dependency_up{instance="${PUSHED}",dependency="dynamodb"}`)).toBe(1);
    const alert = await waitForAlert(NOT_READY, PUSHED, 'pending');
    expect(alert.labels).toMatchObject({ job: 'scaivault', severity: 'critical' });
    expect(alert.annotations.description).toMatch(/^pushed-vault has not reported ready/);
  });
});

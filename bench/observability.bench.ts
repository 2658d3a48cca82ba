// Issue "observability" benchmarks: /v1/metrics render time for 5,000 series,
// read latency with telemetry on vs off, and the api bundle's cold init with
// telemetry on vs off. Each comparison runs side by side in this one process.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { renderExposition } from '../functions/observability/exposition.js';
import { capLabels, mergeFleet, EMPTY_BASELINE, type InstanceRecord } from '../functions/observability/fleet-merge.js';
import { METRICS } from '../functions/observability/metric-catalogue.js';
import { MetricRegistry } from '../functions/observability/metric-registry.js';
import { buildFunctions } from '../scripts/build.js';
import { DynaliteProcess, freePort, waitFor } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { report } from './harness.js';

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/** Two instances whose merged exposition has 5,000 samples of scaivault_request* (every bucket, sum and count line counts). */
const fleetOfSeries = (): { instances: InstanceRecord[]; samples: number } => {
  const instances: InstanceRecord[] = [];
  for (let n = 0; n < 2; n += 1) {
    const registry = new MetricRegistry();
    // 150 histogram label sets x (14 buckets + sum + count) = 2,400 samples
    for (let i = 0; i < 150; i += 1) registry.observe(METRICS.requestDuration, ['GET', `category-${i}`], (i % 40) / 1000);
    // 2,600 counter samples (100 categories x 26 statuses, within the per-label value limit), the same on both instances
    for (let i = 0; i < 2600; i += 1) registry.inc(METRICS.requests, ['GET', `category-${i % 100}`, String(200 + Math.floor(i / 100))]);
    instances.push({ instanceId: `i-${n}`, revision: 1, startedAt: 0, updatedAt: Date.now(), retired: false, metrics: registry.snapshot() });
  }
  const text = renderExposition(mergeFleet(EMPTY_BASELINE, instances, { now: Date.now(), liveWindowMs: 60_000, latestWindowMs: 60_000 }));
  return { instances, samples: text.split('\n').filter((line) => line && !line.startsWith('#') && line.startsWith('scaivault_request')).length };
};

export const renderBenchmark = (): number => {
  const { instances, samples } = fleetOfSeries();
  const times: number[] = [];
  for (let run = 0; run < 60; run += 1) {
    const started = performance.now();
    const merged = mergeFleet(EMPTY_BASELINE, instances, { now: Date.now(), liveWindowMs: 60_000, latestWindowMs: 60_000 });
    renderExposition(capLabels(merged, {}, 50).snapshot);
    times.push(performance.now() - started);
  }
  const ms = median(times.slice(10));
  console.log(`\n/v1/metrics merge + cap + render of ${samples} samples from 2 instances: median ${ms.toFixed(2)} ms over 50 runs`);
  report(`metrics render, ${samples} series`, `${ms.toFixed(2)} ms`, '<= 25 ms', ms <= 25 && samples >= 5000);
  return ms;
};

/**
 * An OTLP/HTTP endpoint in its own process that accepts and discards spans, as a
 * collector with a no-op pipeline would. Parsing spans inside this process would
 * stall the very event loop that times the requests.
 */
const startOtlpSink = async (): Promise<{ url: string; stop: () => void }> => {
  const port = await freePort();
  const sink = spawn(
    process.execPath,
    ['-e', `require('http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.writeHead(200,{'content-type':'application/json'});r.end('{}')})}).listen(${port},'127.0.0.1')`],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/v1/traces`, { method: 'POST', body: '{}' })).ok, 10_000, 'OTLP sink');
  return { url, stop: () => sink.kill() };
};

const latencyBenchmark = async (): Promise<{ off: number; on: number; overhead: number; lambdaMode: number }> => {
  const dynalite = await DynaliteProcess.start();
  const receiver = await startOtlpSink();
  const rootToken = `svt_${'t'.repeat(43)}`;
  const common = {
    SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
    SCAIVAULT_ROOT_TOKEN: rootToken,
    SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
    SCAIVAULT_RATE_LIMITS: 'read=100000000/1s',
    LOG_LEVEL: 'warn',
  };
  const off = await VaultProcess.start({ env: common, logToFile: true });
  const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'scaivault-bench', POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault' };
  const on = await VaultProcess.start({ env: { ...common, ...telemetry }, logToFile: true });
  // Lambda's mode exports every invocation's spans before returning (to the ADOT extension on localhost there).
  const lambda = await VaultProcess.start({ env: { ...common, ...telemetry, SCAIVAULT_TRACES_FLUSH: 'invocation' }, logToFile: true });
  const dispatcher = new Agent({ connections: 1 });
  try {
    await off.request('PUT', '/v1/secrets/bench/latency', { token: rootToken, body: { value: 'latency-benchmark-value' } });
    const timeReads = async (vault: VaultProcess, count: number): Promise<number[]> => {
      const times: number[] = [];
      for (let i = 0; i < count; i += 1) {
        const started = performance.now();
        const response = await undiciFetch(`${vault.url}/v1/secrets/bench/latency`, { headers: { authorization: `Bearer ${rootToken}` }, dispatcher });
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`read answered ${response.status}`);
        times.push(performance.now() - started);
      }
      return times;
    };
    const vaults = { off, on, lambda };
    for (const vault of Object.values(vaults)) await timeReads(vault, 200);
    const samples = { off: [] as number[], on: [] as number[], lambda: [] as number[] };
    const orders = [['off', 'on', 'lambda'], ['lambda', 'on', 'off'], ['on', 'off', 'lambda']] as const;
    // Short turns, many rounds: the shared dynalite slows as the audit trail grows, and
    // long turns would hand that drift to whichever side ran later.
    for (let round = 0; round < 36; round += 1) {
      for (const side of orders[round % orders.length]!) samples[side].push(...(await timeReads(vaults[side], 50)));
    }
    const result = {
      off: median(samples.off),
      on: median(samples.on),
      overhead: median(samples.on) / median(samples.off) - 1,
      lambdaMode: median(samples.lambda) / median(samples.off) - 1,
    };
    console.log(
      `\nread latency (median of ${samples.off.length} sequential reads each): telemetry off ${result.off.toFixed(3)} ms, ` +
        `on ${result.on.toFixed(3)} ms, on with per-invocation span export ${median(samples.lambda).toFixed(3)} ms`,
    );
    report('per-request overhead of telemetry', `${(result.overhead * 100).toFixed(1)} %`, '<= 10 %', result.overhead <= 0.1);
    console.log(`      (Lambda mode, spans exported before each response: ${(result.lambdaMode * 100).toFixed(1)} % over off; not the target's mode)`);
    return result;
  } finally {
    await dispatcher.close();
    await lambda.stop();
    await on.stop();
    await off.stop();
    receiver.stop();
    await dynalite.stop();
  }
};

/** Time to import the built api bundle in a fresh Node process, as Lambda's init phase does. */
const coldInitBenchmark = async (): Promise<{ off: number; on: number; ratio: number }> => {
  const [api] = (await buildFunctions()).filter((b) => b.name === 'api');
  if (!api) throw new Error('no api bundle');
  const script = `const t=performance.now(); await import(${JSON.stringify(api.outfile)}); process.stdout.write(String(performance.now()-t));`;
  const baseEnv = {
    PATH: process.env.PATH ?? '',
    SCAIVAULT_STATE_TABLE: 'scaivault-state',
    SCAIVAULT_METRICS_TABLE: 'scaivault-metrics',
    SCAIVAULT_AUDIT_TABLE: 'scaivault-audit',
    SCAIVAULT_AUDIT_BUCKET: 'scaivault-audit',
    SCAIVAULT_KMS_KEY_ID: 'alias/scaivault',
    AWS_REGION: 'us-east-1',
  };
  const onEnv = { ...baseEnv, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SERVICE_NAME: 'scaivault-api', POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault' };
  const time = (env: Record<string, string>): number => {
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`bundle import failed: ${result.stderr.slice(-2000)}`);
    return Number(result.stdout);
  };
  const samples = { off: [] as number[], on: [] as number[] };
  for (let i = 0; i < 12; i += 1) {
    samples.off.push(time(baseEnv));
    samples.on.push(time(onEnv));
  }
  const result = { off: median(samples.off), on: median(samples.on), ratio: median(samples.on) / median(samples.off) };
  console.log(`\napi bundle cold init (median of 12 fresh processes each): telemetry off ${result.off.toFixed(1)} ms, on ${result.on.toFixed(1)} ms`);
  report('cold init ratio (telemetry on / off)', result.ratio.toFixed(3), '<= 1.3', result.ratio <= 1.3);
  return result;
};

export const runObservabilityBenchmarks = async (): Promise<Record<string, number>> => {
  const renderMs = renderBenchmark();
  const latency = await latencyBenchmark();
  const cold = await coldInitBenchmark();
  return {
    metrics_render_ms_5000_series: renderMs,
    read_latency_ms_telemetry_off: latency.off,
    read_latency_ms_telemetry_on: latency.on,
    telemetry_overhead_ratio: latency.overhead,
    telemetry_overhead_ratio_lambda_mode: latency.lambdaMode,
    cold_init_ms_telemetry_off: cold.off,
    cold_init_ms_telemetry_on: cold.on,
    cold_init_ratio: cold.ratio,
  };
};

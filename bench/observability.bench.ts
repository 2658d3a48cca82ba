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
import { LAMBDA_NODE_MAJOR } from '../functions/runtime/definitions.js';
import { buildFunctions } from '../scripts/build.js';
import { lambdaNode } from '../scripts/lambda-node.js';
import { DynaliteProcess, freePort, waitFor } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { figure, median, report } from './harness.js';

/** Two instances whose merged exposition has 5,000 samples of scaivault_request* (every bucket, sum and count line counts). */
export const fleetOfSeries = (): { instances: InstanceRecord[]; samples: number } => {
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
    [
      '-e',
      `require('http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.writeHead(200,{'content-type':'application/json'});r.end('{}')})}).listen(${port},'127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/v1/traces`, { method: 'POST', body: '{}' })).ok, 10_000, 'OTLP sink');
  return { url, stop: () => sink.kill() };
};

interface LatencyResult {
  /** Median read latency per vault, ms. */
  readonly medians: Readonly<Record<string, number>>;
  /** Telemetry on over off on the Lambda runtime's Node, minus one: the target. */
  readonly overhead: number;
  /** The same with spans exported before each response, as Lambda does. */
  readonly lambdaMode: number;
  /** On over off on this machine's Node, when that is another major. */
  readonly overheadHostNode: number | undefined;
}

/**
 * Sequential reads of one secret from vaults that differ only in telemetry, all
 * on one dynalite. The target is measured on the Node major the Lambdas run
 * (LAMBDA_NODE_MAJOR); this machine's Node is measured alongside when it differs,
 * because before Node 24 AsyncLocalStorage runs on async_hooks promise hooks,
 * which tax every promise of a request once tracing propagates context.
 */
const latencyBenchmark = async (): Promise<LatencyResult> => {
  const lambdaRuntime = lambdaNode();
  const hostIsLambdaMajor = lambdaRuntime.path === process.execPath;
  const dynalite = await DynaliteProcess.start();
  const receiver = await startOtlpSink();
  const rootToken = `svt_${'t'.repeat(43)}`;
  const common = {
    SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
    SCAIVAULT_ROOT_TOKEN: rootToken,
    SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
    SCAIVAULT_RATE_LIMITS: 'read=100000000/1s',
    // In AWS the scheduler (sealing, verifying the audit chain) is its own function, not
    // the api's CPU; in one embedded process its runs would land on random reads.
    SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '86400',
    LOG_LEVEL: 'warn',
  };
  const telemetry = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'scaivault-bench', POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault' };
  const sides: Record<string, { env: Record<string, string>; node: string }> = {
    off: { env: common, node: lambdaRuntime.path },
    on: { env: { ...common, ...telemetry }, node: lambdaRuntime.path },
    // Lambda's mode exports every invocation's spans before returning (to the ADOT extension on localhost there).
    lambda: { env: { ...common, ...telemetry, SCAIVAULT_TRACES_FLUSH: 'invocation' }, node: lambdaRuntime.path },
  };
  if (!hostIsLambdaMajor) {
    sides.hostOff = { env: common, node: process.execPath };
    sides.hostOn = { env: { ...common, ...telemetry }, node: process.execPath };
  }
  const vaults: Record<string, VaultProcess> = {};
  const dispatcher = new Agent({ connections: 1 });
  try {
    for (const [name, side] of Object.entries(sides)) vaults[name] = await VaultProcess.start({ env: side.env, node: side.node, logToFile: true });
    await vaults.off!.request('PUT', '/v1/secrets/bench/latency', { token: rootToken, body: { value: 'latency-benchmark-value' } });
    const timeRead = async (vault: VaultProcess): Promise<number> => {
      const started = performance.now();
      const response = await undiciFetch(`${vault.url}/v1/secrets/bench/latency`, { headers: { authorization: `Bearer ${rootToken}` }, dispatcher });
      await response.arrayBuffer();
      if (response.status !== 200) throw new Error(`read answered ${response.status}`);
      return performance.now() - started;
    };
    const names = Object.keys(vaults);
    for (const name of names) for (let i = 0; i < 200; i += 1) await timeRead(vaults[name]!);
    // One read per vault per round, the order rotating: the shared dynalite slows as the
    // audit trail grows, and any longer turn would hand that drift to one side.
    const samples: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
    const rounds = 1200;
    for (let round = 0; round < rounds; round += 1) {
      for (let k = 0; k < names.length; k += 1) {
        const name = names[(round + k) % names.length]!;
        samples[name]!.push(await timeRead(vaults[name]!));
      }
    }
    const medians = Object.fromEntries(names.map((name) => [name, median(samples[name]!)]));
    const result: LatencyResult = {
      medians,
      overhead: medians.on! / medians.off! - 1,
      lambdaMode: medians.lambda! / medians.off! - 1,
      overheadHostNode: hostIsLambdaMajor ? undefined : medians.hostOn! / medians.hostOff! - 1,
    };
    const ms = (name: string): string => `${medians[name]!.toFixed(3)} ms`;
    console.log(
      `\nread latency, median of ${rounds} sequential reads each, Node ${lambdaRuntime.version} (the Lambda runtime's major): ` +
        `telemetry off ${ms('off')}, on ${ms('on')}, on with per-invocation span export ${ms('lambda')}`,
    );
    report(`per-request overhead of telemetry, Node ${LAMBDA_NODE_MAJOR}`, `${(result.overhead * 100).toFixed(1)} %`, '<= 10 %', result.overhead <= 0.1);
    console.log(`      (Lambda mode, spans exported before each response: ${(result.lambdaMode * 100).toFixed(1)} % over off)`);
    if (result.overheadHostNode !== undefined) {
      console.log(`read latency on this machine's Node ${process.versions.node}: telemetry off ${ms('hostOff')}, on ${ms('hostOn')}`);
      figure(
        `per-request overhead of telemetry, Node ${process.versions.node.split('.')[0]} (async_hooks context)`,
        `${(result.overheadHostNode * 100).toFixed(1)} %`,
      );
    }
    return result;
  } finally {
    await dispatcher.close();
    for (const vault of Object.values(vaults)) await vault.stop();
    receiver.stop();
    await dynalite.stop();
  }
};

/** Time to import the built api bundle in a fresh process of the Lambda runtime's Node, as Lambda's init phase does. */
const coldInitBenchmark = async (): Promise<{ off: number; on: number; ratio: number }> => {
  const [api] = (await buildFunctions()).filter((b) => b.name === 'api');
  if (!api) throw new Error('no api bundle');
  const node = lambdaNode();
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
  const onEnv = {
    ...baseEnv,
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
    OTEL_SERVICE_NAME: 'scaivault-api',
    POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault',
  };
  const time = (env: Record<string, string>): number => {
    const result = spawnSync(node.path, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`bundle import failed: ${result.stderr.slice(-2000)}`);
    return Number(result.stdout);
  };
  const samples = { off: [] as number[], on: [] as number[] };
  for (let i = 0; i < 12; i += 1) {
    samples.off.push(time(baseEnv));
    samples.on.push(time(onEnv));
  }
  const result = { off: median(samples.off), on: median(samples.on), ratio: median(samples.on) / median(samples.off) };
  console.log(
    `\napi bundle cold init (median of 12 fresh Node ${node.version} processes each): telemetry off ${result.off.toFixed(1)} ms, on ${result.on.toFixed(1)} ms`,
  );
  report('cold init ratio (telemetry on / off)', result.ratio.toFixed(3), '<= 1.3', result.ratio <= 1.3);
  return result;
};

export const runObservabilityBenchmarks = async (): Promise<Record<string, number>> => {
  const renderMs = renderBenchmark();
  const latency = await latencyBenchmark();
  const cold = await coldInitBenchmark();
  return {
    metrics_render_ms_5000_series: renderMs,
    read_latency_ms_telemetry_off: latency.medians.off!,
    read_latency_ms_telemetry_on: latency.medians.on!,
    telemetry_overhead_ratio: latency.overhead,
    telemetry_overhead_ratio_lambda_mode: latency.lambdaMode,
    ...(latency.overheadHostNode === undefined ? {} : { telemetry_overhead_ratio_host_node: latency.overheadHostNode }),
    cold_init_ms_telemetry_off: cold.off,
    cold_init_ms_telemetry_on: cold.on,
    cold_init_ratio: cold.ratio,
  };
};

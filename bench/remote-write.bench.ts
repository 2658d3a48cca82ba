// What one remote-write publish of the fleet's metrics costs: the 5,000 samples of the
// /v1/metrics render benchmark turned into time series, protobuf-encoded, snappy-compressed
// and POSTed, to a discarding receiver in its own process and to a real Prometheus.
import { spawn } from 'node:child_process';
import { HttpRemoteWriteSink } from '../functions/adapters/http/http-remote-write-sink.js';
import { capLabels, EMPTY_BASELINE, mergeFleet } from '../functions/observability/fleet-merge.js';
import { MetricRegistry } from '../functions/observability/metric-registry.js';
import { MetricsPublisher } from '../functions/observability/metrics-publisher.js';
import { toTimeSeries, WRITE_REQUEST } from '../functions/observability/remote-write.js';
import { findPrometheus, PrometheusServer } from '../test/integration/support/prometheus-server.js';
import { freePort, waitFor } from '../test/integration/support/processes.js';
import { figure, report } from './harness.js';
import { fleetOfSeries } from './observability.bench.js';

const RUNS = 60;
const WARMUP = 10;

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

const timed = async (runs: number, task: () => Promise<unknown>): Promise<number> => {
  const times: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
  }
  return median(times.slice(WARMUP));
};

const startDiscardingReceiver = async (): Promise<{ url: string; stop: () => void }> => {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['-e', `require('http').createServer((q,r)=>{q.resume();q.on('end',()=>{r.writeHead(204);r.end()})}).listen(${port},'127.0.0.1')`],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}/api/v1/write`;
  await waitFor(async () => (await fetch(url, { method: 'POST', body: '' })).status === 204, 10_000, 'remote-write sink');
  return { url, stop: () => child.kill() };
};

const publisherTo = (url: string) =>
  new MetricsPublisher(new HttpRemoteWriteSink(url, 10_000), new MetricRegistry(), console, {
    job: 'scaivault',
    instance: 'bench',
    maxAttempts: 1,
    baseDelayMs: 0,
    maxDelayMs: 0,
  });

export const runRemoteWriteBenchmarks = async (): Promise<Record<string, number>> => {
  const { instances } = fleetOfSeries();
  const snapshot = capLabels(mergeFleet(EMPTY_BASELINE, instances, { now: Date.now(), liveWindowMs: 60_000, latestWindowMs: 60_000 }), {}, 50).snapshot;
  const series = toTimeSeries(snapshot, { job: 'scaivault', instance: 'bench' }, Date.now());
  const protobufBytes = WRITE_REQUEST.encode(WRITE_REQUEST.fromObject({ timeseries: series })).finish().byteLength;
  const discard = await startDiscardingReceiver();
  const prometheus = findPrometheus() ? await PrometheusServer.start({ targets: [], ruleFiles: [], remoteWriteReceiver: true }) : undefined;
  try {
    const toDiscard = publisherTo(discard.url);
    const first = await toDiscard.publish(snapshot);
    const encodeMs = await timed(RUNS, async () => toTimeSeries(snapshot, { job: 'scaivault', instance: 'bench' }, Date.now()));
    const publishMs = await timed(RUNS, () => toDiscard.publish(snapshot));
    console.log(`\nremote write of ${first.series} series (5,000 samples of /v1/metrics' render benchmark plus the default series)`);
    figure('protobuf WriteRequest', `${protobufBytes} bytes`);
    figure('snappy-compressed body', `${first.bytes} bytes (${((100 * first.bytes) / protobufBytes).toFixed(1)} %)`);
    figure('series building alone, median', `${encodeMs.toFixed(2)} ms`);
    report('publish (build + encode + POST), median', `${publishMs.toFixed(2)} ms`, '<= 100 ms', publishMs <= 100 && first.ok);
    const result: Record<string, number> = {
      series: first.series,
      protobuf_bytes: protobufBytes,
      body_bytes: first.bytes,
      build_ms: encodeMs,
      publish_ms: publishMs,
    };
    if (prometheus) {
      const toPrometheus = publisherTo(prometheus.remoteWriteUrl);
      const accepted = await toPrometheus.publish(snapshot);
      // Each push must carry a newer timestamp than the last: Prometheus drops out-of-order samples with 400.
      const prometheusMs = await timed(20, async () => {
        await new Promise((r) => setTimeout(r, 2));
        const outcome = await toPrometheus.publish(snapshot);
        if (!outcome.ok) throw new Error(`prometheus answered ${outcome.status}`);
      });
      figure('publish into Prometheus 2.42, median', `${prometheusMs.toFixed(2)} ms (status ${accepted.status})`);
      result.prometheus_publish_ms = prometheusMs;
    }
    return result;
  } finally {
    discard.stop();
    await prometheus?.stop();
  }
};

import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import snappy from 'snappyjs';
import { afterEach, describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../functions/adapters/http/retry-after.js';
import { HttpRemoteWriteSink } from '../../functions/adapters/http/http-remote-write-sink.js';
import { sigV4Signer } from '../../functions/adapters/http/sigv4-signer.js';
import { renderExposition } from '../../functions/observability/exposition.js';
import { DURATION_BUCKETS, METRICS } from '../../functions/observability/metric-catalogue.js';
import { emptyHistogram, seriesKey, type MetricsSnapshot } from '../../functions/observability/metric-registry.js';
import { encodeWriteRequest, toTimeSeries, WRITE_REQUEST, type TimeSeries } from '../../functions/observability/remote-write.js';

const AT = 1_780_000_000_123;
const TARGET = { job: 'scaivault', instance: 'prod' };

const snapshot = (): MetricsSnapshot => {
  const duration = emptyHistogram();
  duration.buckets[0] = 2;
  duration.buckets[DURATION_BUCKETS.length] = 1;
  duration.sum = 11.5;
  duration.count = 3;
  return {
    [METRICS.requests.name]: { [seriesKey(['GET', 'secrets', '200'])]: 7 },
    [METRICS.requestDuration.name]: { [seriesKey(['GET', 'secrets'])]: duration },
    [METRICS.ready.name]: { '': 1 },
  };
};

const decode = (body: Uint8Array): TimeSeries[] =>
  (WRITE_REQUEST.toObject(WRITE_REQUEST.decode(snappy.uncompress(body)), { longs: Number, defaults: true }) as { timeseries: TimeSeries[] }).timeseries;

const labelsOf = (series: TimeSeries): Record<string, string> => Object.fromEntries(series.labels.map(({ name, value }) => [name, value]));

describe('remote write encoding', () => {
  it('round-trips through protobuf and snappy with every exposition sample, job and instance added, labels sorted', () => {
    const decoded = decode(encodeWriteRequest(toTimeSeries(snapshot(), TARGET, AT)));
    const exposition = renderExposition(snapshot())
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(decoded).toHaveLength(exposition.length);
    for (const series of decoded) {
      const names = series.labels.map((label) => label.name);
      expect(names).toEqual([...names].sort());
      expect(labelsOf(series)).toMatchObject({ job: 'scaivault', instance: 'prod' });
      expect(series.samples).toEqual([{ value: expect.any(Number), timestamp: AT }]);
    }
    const find = (labels: Record<string, string>) => decoded.find((series) => Object.entries(labels).every(([k, v]) => labelsOf(series)[k] === v));
    expect(find({ __name__: 'scaivault_requests_total', method: 'GET', status: '200' })?.samples[0]?.value).toBe(7);
    expect(find({ __name__: 'scaivault_request_duration_seconds_bucket', le: '0.001' })?.samples[0]?.value).toBe(2);
    expect(find({ __name__: 'scaivault_request_duration_seconds_bucket', le: '10' })?.samples[0]?.value).toBe(2);
    expect(find({ __name__: 'scaivault_request_duration_seconds_bucket', le: '+Inf' })?.samples[0]?.value).toBe(3);
    expect(find({ __name__: 'scaivault_request_duration_seconds_sum' })?.samples[0]?.value).toBe(11.5);
    expect(find({ __name__: 'scaivault_request_duration_seconds_count' })?.samples[0]?.value).toBe(3);
    expect(find({ __name__: 'scaivault_ready' })?.samples[0]?.value).toBe(1);
  });

  it('drops empty label values, which Prometheus treats as absent', () => {
    const series = toTimeSeries({ [METRICS.secrets.name]: { [seriesKey([''])]: 2 } }, TARGET, AT);
    expect(series.find((s) => s.labels[0]?.value === 'scaivault_secrets_total')?.labels.map((l) => l.name)).toEqual(['__name__', 'instance', 'job']);
  });
});

describe('HttpRemoteWriteSink', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  const receiver = async (status: number, extra: Record<string, string> = {}) => {
    const received: { headers: IncomingHttpHeaders; body: Buffer; url: string }[] = [];
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push({ headers: request.headers, body: Buffer.concat(chunks), url: request.url ?? '' });
        response.writeHead(status, extra).end();
      });
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return { received, url: `http://127.0.0.1:${(server?.address() as { port: number }).port}/api/v1/write` };
  };

  it('posts the body with the remote-write 1.0 headers, unsigned when no signer is given', async () => {
    const { received, url } = await receiver(204);
    const body = encodeWriteRequest(toTimeSeries(snapshot(), TARGET, AT));
    expect(await new HttpRemoteWriteSink(url, 2000).write(body)).toEqual({ status: 204 });
    expect(received[0]?.headers).toMatchObject({
      'content-encoding': 'snappy',
      'content-type': 'application/x-protobuf',
      'x-prometheus-remote-write-version': '0.1.0',
    });
    expect(received[0]?.headers.authorization).toBeUndefined();
    expect(decode(new Uint8Array(received[0]!.body))).toHaveLength(decode(body).length);
  });

  it('signs with SigV4 for service aps with the given credentials, and reports Retry-After', async () => {
    const { received, url } = await receiver(429, { 'retry-after': '2' });
    const sign = sigV4Signer({
      service: 'aps',
      region: 'eu-west-1',
      credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-never-sent', sessionToken: 'session-token' }),
    });
    expect(await new HttpRemoteWriteSink(url, 2000, sign).write(new Uint8Array([1, 2, 3]))).toEqual({ status: 429, retryAfterSeconds: 2 });
    // An HTTP date, as RFC 9110 allows, and nothing from a value that is neither.
    expect(retryAfterMs(new Date(Date.now() + 30_000).toUTCString())).toBeGreaterThan(28_000);
    expect(retryAfterMs('1.5')).toBeUndefined();
    expect(retryAfterMs('test 1')).toBeUndefined();
    const headers = received[0]!.headers;
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/aps\/aws4_request, SignedHeaders=[^,]*content-type[^,]*host[^,]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-amz-security-token']).toBe('session-token');
    expect(headers['x-amz-content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(headers)).not.toContain('secret-never-sent');
  });
});

import { describe, expect, it } from 'vitest';
import type { RemoteWriteResponse } from '../../functions/domain/ports/metrics.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry } from '../../functions/observability/metric-registry.js';
import { MetricsPublisher, type PublishOptions } from '../../functions/observability/metrics-publisher.js';
import { RecordingLogger } from './support/recorders.js';

const OPTIONS: PublishOptions = { job: 'scaivault', instance: 'test', maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };
const NOW = 1_780_000_000_000;

/** A sink answering from a script: a status, or an error thrown as a network failure would be. */
const scripted = (answers: Array<RemoteWriteResponse | Error>) => {
  const bodies: Uint8Array[] = [];
  return {
    bodies,
    write: async (body: Uint8Array) => {
      bodies.push(body);
      const answer = answers.shift() ?? { status: 200 };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
};

const publisherOver = (answers: Array<RemoteWriteResponse | Error>) => {
  const sink = scripted(answers);
  const registry = new MetricRegistry();
  const logger = new RecordingLogger();
  const waits: number[] = [];
  const publisher = new MetricsPublisher(
    sink,
    registry,
    logger,
    OPTIONS,
    () => NOW,
    async (ms) => void waits.push(ms),
  );
  const value = (metric: { name: string }) => registry.snapshot()[metric.name]?.[''];
  return { publisher, sink, waits, logger, value };
};

describe('MetricsPublisher', () => {
  it('sets the last-publish gauge on success and counts nothing', async () => {
    const { publisher, value, sink } = publisherOver([{ status: 204 }]);
    const result = await publisher.publish({ [METRICS.ready.name]: { '': 1 } });
    expect(result).toMatchObject({ ok: true, attempts: 1, status: 204 });
    expect(result.bytes).toBe(sink.bodies[0]?.byteLength);
    expect(value(METRICS.metricsLastPublish)).toBe(NOW / 1000);
    expect(value(METRICS.metricsPublishFailures)).toBeUndefined();
  });

  it('retries 5xx, 429 and network errors with doubling backoff, honouring a bounded Retry-After', async () => {
    const { publisher, waits, sink } = publisherOver([{ status: 503 }, { status: 429, retryAfterSeconds: 60 }, { status: 200 }]);
    expect(await publisher.publish({})).toMatchObject({ ok: true, attempts: 3 });
    expect(waits).toEqual([100, 1000]);
    expect(sink.bodies[0]).toBe(sink.bodies[2]);
    const again = publisherOver([Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), { status: 200 }]);
    expect(await again.publisher.publish({})).toMatchObject({ ok: true, attempts: 2 });
  });

  it('gives up after maxAttempts, counts the failure and logs it without a message or URL', async () => {
    const { publisher, waits, value, logger } = publisherOver([{ status: 500 }, { status: 502 }, { status: 503 }, { status: 200 }]);
    expect(await publisher.publish({})).toMatchObject({ ok: false, attempts: 3, status: 503 });
    expect(waits).toEqual([100, 200]);
    expect(value(METRICS.metricsPublishFailures)).toBe(1);
    expect(value(METRICS.metricsLastPublish)).toBeUndefined();
    expect(logger.lines).toEqual([{ level: 'warn', message: 'metrics publish failed', fields: expect.objectContaining({ attempts: 3, status: 503 }) }]);
  });

  it('does not retry other 4xx answers: the same body would fail again', async () => {
    const { publisher, waits, value } = publisherOver([{ status: 400 }, { status: 200 }]);
    expect(await publisher.publish({})).toMatchObject({ ok: false, attempts: 1, status: 400 });
    expect(waits).toEqual([]);
    expect(value(METRICS.metricsPublishFailures)).toBe(1);
  });

  it('names the error class of a failure that had no answer', async () => {
    const { publisher, logger } = publisherOver([new TypeError('fetch failed: http://secret@host'), new TypeError('x'), new TypeError('y')]);
    expect(await publisher.publish({})).toMatchObject({ ok: false, attempts: 3 });
    expect(logger.lines[0]?.fields).toMatchObject({ status: null, error: 'TypeError' });
    expect(JSON.stringify(logger.lines)).not.toContain('secret');
  });
});

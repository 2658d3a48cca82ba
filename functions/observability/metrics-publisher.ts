// Pushes the fleet's metrics to a Prometheus remote-write receiver (Amazon Managed Prometheus in AWS).
import { describeError } from '../domain/errors.js';
import type { DomainLogger } from '../domain/ports/logging.js';
import type { RemoteWriteResponse, RemoteWriteSink } from '../domain/ports/metrics.js';
import { METRICS } from './metric-catalogue.js';
import type { MetricRegistry, MetricsSnapshot } from './metric-registry.js';
import { encodeWriteRequest, toTimeSeries } from './remote-write.js';

export interface PublishOptions {
  /** The target labels every pushed series carries, as a scrape would add them. */
  readonly job: string;
  readonly instance: string;
  /** Attempts per publish, the first included. */
  readonly maxAttempts: number;
  /** Delay before the first retry, doubling after each; never above `maxDelayMs` (a Retry-After included). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_PUBLISH_RETRIES = { maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 4000 } as const;

export interface PublishResult {
  readonly ok: boolean;
  readonly series: number;
  readonly bytes: number;
  readonly attempts: number;
  /** The last answer's status; absent when none came. */
  readonly status?: number;
}

/** 429 and 5xx may pass; any other 4xx is the request's fault and would fail again (the receiver's own rule too). */
const retryable = (response: RemoteWriteResponse | undefined): boolean => response === undefined || response.status === 429 || response.status >= 500;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class MetricsPublisher {
  constructor(
    private readonly sink: RemoteWriteSink,
    private readonly registry: Pick<MetricRegistry, 'inc' | 'set'>,
    private readonly logger: Pick<DomainLogger, 'warn'>,
    private readonly options: PublishOptions,
    private readonly now: () => number = Date.now,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {}

  /** One push of the snapshot; a failure after the retries is counted and logged, never thrown. */
  async publish(snapshot: MetricsSnapshot): Promise<PublishResult> {
    const at = this.now();
    const series = toTimeSeries(snapshot, { job: this.options.job, instance: this.options.instance }, at);
    const body = encodeWriteRequest(series);
    const { response, error, attempts } = await this.send(body);
    const ok = response !== undefined && response.status >= 200 && response.status < 300;
    const result: PublishResult = { ok, series: series.length, bytes: body.byteLength, attempts, status: response?.status };
    if (ok) {
      this.registry.set(METRICS.metricsLastPublish, [], Math.floor(at / 1000));
      return result;
    }
    this.registry.inc(METRICS.metricsPublishFailures);
    this.logger.warn('metrics publish failed', {
      attempts,
      status: response?.status ?? null,
      error: error === undefined ? null : describeError(error),
      series: series.length,
    });
    return result;
  }

  private async send(body: Uint8Array): Promise<{ response?: RemoteWriteResponse; error?: unknown; attempts: number }> {
    const { maxAttempts, baseDelayMs, maxDelayMs } = this.options;
    let last: { response?: RemoteWriteResponse; error?: unknown } = {};
    for (let attempt = 1; ; attempt++) {
      try {
        last = { response: await this.sink.write(body) };
      } catch (error) {
        last = { error };
      }
      if (!retryable(last.response) || attempt >= maxAttempts) return { ...last, attempts: attempt };
      const hinted = last.response?.retryAfterSeconds;
      await this.wait(Math.min(maxDelayMs, hinted !== undefined ? hinted * 1000 : baseDelayMs * 2 ** (attempt - 1)));
    }
  }
}

import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../functions/domain/errors.js';
import { Tracing } from '../../functions/observability/tracing.js';
import { processJobBatch, type JobBatchOptions } from '../../functions/workers/job-batch.js';
import { flushMetricsNow, jobWorker } from '../../functions/workers/worker-middlewares.js';
import type { FleetMetrics } from '../../functions/observability/fleet-metrics.js';
import type { Logger } from '../../functions/observability/logger.js';
import { RecordingLogger } from './support/recorders.js';
import { UNIT_TRACING_CONFIG } from './support/tracing-config.js';

const record = (messageId: string, body: unknown, receiveCount = 1): SQSRecord =>
  ({
    messageId,
    receiptHandle: `rh-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { ApproximateReceiveCount: String(receiveCount) },
    messageAttributes: {},
  }) as unknown as SQSRecord;
const batch = (...records: SQSRecord[]): SQSEvent => ({ Records: records });
const jobMessage = (jobId: string) => ({ job_id: jobId });

const options = (overrides: Omit<Partial<JobBatchOptions>, 'logger'> & Pick<JobBatchOptions, 'run'>): JobBatchOptions & { logger: RecordingLogger } => ({
  queue: 'rotation',
  maxReceiveCount: 3,
  ...overrides,
  logger: new RecordingLogger(),
});

describe('processJobBatch', () => {
  it('runs each job once, drops messages that name no job, and reports only the failures', async () => {
    const ran: string[] = [];
    const opts = options({
      run: async (jobId) => {
        ran.push(jobId);
        if (jobId === 'rot_failing000') throw Object.assign(new Error('nope'), { name: 'TimeoutError' });
      },
    });
    const response = await processJobBatch(
      batch(
        record('m1', jobMessage('rot_aaaaaaaaaa')),
        record('m2', 'not json'),
        record('m3', jobMessage('rot_failing000')),
        record('m4', jobMessage('rot_aaaaaaaaaa')),
      ),
      opts,
    );
    expect(ran).toEqual(['rot_aaaaaaaaaa', 'rot_failing000']);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm3' }] });
    expect(opts.logger.messages('warn')).toEqual(['dropping a message that names no job', 'job attempt failed']);
  });

  it('calls onLastAttempt only on the last receive, and a failure there changes nothing', async () => {
    const last: string[] = [];
    const opts = options({
      run: async () => Promise.reject(new Error('down')),
      onLastAttempt: async (jobId) => {
        last.push(jobId);
        throw new Error('also down');
      },
    });
    const response = await processJobBatch(batch(record('m1', jobMessage('rot_early00000'), 2), record('m2', jobMessage('rot_last000000'), 3)), opts);
    expect(last).toEqual(['rot_last000000']);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m1', 'm2']);
  });

  it('keeps a message whose job answers keep, without calling it a failed attempt', async () => {
    const opts = options({ run: async (jobId) => (jobId === 'whd_keep000000' ? 'keep' : 'done') });
    const response = await processJobBatch(batch(record('m1', jobMessage('whd_keep000000')), record('m2', jobMessage('whd_done000000'))), opts);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(opts.logger.lines).toEqual([]);
  });

  it('runs jobs one after another, or all at once when concurrent', async () => {
    for (const concurrent of [false, true]) {
      let running = 0;
      let most = 0;
      const run = async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setTimeout(resolve, 5));
        running -= 1;
      };
      await processJobBatch(
        batch(record('m1', jobMessage('whd_aaaaaaaaaa')), record('m2', jobMessage('whd_bbbbbbbbbb')), record('m3', jobMessage('whd_cccccccccc'))),
        options({ run, concurrent }),
      );
      expect(most).toBe(concurrent ? 3 : 1);
    }
  });
});

describe('jobWorker', () => {
  const fleet = () => {
    const calls: string[] = [];
    const failing = { flush: false };
    const metrics = {
      flushNow: async () => void calls.push('flushNow'),
      maybeFlush: async () => {
        calls.push('maybeFlush');
        if (failing.flush) throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
      },
    } as unknown as FleetMetrics;
    return { calls, metrics, failing };
  };
  const context = () => ({ functionName: 'scaivault-test', awsRequestId: 'req-1' }) as Context;

  it('flushes the fleet metrics after every batch, at once when the batch asked for it', async () => {
    const { calls, metrics } = fleet();
    const logger = new RecordingLogger();
    let urgent = false;
    const handler = jobWorker(metrics, logger as unknown as Logger, (ctx) => ({
      queue: 'webhook',
      maxReceiveCount: 3,
      logger,
      run: async () => {
        if (urgent) flushMetricsNow(ctx);
      },
    }));
    await handler(batch(record('m1', jobMessage('whd_aaaaaaaaaa'))), context());
    urgent = true;
    await handler(batch(record('m1', jobMessage('whd_aaaaaaaaaa'))), context());
    urgent = false;
    await handler(batch(record('m1', jobMessage('whd_aaaaaaaaaa'))), context());
    expect(calls).toEqual(['maybeFlush', 'flushNow', 'maybeFlush']);
  });

  it('answers the batch even when the flush fails, and logs the failure', async () => {
    const { metrics, failing } = fleet();
    failing.flush = true;
    const logger = new RecordingLogger();
    const handler = jobWorker(metrics, logger as unknown as Logger, () => ({
      queue: 'rotation',
      maxReceiveCount: 3,
      logger,
      run: async () => Promise.reject(new Error('x')),
    }));
    expect(await handler(batch(record('m1', jobMessage('rot_aaaaaaaaaa'))), context())).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(logger.lines.at(-1)).toEqual({ level: 'warn', message: 'metrics flush failed', fields: { error: 'ProvisionedThroughputExceededException' } });
  });
});

describe('job spans', () => {
  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const PARENT_SPAN_ID = '00f067aa0ba902b7';
  const traced = (messageId: string, jobId: string, receiveCount: number): SQSRecord => ({
    ...record(messageId, jobMessage(jobId), receiveCount),
    messageAttributes: {
      traceparent: { stringValue: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, dataType: 'String', stringListValues: [], binaryListValues: [] },
    },
  });
  const tracingConfig = UNIT_TRACING_CONFIG;

  it('runs each job in a SERVER span continuing its message trace, with the job attributes and an error class on failure', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new Tracing(tracingConfig, new SimpleSpanProcessor(exporter));
    const opts = options({
      tracing,
      run: async (jobId) => {
        if (jobId === 'rot_failing000') throw new DependencyUnavailableError('dynamodb', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) });
      },
    });
    await processJobBatch(batch(traced('m1', 'rot_aaaaaaaaaa', 1), traced('m2', 'rot_failing000', 2)), opts);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((span) => [span.name, span.kind, span.spanContext().traceId, span.parentSpanContext?.spanId])).toEqual([
      ['rotation job', SpanKind.SERVER, TRACE_ID, PARENT_SPAN_ID],
      ['rotation job', SpanKind.SERVER, TRACE_ID, PARENT_SPAN_ID],
    ]);
    expect(spans[0]!.attributes).toMatchObject({
      'scaivault.job.type': 'rotation',
      'scaivault.job.id': 'rot_aaaaaaaaaa',
      'scaivault.job.attempt': 1,
      'scaivault.job.result': 'done',
      'messaging.message.id': 'm1',
    });
    expect(spans[0]!.status.code).toBe(SpanStatusCode.UNSET);
    expect(spans[1]!.attributes).toMatchObject({ 'scaivault.job.attempt': 2, 'error.type': 'DependencyUnavailableError', 'scaivault.error.class': 'network' });
    expect(spans[1]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'network' });
    await tracing.shutdown();
  });
});

describe('processJobBatch: the job family', () => {
  it('reports every attempt by result, counts retries, and skips a redelivered finished job', async () => {
    const reports: [string, string][] = [];
    const results: Record<string, 'done' | 'failed' | 'partial' | 'skipped' | 'keep' | 'dead-letter'> = {
      rot_done000000: 'done',
      rot_failed0000: 'failed',
      rot_partial000: 'partial',
      rot_skipped000: 'skipped',
      rot_keep000000: 'keep',
      rot_deadletter: 'dead-letter',
    };
    const opts = options({
      queue: 'webhook',
      metrics: { jobAttempted: (queue, outcome, seconds) => void (seconds >= 0 && reports.push([queue, outcome])) },
      run: async (jobId) => {
        if (jobId === 'rot_throws0000') throw new Error('down');
        return results[jobId];
      },
    });
    const ids = [...Object.keys(results), 'rot_throws0000'];
    const response = await processJobBatch(batch(...ids.map((id, i) => record(`m${i}`, jobMessage(id)))), opts);
    expect(reports).toEqual([
      ['webhook', 'success'],
      ['webhook', 'failed'],
      ['webhook', 'partial'],
      ['webhook', 'retry'],
      ['webhook', 'failed'],
      ['webhook', 'retry'],
    ]);
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m4', 'm5', 'm6']);
  });

  it('counts a thrown last attempt as failed', async () => {
    const reports: string[] = [];
    const opts = options({ metrics: { jobAttempted: (_queue, outcome) => void reports.push(outcome) }, run: () => Promise.reject(new Error('x')) });
    await processJobBatch(batch(record('m1', jobMessage('rot_aaaaaaaaaa'), 3)), opts);
    expect(reports).toEqual(['failed']);
  });

  it("logs the job's lines with its job id and the request id its message carries", async () => {
    const lines: string[] = [];
    const { Logger } = await import('../../functions/observability/logger.js');
    const logger = new Logger('info', 'json', {}, (line) => lines.push(line));
    const message = { ...record('m1', jobMessage('rot_aaaaaaaaaa')), messageAttributes: { request_id: { stringValue: 'req_from_api', dataType: 'String' } } };
    await processJobBatch(batch(message as SQSRecord), options({ run: async () => logger.info('working') }));
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({ message: 'working', job_id: 'rot_aaaaaaaaaa', request_id: 'req_from_api' });
  });
});

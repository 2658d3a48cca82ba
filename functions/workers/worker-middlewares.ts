import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { flushQuietly, type FleetMetrics } from '../observability/fleet-metrics.js';
import type { Logger } from '../observability/logger.js';
import { defaultTracing, type Tracing } from '../observability/tracing.js';
import { processJobBatch, type JobBatchOptions } from './job-batch.js';

// Invocations whose metrics must reach the fleet store now, not at the next interval.
const urgentFlushes = new WeakSet<Context>();

/** Asks the metrics flush at the end of this invocation to write now (a give-up feeds the dead-letter alert). */
export const flushMetricsNow = (context: Context): void => {
  urgentFlushes.add(context);
};

/** After every invocation, the bounded-rate fleet flush; a failed flush never fails the invocation. */
export const metricsFlush = <Event, Result>(fleet: FleetMetrics, logger: Logger): middy.MiddlewareObj<Event, Result, Error, Context> => {
  const flush = async (request: middy.Request<Event, Result, Error, Context>) => {
    const now = urgentFlushes.delete(request.context);
    await flushQuietly(fleet, logger, now);
  };
  return { after: flush, onError: flush };
};

/** Exports the invocation's spans before it returns (Lambda may freeze the container right after). */
export const invocationTracing = <Event, Result>(tracing: Tracing = defaultTracing): middy.MiddlewareObj<Event, Result, Error, Context> => {
  const end = async () => {
    await tracing.endInvocation();
  };
  return { after: end, onError: end };
};

export type JobWorkerHandler = middy.MiddyfiedHandler<SQSEvent, SQSBatchResponse, Error, Context>;

/**
 * A worker on a job queue: one batch helper, with the span export and the
 * metrics flush as middlewares. `options` may depend on the invocation's
 * context (e.g. to ask for an urgent flush).
 */
export const jobWorker = (fleet: FleetMetrics, logger: Logger, options: (context: Context) => JobBatchOptions): JobWorkerHandler =>
  middy<SQSEvent, SQSBatchResponse, Error, Context>()
    .use(invocationTracing())
    .use(metricsFlush(fleet, logger))
    .handler((event, context) => processJobBatch(event, options(context)));

import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describeError, type Logger } from '../observability/logger.js';
import { newRequestState, type RequestState, type VaultContext } from './api-app.js';
import { problemResponse, toProblem } from './problem.js';
import { RateLimitedError } from '../domain/errors.js';
import { flushQuietly, type FleetMetrics } from '../observability/fleet-metrics.js';
import type { VaultMetrics } from '../observability/vault-metrics.js';
import type { CloudWatchRequestMetrics } from '../observability/cloudwatch-metrics.js';

type Middleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;
type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;

const stateOf = (request: Request): RequestState => {
  request.context.vault ??= newRequestState(request.event);
  return request.context.vault;
};

/** Gives every request an id (a valid client X-Request-ID is kept) and echoes it. */
export const requestContext = (): Middleware => ({
  before: (request) => {
    stateOf(request);
  },
  after: (request) => {
    const state = stateOf(request);
    if (request.response) request.response.headers = { ...request.response.headers, 'x-request-id': state.requestId };
  },
});

/** Turns any error into application/problem+json; 5xx answers never carry internal detail. */
export const problemErrors = (logger: Logger): Middleware => ({
  onError: (request) => {
    const state = stateOf(request);
    const problem = toProblem(request.error, state.requestId);
    if (problem.status >= 500) {
      logger.error('request failed', { request_id: state.requestId, error: describeError(request.error), route: state.route });
    }
    request.response = problemResponse(problem, { 'x-request-id': state.requestId });
  },
});

/** One access log line per request, with the operator contract's fields. */
export const accessLog = (logger: Logger): Middleware => {
  const write = (request: Request) => {
    const state = stateOf(request);
    const status = request.response?.statusCode ?? 500;
    state.status = status;
    const fields = {
      request_id: state.requestId,
      tenant_id: state.tenantId ?? null,
      identity_id: state.identityId ?? null,
      path: state.path ?? null,
      duration_ms: Math.round((performance.now() - state.startedAt) * 100) / 100,
      status,
      method: state.method,
      route: state.route ?? null,
      path_category: state.category,
    };
    if (status >= 500) logger.error('request', fields);
    else if (status >= 400) logger.warn('request', fields);
    else logger.info('request', fields);
  };
  return { after: write, onError: write };
};

/** Request metrics (count, duration, in-flight, 429s), their CloudWatch EMF twin, and the bounded-rate fleet flush. */
export const requestMetrics = (metrics: VaultMetrics, fleet: FleetMetrics, logger: Logger, cloudWatch?: CloudWatchRequestMetrics): Middleware => {
  const finish = async (request: Request) => {
    const state = stateOf(request);
    const status = request.response?.statusCode ?? 500;
    const seconds = (performance.now() - state.startedAt) / 1000;
    metrics.requestFinished(state.method, state.category, status, seconds, state.counted);
    cloudWatch?.record({ status, latencyMs: seconds * 1000 });
    if (request.error instanceof RateLimitedError) metrics.rateLimited(request.error.category);
    // At most one write per flush interval, started once the answer is on its way and never awaited: a failed,
    // hung or slow flush must not fail or hold any answer (liveness included). The first is the SDK's first call
    // in a probe-only instance, ~4 ms of synchronous work building its middleware stack.
    setImmediate(() => void flushQuietly(fleet, logger));
  };
  return { after: finish, onError: finish };
};

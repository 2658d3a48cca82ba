import { context as otelContext, type TextMapGetter } from '@opentelemetry/api';
import type middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { VaultContext } from '../http/api-app.js';
import { errorClassOf } from './error-class.js';
import { defaultTracing, markSpanFailed, traceIdFromRequestId, traceparentOf, type StartedSpan, type Tracing } from './tracing.js';
import { LAMBDA_XRAY_ENV, withXRayParent } from './xray-propagation.js';

type Middleware = middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;
type Request = middy.Request<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>;

/** The request headers tracing reads, found in one pass whatever their case. */
interface TraceHeaders {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
  'x-request-id'?: string;
}
const TRACE_HEADERS: ReadonlySet<string> = new Set(['traceparent', 'tracestate', 'baggage', 'x-request-id']);

const traceHeadersOf = (event: APIGatewayProxyEventV2): TraceHeaders => {
  const found: TraceHeaders = {};
  const headers = event.headers;
  if (!headers) return found;
  for (const key in headers) {
    const name = key.toLowerCase();
    // An exactly lower-case name wins over another spelling, as `headerOf` has it.
    if (TRACE_HEADERS.has(name) && (key === name || found[name as keyof TraceHeaders] === undefined)) found[name as keyof TraceHeaders] = headers[key];
  }
  return found;
};

const headerGetter: TextMapGetter<TraceHeaders> = {
  keys: (headers) => Object.keys(headers),
  get: (headers, key) => headers[key.toLowerCase() as keyof TraceHeaders],
};

// The request span of each invocation, keyed by its Lambda context object.
const requestSpans = new WeakMap<object, StartedSpan>();

// The runtime sets it anew for each invocation, so it is read per request, not once as configuration.
const lambdaXRayHeader = (): string | undefined => process.env[LAMBDA_XRAY_ENV];

/**
 * The SERVER span of each request, named `${method} ${route pattern}`. Continues
 * an incoming W3C traceparent; otherwise a client X-Request-ID picks the trace
 * id; otherwise it joins the Lambda service's X-Ray trace for the invocation
 * (`xrayHeader`), so X-Ray shows Lambda's segment and our spans as one trace.
 * Echoes `traceparent`, and exports the spans before the invocation returns
 * (Lambda may freeze the container right after). Use it first, so it wraps the
 * other middlewares, and wrap the handler in `withRequestSpan`.
 */
export const httpTracing = (tracing: Tracing = defaultTracing, xrayHeader: () => string | undefined = lambdaXRayHeader): Middleware => {
  if (!tracing.enabled) return { before: () => undefined };

  const finish = (request: Request): Promise<void> | undefined => {
    const started = requestSpans.get(request.context);
    if (!started) return undefined;
    requestSpans.delete(request.context);
    const { span } = started;
    const state = request.context.vault;
    const status = request.response ? (request.response.statusCode ?? 200) : 500;
    span.setAttribute('http.response.status_code', status);
    if (state) {
      span.setAttribute('scaivault.request_id', state.requestId);
      span.setAttribute('scaivault.path_category', state.category);
      if (state.tenantId) span.setAttribute('scaivault.tenant_id', state.tenantId);
      if (state.identityId) span.setAttribute('scaivault.identity_id', state.identityId);
      if (state.route) {
        // The pattern, never the raw path: secret paths are tenant data.
        span.setAttribute('http.route', state.route);
        span.updateName(`${state.method} ${state.route}`);
      }
    }
    // 4xx is the client's mistake, not a failed server span.
    if (status >= 500) markSpanFailed(span, request.error?.name || String(status), request.error ? errorClassOf(request.error) : 'io_transient');
    if (request.response) request.response.headers = { ...request.response.headers, traceparent: traceparentOf(span) };
    span.end();
    return tracing.endInvocation();
  };

  return {
    before: (request) => {
      const method = request.event.requestContext?.http?.method ?? 'GET';
      const headers = traceHeadersOf(request.event);
      // Without a traceparent or baggage there is nothing to continue: skip the propagators.
      const extracted = headers.traceparent || headers.baggage ? tracing.extract(headers, headerGetter) : otelContext.active();
      const traceId = traceIdFromRequestId(headers['x-request-id']);
      // A trace the client named wins over the one Lambda started for the invocation.
      const parent = headers.traceparent || traceId ? extracted : withXRayParent(extracted, xrayHeader());
      requestSpans.set(request.context, tracing.startServerSpan(method, parent, { 'http.request.method': method }, traceId));
    },
    after: finish,
    onError: finish,
  };
};

type ApiHandler = (event: APIGatewayProxyEventV2, context: VaultContext, opts: { signal: AbortSignal }) => Promise<APIGatewayProxyStructuredResultV2>;

/** Runs the middy handler inside its request span, so SDK and fetch spans nest under it. */
export const withRequestSpan =
  (handler: ApiHandler): ApiHandler =>
  (event, context, opts) => {
    const started = requestSpans.get(context);
    return started ? otelContext.with(started.context, () => handler(event, context, opts)) : handler(event, context, opts);
  };

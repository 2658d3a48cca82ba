import type { Attributes } from '@opentelemetry/api';
import { errorClassOfStatus } from '../observability/error-class.js';
import { defaultTracing, markSpanFailed, runInSpan, type Tracing } from '../observability/tracing.js';

/**
 * `fetch` with a CLIENT span and W3C `traceparent` injected, for outbound calls
 * (webhooks, federated backends) so receivers can continue the trace. The span
 * names the host only: webhook URLs often carry credentials in path or query.
 */
export const tracedFetch = async (
  url: string | URL,
  init: RequestInit = {},
  tracing: Tracing = defaultTracing,
  /** A span name other than the method (e.g. an ACME operation) and attributes to add; never credentials. */
  span?: { readonly name: string; readonly attributes?: Attributes },
): Promise<Response> => {
  if (!tracing.enabled) return fetch(url, init);
  const target = new URL(url);
  const method = (init.method ?? 'GET').toUpperCase();
  const attributes: Attributes = {
    'http.request.method': method,
    'server.address': target.hostname,
    'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80),
    'url.scheme': target.protocol.replace(/:$/, ''),
    ...span?.attributes,
  };
  const started = tracing.startClientSpan(span?.name ?? method, attributes);
  const { context } = started;
  const headers = new Headers(init.headers);
  tracing.inject(context, headers, { set: (carrier, key, value) => carrier.set(key, value) });
  return runInSpan(
    started,
    () => fetch(url, { ...init, headers }),
    (response) => {
      started.span.setAttribute('http.response.status_code', response.status);
      const errorClass = errorClassOfStatus(response.status);
      if (errorClass) markSpanFailed(started.span, String(response.status), errorClass);
    },
  );
};

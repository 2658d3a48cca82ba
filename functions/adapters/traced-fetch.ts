import type { Attributes } from '@opentelemetry/api';
import { errorClassOfStatus } from '../observability/error-class.js';
import { defaultTracing, markSpanFailed, runInSpan, type Tracing } from '../observability/tracing.js';

/**
 * `fetch` with a CLIENT span and W3C `traceparent` injected, for outbound calls
 * (webhooks, federated backends) so receivers can continue the trace. The span
 * names the host only: webhook URLs often carry credentials in path or query.
 */
export const tracedFetch = async (url: string | URL, init: RequestInit = {}, tracing: Tracing = defaultTracing): Promise<Response> => {
  if (!tracing.enabled) return fetch(url, init);
  const target = new URL(url);
  const method = (init.method ?? 'GET').toUpperCase();
  const attributes: Attributes = {
    'http.request.method': method,
    'server.address': target.hostname,
    'server.port': Number(target.port) || (target.protocol === 'https:' ? 443 : 80),
    'url.scheme': target.protocol.replace(/:$/, ''),
  };
  const { span, context } = tracing.startClientSpan(method, attributes);
  const headers = new Headers(init.headers);
  tracing.inject(context, headers, { set: (carrier, key, value) => carrier.set(key, value) });
  return runInSpan(
    { span, context },
    () => fetch(url, { ...init, headers }),
    (response) => {
      span.setAttribute('http.response.status_code', response.status);
      const errorClass = errorClassOfStatus(response.status);
      if (errorClass) markSpanFailed(span, String(response.status), errorClass);
    },
  );
};

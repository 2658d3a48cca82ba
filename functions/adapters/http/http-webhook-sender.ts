import { randomBytes } from 'node:crypto';
import type { Dispatcher } from 'undici';
import { defaultTracing, type Tracing } from '../../observability/tracing.js';
import { tracedFetch } from '../traced-fetch.js';
import { EgressRefusedError } from './egress-guard.js';
import type { WebhookRequest, WebhookResponse, WebhookSender } from '../../domain/ports/webhooks.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The traceparent a delivery carries when this process records no spans: the
 * event's trace continues under a new span id, or a new trace starts, so a
 * receiver can always correlate. With tracing on, tracedFetch's CLIENT span replaces it.
 */
export const outboundTraceparent = (incoming: string | undefined): string => {
  const match = incoming ? TRACEPARENT.exec(incoming) : null;
  const spanId = randomBytes(8).toString('hex');
  if (match && !/^0+$/.test(match[1] ?? '0')) return `00-${match[1]}-${spanId}-${match[3]}`;
  return `00-${randomBytes(16).toString('hex')}-${spanId}-00`;
};

/** An error class fit for the delivery history: a code or a name, never a message. */
const classify = (error: unknown): { error: string; final: boolean } => {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof EgressRefusedError) return { error: current.name, final: true };
    const named = current as { name?: string; code?: string; cause?: unknown };
    if (named.name === 'TimeoutError' || named.name === 'AbortError') return { error: 'TimeoutError', final: false };
    if (!named.cause) return { error: named.code ?? named.name ?? 'Error', final: false };
    current = named.cause;
  }
  return { error: 'Error', final: false };
};

/** POSTs deliveries through the egress-guarded dispatcher, with W3C trace context and a hard timeout. */
export class HttpWebhookSender implements WebhookSender {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly tracing: Tracing = defaultTracing,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async send(request: WebhookRequest): Promise<WebhookResponse> {
    const started = this.clock();
    const latencyMs = () => this.clock() - started;
    try {
      const response = await tracedFetch(
        request.url,
        {
          method: 'POST',
          headers: { ...request.headers, traceparent: outboundTraceparent(request.traceparent) },
          body: request.body,
          // A redirect is an answer (not 2xx), never a second destination the guard did not see.
          redirect: 'manual',
          signal: AbortSignal.timeout(request.timeoutMs),
          // Node's fetch takes an undici dispatcher; the DOM RequestInit type does not name it.
          ...({ dispatcher: this.dispatcher } as object),
        },
        this.tracing,
      );
      // The answer's body is not ours to read; release the connection.
      await response.body?.cancel().catch(() => undefined);
      return { kind: 'response', statusCode: response.status, latencyMs: latencyMs() };
    } catch (error) {
      return { kind: 'error', ...classify(error), latencyMs: latencyMs() };
    }
  }
}

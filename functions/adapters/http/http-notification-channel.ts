// Loaded on demand (a dynamic import in the composition): only a process with a
// notification URL configured bundles undici's agent into its path.
import type { Dispatcher } from 'undici';
import type { ChannelName, ChannelResponse, NotificationChannel } from '../../domain/ports/notifications.js';
import { EgressRefusedError } from './egress-guard.js';
import { retryAfterMs } from './retry-after.js';

/** Slack's documented limit for a message's `text`; a generic receiver gets a more modest one. */
export const CHANNEL_LIMITS: Record<ChannelName, number> = { slack: 40_000, json: 16_000 };

/** An error's class, never its message: a URL in a message would leak the webhook's credential. */
const errorClass = (error: unknown): string => {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth += 1) {
    if (current instanceof EgressRefusedError) return current.name;
    const named = current as { name?: string; code?: string; cause?: unknown };
    if (named.name === 'TimeoutError' || named.name === 'AbortError') return 'TimeoutError';
    if (!named.cause) return named.code ?? named.name ?? 'Error';
    current = named.cause;
  }
  return 'Error';
};

/** POSTs JSON to an incoming webhook through the egress-guarded dispatcher; the URL stays inside. */
export class HttpNotificationChannel implements NotificationChannel {
  readonly maxChars: number;

  constructor(
    readonly name: ChannelName,
    private readonly url: string,
    private readonly dispatcher: Dispatcher,
  ) {
    this.maxChars = CHANNEL_LIMITS[name];
  }

  async send(payload: string, timeoutMs: number): Promise<ChannelResponse> {
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
        ...({ dispatcher: this.dispatcher } as object),
      });
      await response.body?.cancel().catch(() => undefined);
      const retryAfter = retryAfterMs(response.headers.get('retry-after'));
      return { kind: 'response', status: response.status, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
    } catch (error) {
      return { kind: 'error', error: errorClass(error) };
    }
  }
}

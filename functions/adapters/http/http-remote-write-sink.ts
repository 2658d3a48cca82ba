// Prometheus remote write over HTTP: one POST per push, optionally signed (SigV4 for Amazon Managed Prometheus).
import type { RemoteWriteResponse, RemoteWriteSink } from '../../domain/ports/metrics.js';
import { REMOTE_WRITE_HEADERS } from '../../observability/remote-write.js';
import { tracedFetch } from '../traced-fetch.js';
import { retryAfterMs } from './retry-after.js';

export interface OutboundRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Uint8Array;
}

/** Returns the headers to send: the given ones plus the signature's. */
export type RequestSigner = (request: OutboundRequest) => Promise<Record<string, string>>;

export class HttpRemoteWriteSink implements RemoteWriteSink {
  private readonly url: URL;

  constructor(
    url: string,
    private readonly timeoutMs: number,
    private readonly sign?: RequestSigner,
  ) {
    this.url = new URL(url);
  }

  async write(body: Uint8Array): Promise<RemoteWriteResponse> {
    const request: OutboundRequest = { method: 'POST', url: this.url, headers: { ...REMOTE_WRITE_HEADERS, host: this.url.host }, body };
    const headers = this.sign ? await this.sign(request) : request.headers;
    // fetch sets Host itself and refuses to be given one.
    const { host: _host, ...sent } = headers;
    const response = await tracedFetch(this.url, { method: 'POST', headers: sent, body, signal: AbortSignal.timeout(this.timeoutMs) });
    // Drain the (small) answer so the socket returns to the pool.
    await response.arrayBuffer().catch(() => undefined);
    const hintMs = retryAfterMs(response.headers.get('retry-after'));
    return hintMs === undefined ? { status: response.status } : { status: response.status, retryAfterSeconds: hintMs / 1000 };
  }
}

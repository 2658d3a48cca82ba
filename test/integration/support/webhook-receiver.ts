import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedDelivery {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly receivedAt: number;
}

/** A webhook receiver on loopback: records every request and answers with `status` (per path if set). */
export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  /** Answer per request path; anything else gets 204. */
  readonly statusByPath = new Map<string, number>();
  /** When set, decides each answer (over `statusByPath`); sees the request before it is recorded. */
  answer: ((delivery: ReceivedDelivery) => number | undefined) | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<WebhookReceiver> {
    let receiver: WebhookReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const delivery = { path, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), receivedAt: Date.now() };
        const answer = receiver?.answer?.(delivery);
        receiver?.received.push(delivery);
        response.statusCode = answer ?? receiver?.statusByPath.get(path) ?? 204;
        response.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new WebhookReceiver(server, (server.address() as AddressInfo).port);
    return receiver;
  }

  url(path: string, host = '127.0.0.1'): string {
    return `http://${host}:${this.port}${path}`;
  }

  at(path: string): ReceivedDelivery[] {
    return this.received.filter((delivery) => delivery.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Verifies a delivery the way a receiver would, with the Standard Webhooks reference library. */
export const verifyDelivery = (secret: string, delivery: ReceivedDelivery): unknown =>
  new Webhook(secret).verify(delivery.body, {
    'webhook-id': String(delivery.headers['webhook-id'] ?? ''),
    'webhook-timestamp': String(delivery.headers['webhook-timestamp'] ?? ''),
    'webhook-signature': String(delivery.headers['webhook-signature'] ?? ''),
  });

import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of a local dependency (dynalite) that a test can make
 * slow or unreachable while the vault keeps running.
 *
 * - `delayMs`: data from the client is held this long before it is forwarded.
 *   Chunks arriving while a batch is held join that batch, so one HTTP request
 *   (headers and body may come as separate chunks) costs one delay, not two.
 *   Responses are forwarded as they come. Changing it affects the next batch
 *   on every connection, kept-alive ones included.
 * - `refuse`: new connections are reset at once and open ones are cut, as a
 *   dependency that went away would do.
 * - `holdWhen` and `holdMs`: a request whose bytes match is held `holdMs` before
 *   it is forwarded (or dropped, if the client gave up first): one slow write.
 * - `failWhen`: a partial outage. A request whose bytes match (e.g. one naming
 *   a given DynamoDB table) gets its connection reset instead of an answer;
 *   everything else passes.
 */
export class SlowProxy {
  delayMs = 0;
  /** Optional trace of what the proxy does, for debugging a test. */
  trace: ((event: string) => void) | undefined;
  failWhen: ((request: string) => boolean) | undefined;
  holdWhen: ((request: string) => boolean) | undefined;
  holdMs = 0;
  private refusing = false;
  private readonly sockets = new Set<Socket>();
  private connections = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
    readonly targetHost: string,
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<SlowProxy> {
    let proxy: SlowProxy | undefined;
    const server = createServer((client) => proxy?.accept(client));
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    proxy = new SlowProxy(server, port, targetPort, targetHost);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get refuse(): boolean {
    return this.refusing;
  }

  set refuse(value: boolean) {
    this.refusing = value;
    if (value) for (const socket of this.sockets) socket.destroy();
  }

  /** A `failWhen` predicate for DynamoDB requests on one table (JSON protocol). */
  static dynamoDbTable(tableName: string): (request: string) => boolean {
    const needle = `"TableName":${JSON.stringify(tableName)}`;
    return (request) => request.includes(needle);
  }

  /** Connections currently open through the proxy (both sides counted). */
  get openSockets(): number {
    return this.sockets.size;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.resetAndDestroy();
      return;
    }
    this.track(client);
    const upstream = connect(this.targetPort, this.targetHost);
    const id = (this.connections += 1);
    const log = (event: string) => this.trace?.(`#${id} ${event}`);
    log('open');
    this.track(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    let held: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let clientEnded = false;
    const release = () => {
      timer = undefined;
      const data = Buffer.concat(held);
      held = [];
      log(`release ${data.length}B`);
      if (data.length > 0 && !upstream.destroyed) upstream.write(data);
      if (clientEnded && !upstream.destroyed) upstream.end();
    };
    client.on('data', (chunk: Buffer) => {
      log(`request chunk ${chunk.length}B`);
      if (this.failWhen?.(chunk.toString('latin1'))) {
        log('request matched failWhen: reset');
        if (timer) clearTimeout(timer);
        held = [];
        upstream.destroy();
        client.resetAndDestroy();
        return;
      }
      if (this.holdWhen?.(chunk.toString('latin1'))) {
        log(`request matched holdWhen: held ${this.holdMs} ms`);
        held.push(chunk);
        if (timer) clearTimeout(timer);
        timer = setTimeout(release, this.holdMs);
        return;
      }
      if (this.delayMs <= 0 && !timer) {
        if (!upstream.destroyed) upstream.write(chunk);
        return;
      }
      held.push(chunk);
      timer ??= setTimeout(release, this.delayMs);
    });
    client.on('end', () => {
      clientEnded = true;
      if (!timer) upstream.end();
    });
    upstream.on('data', (chunk: Buffer) => {
      log(`response chunk ${chunk.length}B`);
      if (!client.destroyed) client.write(chunk);
    });
    upstream.on('end', () => client.end());
    const teardown = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
    };
    for (const [side, socket] of [
      ['client', client],
      ['upstream', upstream],
    ] as const) {
      socket.on('error', (error) => {
        log(`${side} error ${error.message}`);
        teardown();
      });
      socket.on('close', () => {
        log(`${side} closed`);
        teardown();
      });
    }
  }
}

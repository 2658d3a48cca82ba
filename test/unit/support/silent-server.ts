import { createServer, type Server, type Socket } from 'node:net';

/** Accepts connections and reads requests but never answers: a dependency frozen after it took the request. */
export class SilentServer {
  /** HTTP requests received (request lines seen), resends included. */
  requests = 0;
  readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on('data', (chunk: Buffer) => {
        if (/^[A-Z]+ \S+ HTTP\/1\.1/.test(chunk.toString('latin1'))) this.requests += 1;
      });
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

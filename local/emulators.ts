import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

const require = createRequire(import.meta.url);

export interface RunningEmulator {
  readonly endpoint: string;
  close(): Promise<void>;
}

const closeServer = (server: Server): Promise<void> => new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));

/** dynalite: the DynamoDB API over LevelDB on disk (in memory without a path). */
export const startDynalite = async (options: { path?: string; port?: number; host?: string }): Promise<RunningEmulator> => {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  // closeAllConnections lets close() finish although SDK clients keep sockets alive.
  return {
    endpoint: `http://${host}:${port}`,
    close: async () => {
      const closing = closeServer(server);
      server.closeAllConnections();
      await closing;
    },
  };
};

/** fauxqs: the SQS and S3 APIs, in memory, bound to loopback. */
export const startFauxqs = async (options: { port?: number; host?: string }): Promise<RunningEmulator> => {
  const { buildApp } = await import('fauxqs');
  const host = options.host ?? '127.0.0.1';
  const app = buildApp({ logger: false, host: `${host}`, defaultRegion: 'us-east-1' });
  await app.listen({ host, port: options.port ?? 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
};

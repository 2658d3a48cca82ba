import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedRequestHandler } from '../../functions/adapters/aws-clients.js';
import { DeadlineExceededError } from '../../functions/domain/errors.js';
import { withDeadline } from '../../functions/http/request-deadline.js';

describe('boundedRequestHandler', () => {
  // Accepts connections and reads requests but never answers: a frozen dependency.
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('ends a call that gets no answer at its request timeout, with a TimeoutError, and frees the socket', async () => {
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      maxAttempts: 1,
      requestHandler: boundedRequestHandler(300),
    });
    const started = performance.now();
    const error = await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } })).catch((e: unknown) => e as Error);
    const elapsed = performance.now() - started;
    client.destroy();
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('TimeoutError');
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1500);
    await new Promise((r) => setTimeout(r, 50));
    expect(sockets.size).toBe(0);
  });
});

describe('withDeadline', () => {
  const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

  it('answers what the handler answers within the deadline', async () => {
    const handler = withDeadline(1000, async (event: string) => `ok ${event}`);
    expect(await handler('a', context(10_000))).toBe('ok a');
  });

  it('fails with DeadlineExceededError at the deadline when the handler hangs', async () => {
    const handler = withDeadline(100, () => new Promise<string>(() => undefined));
    const started = performance.now();
    await expect(handler('a', context(10_000))).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('keeps inside the invocation: less time left than the deadline shortens it', async () => {
    const handler = withDeadline(10_000, () => new Promise<string>(() => undefined));
    const started = performance.now();
    // 700 ms left, 500 ms kept for the answer: 200 ms.
    await expect(handler('a', context(700))).rejects.toMatchObject({ name: 'DeadlineExceededError', deadlineMs: 200 });
    expect(performance.now() - started).toBeLessThan(600);
  });
});

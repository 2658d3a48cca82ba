import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { boundedRequestHandler } from '../../functions/adapters/aws-clients.js';
import { DeadlineExceededError } from '../../functions/domain/errors.js';
import { withDeadline } from '../../functions/http/request-deadline.js';
import { SilentServer } from './support/silent-server.js';

describe('boundedRequestHandler', () => {
  const server = new SilentServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  it('ends a call that gets no answer at its request timeout, with a TimeoutError, and frees the socket', async () => {
    const client = new DynamoDBClient({
      endpoint: server.endpoint,
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
    // Freed: the server sees the socket close (soon, but not within a fixed pause on a busy machine).
    await vi.waitFor(() => expect(server.sockets.size).toBe(0), { timeout: 5000, interval: 10 });
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

import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedRequestHandler } from '../../functions/adapters/aws-clients.js';
import { dynamoCall } from '../../functions/adapters/dynamodb/dynamodb-call.js';
import { guardWriteOutcomes, WRITE_OUTCOME_UNKNOWN } from '../../functions/adapters/dynamodb/write-outcome.js';
import { DependencyUnavailableError, OutcomeUnknownError } from '../../functions/domain/errors.js';

describe('guardWriteOutcomes', () => {
  // Reads every request and never answers: DynamoDB frozen after it took the request.
  let server: Server;
  let port = 0;
  let requests = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').startsWith('POST ')) requests += 1;
      });
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (endpoint: string) =>
    guardWriteOutcomes(
      new DynamoDBClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
        maxAttempts: 2,
        requestHandler: boundedRequestHandler(200),
      }),
    );

  it('sends a write that got no answer once, never again, and calls its outcome unknown', async () => {
    requests = 0;
    const dynamodb = client(`http://127.0.0.1:${port}`);
    const put = () => dynamodb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'k' } } }));
    await expect(put()).rejects.toMatchObject({ name: WRITE_OUTCOME_UNKNOWN });
    await expect(dynamoCall(put)).rejects.toBeInstanceOf(OutcomeUnknownError);
    dynamodb.destroy();
    expect(requests).toBe(2);
  });

  it('still retries a read, which has no effect to repeat, and calls it unavailable', async () => {
    requests = 0;
    const dynamodb = client(`http://127.0.0.1:${port}`);
    const error = await dynamoCall(() => dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }))).catch((e: unknown) => e);
    dynamodb.destroy();
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect(requests).toBe(2);
  });

  it('calls a write that could not connect unavailable: nothing was sent', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const dynamodb = client(`http://127.0.0.1:${closedPort}`);
    const error = await dynamoCall(() => dynamodb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'k' } } }))).catch((e: unknown) => e);
    dynamodb.destroy();
    expect(error).toBeInstanceOf(DependencyUnavailableError);
  });
});

import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundedRequestHandler } from '../../functions/adapters/aws-clients.js';
import { dynamoCall } from '../../functions/adapters/dynamodb/dynamodb-call.js';
import { guardWriteOutcomes, WRITE_OUTCOME_UNKNOWN } from '../../functions/adapters/dynamodb/write-outcome.js';
import { DependencyUnavailableError, OutcomeUnknownError } from '../../functions/domain/errors.js';
import { SilentServer } from './support/silent-server.js';

describe('guardWriteOutcomes', () => {
  const server = new SilentServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

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
    server.requests = 0;
    const dynamodb = client(server.endpoint);
    const put = () => dynamodb.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'k' } } }));
    await expect(put()).rejects.toMatchObject({ name: WRITE_OUTCOME_UNKNOWN });
    await expect(dynamoCall(put)).rejects.toBeInstanceOf(OutcomeUnknownError);
    dynamodb.destroy();
    expect(server.requests).toBe(2);
  });

  it('still retries a read, which has no effect to repeat, and calls it unavailable', async () => {
    server.requests = 0;
    const dynamodb = client(server.endpoint);
    const error = await dynamoCall(() => dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'k' } } }))).catch((e: unknown) => e);
    dynamodb.destroy();
    expect(error).toBeInstanceOf(DependencyUnavailableError);
    expect(error).not.toBeInstanceOf(OutcomeUnknownError);
    expect(server.requests).toBe(2);
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

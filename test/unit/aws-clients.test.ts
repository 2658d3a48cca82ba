import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { dynamoDbClient, observeLatency } from '../../functions/adapters/aws-clients.js';

const hasLogger = (client: DynamoDBClient): boolean => client.middlewareStack.identify().some((name) => name.startsWith('loggerMiddleware'));

describe('the AWS clients the vault makes', () => {
  it("leave out the SDK's logger middleware, which walks every input and output for a logger that discards them", () => {
    const plain = new DynamoDBClient({ region: 'eu-west-1' });
    expect(hasLogger(plain)).toBe(true);
    plain.destroy();
    const vaults = dynamoDbClient({ timeoutMs: 1000, s3ForcePathStyle: false });
    expect(hasLogger(vaults)).toBe(false);
    expect(vaults.middlewareStack.identify().some((name) => name.startsWith('scaivaultUsage'))).toBe(true);
  });

  it('reports latency to the observer given last, on a client that caches its resolved middleware', async () => {
    const answered = { handle: async () => ({ response: { statusCode: 200, headers: {}, body: Readable.from([Buffer.from('{}')]) } }) };
    const client = new DynamoDBClient({
      region: 'eu-west-1',
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      cacheMiddleware: true,
      requestHandler: answered,
    });
    const first: number[] = [];
    const second: number[] = [];
    observeLatency(client, 'testLatency', (seconds) => first.push(seconds));
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    observeLatency(client, 'testLatency', (seconds) => second.push(seconds));
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    expect([first.length, second.length]).toEqual([1, 1]);
    expect(client.middlewareStack.identify().filter((name) => name.startsWith('testLatency'))).toHaveLength(1);
    client.destroy();
  });
});

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoDbClient } from '../../functions/adapters/aws-clients.js';

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
});

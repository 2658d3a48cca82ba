// The cold-start floor: the least a vault function does at init (construct its
// DynamoDB client) and the least it answers (liveness). Built exactly as the
// real functions are (scripts/build.ts), so the api bundle's cold start is
// compared with what any Lambda that talks to DynamoDB pays.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

const client = new DynamoDBClient({});

export const handler = async (): Promise<{ statusCode: number; headers: Record<string, string>; body: string }> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ status: 'ok', region: await client.config.region() }),
});

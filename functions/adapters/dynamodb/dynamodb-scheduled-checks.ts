import { GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ScheduledChecks, ScheduledChecksStore } from '../../domain/ports/health.js';
import { dynamoCall } from './dynamodb-call.js';

// The scheduler's latest dependency checks, one item in the state table: HEALTH / CHECKS#scheduler.
const KEY = { pk: 'HEALTH', sk: 'CHECKS#scheduler' };

export class DynamoDbScheduledChecks implements ScheduledChecksStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async save(checks: ScheduledChecks): Promise<void> {
    const item = { ...KEY, checkedAt: checks.checkedAt, ready: checks.ready, checks: JSON.stringify(checks.checks) };
    await dynamoCall(() => this.client.send(new PutItemCommand({ TableName: this.table, Item: marshall(item) })));
  }

  async load(): Promise<ScheduledChecks | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.table, Key: marshall(KEY) })));
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item) as { checkedAt: string; ready: boolean; checks: string };
    return { checkedAt: item.checkedAt, ready: item.ready, checks: JSON.parse(item.checks) as ScheduledChecks['checks'] };
  }
}

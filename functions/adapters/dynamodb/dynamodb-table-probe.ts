import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DependencyProbe } from '../../domain/ports.js';

/** Readiness of the state table: a point read succeeds (DescribeTable needs broader IAM). */
export class DynamoDbTableProbe implements DependencyProbe {
  readonly name = 'dynamodb';

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async check(): Promise<void> {
    await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: 'HEALTH' }, sk: { S: 'HEALTH' } } }));
  }
}

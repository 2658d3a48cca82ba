import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DependencyProbe } from '../../domain/ports/health.js';

/** Readiness of a table: a point read succeeds (DescribeTable needs broader IAM). */
export class DynamoDbTableProbe implements DependencyProbe {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    readonly name = 'dynamodb',
  ) {}

  async check(): Promise<void> {
    await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { pk: { S: 'HEALTH' }, sk: { S: 'HEALTH' } } }));
  }
}

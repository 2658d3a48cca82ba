import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { NotificationBudget } from '../../domain/ports/notifications.js';

/**
 * One counter item per hour window (pk `NOTIFY#<yyyy-mm-ddThh>`), raised by a
 * single conditional update: the count rises only while it is below the limit,
 * so every instance of the fleet shares one budget and none can overspend it.
 */
export class DynamoDbNotificationBudget implements NotificationBudget {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async take(windowKey: string, max: number): Promise<boolean> {
    if (max <= 0) return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: `NOTIFY#${windowKey}`, sk: 'COUNT' }),
          UpdateExpression: 'ADD #sent :one SET #ttl = if_not_exists(#ttl, :ttl)',
          ConditionExpression: 'attribute_not_exists(#sent) OR #sent < :max',
          ExpressionAttributeNames: { '#sent': 'sent', '#ttl': 'ttl' },
          // Tidied a day after its hour; the hour in the key decides, not the TTL.
          ExpressionAttributeValues: marshall({ ':one': 1, ':max': max, ':ttl': Math.ceil(this.now() / 1000) + 90_000 }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}

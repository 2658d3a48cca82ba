import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoCall } from './dynamodb-call.js';
import { ROTATION_DUE_PK } from './dynamodb-secret-repository.js';
import type { DueRotation, RotationSchedule } from '../../domain/ports/rotation.js';

/** Due rotations straight from the index on next-due time: never a table scan. */
export class DynamoDbRotationSchedule implements RotationSchedule {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async due(beforeIso: string, limit: number): Promise<DueRotation[]> {
    const result = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk < :before',
          ExpressionAttributeValues: marshall({ ':pk': ROTATION_DUE_PK, ':before': beforeIso }),
          ProjectionExpression: 'tenantId, #path, #version, deletedAt',
          ExpressionAttributeNames: { '#path': 'path', '#version': 'version' },
          ScanIndexForward: true,
          Limit: limit,
        }),
      ),
    );
    return (result.Items ?? [])
      .map((item) => unmarshall(item))
      .filter((item) => !item.deletedAt)
      .map((item) => ({ tenantId: item.tenantId as string, path: item.path as string, version: item.version as number }));
  }
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { gsi1Before } from './dynamodb-call.js';
import { ROTATION_DUE_PK } from './dynamodb-secret-repository.js';
import type { DueRotation, RotationSchedule } from '../../domain/ports/rotation.js';

/** Due rotations straight from the index on next-due time: never a table scan. */
export class DynamoDbRotationSchedule implements RotationSchedule {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async due(beforeIso: string, limit: number): Promise<DueRotation[]> {
    const items = await gsi1Before(
      this.client,
      {
        TableName: this.tableName,
        Limit: limit,
        ProjectionExpression: 'tenantId, #path, #version, deletedAt',
        ExpressionAttributeNames: { '#path': 'path', '#version': 'version' },
      },
      ROTATION_DUE_PK,
      beforeIso,
    );
    return items
      .filter((item) => !item.deletedAt)
      .map((item) => ({ tenantId: item.tenantId as string, path: item.path as string, version: item.version as number }));
  }
}

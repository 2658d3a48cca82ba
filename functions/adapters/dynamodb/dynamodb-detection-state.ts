import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { DetectionState } from '../../domain/audit/detections.js';
import { ConflictError } from '../../domain/errors.js';
import { dynamoCall } from './dynamodb-call.js';

// What the audit detections remember, in the state table (the audit table is write-once):
//   AUDITREAD#<tenant> / <path>                 when the secret was last read
//   AUDITREADER#<tenant>#<path> / <identity>    who has read a sensitive path

export class DynamoDbDetectionState implements DetectionState {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async swapLastRead(tenantId: string, path: string, at: number): Promise<number | undefined> {
    const result = await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: marshall({ pk: `AUDITREAD#${tenantId}`, sk: path }),
          UpdateExpression: 'SET #at = :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: marshall({ ':at': at }),
          ReturnValues: 'UPDATED_OLD',
        }),
      ),
    );
    const previous = result.Attributes?.at?.N;
    return previous === undefined ? undefined : Number(previous);
  }

  async markReader(tenantId: string, path: string, identityId: string): Promise<boolean> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: marshall({ pk: `AUDITREADER#${tenantId}#${path}`, sk: identityId, at: Date.now() }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }
}

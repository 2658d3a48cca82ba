import { UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { dynamoCall, putIfAbsent } from './dynamodb-call.js';
import type { DetectionState } from '../../domain/ports/audit.js';

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

  markReader(tenantId: string, path: string, identityId: string): Promise<boolean> {
    return putIfAbsent(this.client, this.table, { pk: `AUDITREADER#${tenantId}#${path}`, sk: identityId, at: Date.now() });
  }
}

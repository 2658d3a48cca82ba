import { GetItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import { RotationStepError } from '../../domain/rotation/rotator.js';
import { dynamoCall, itemToSealed } from './dynamodb-call.js';
import type { PendingRotation, RotationOutcome, RotationRepository } from '../../domain/ports/rotation.js';

// One item per rotated secret (pk T#<tenant>#ROTATIONS, sk <path>): the pending
// value of a rotation in progress, sealed, and the last rotation's outcome.

const key = (tenantId: string, path: string) => marshall({ pk: `T#${tenantId}#ROTATIONS`, sk: path });

export class DynamoDbRotationRepository implements RotationRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getPending(tenantId: string, path: string): Promise<PendingRotation | undefined> {
    const item = await this.get(tenantId, path);
    if (!item?.pendingJobId) return undefined;
    return {
      tenantId,
      path,
      jobId: item.pendingJobId as string,
      baseVersion: item.baseVersion as number,
      pending: itemToSealed(item),
      stage: item.stage as PendingRotation['stage'],
      startedAt: item.startedAt as string,
    };
  }

  async putPending(pending: PendingRotation, replacing?: string): Promise<void> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key(pending.tenantId, pending.path),
            UpdateExpression: 'SET pendingJobId = :job, baseVersion = :base, keyId = :keyId, iv = :iv, ct = :ct, stage = :stage, startedAt = :at',
            ConditionExpression: 'attribute_not_exists(pendingJobId) OR pendingJobId = :job OR pendingJobId = :replacing',
            ExpressionAttributeValues: marshall({
              ':job': pending.jobId,
              ':replacing': replacing ?? pending.jobId,
              ':base': pending.baseVersion,
              ':keyId': pending.pending.keyId,
              ':iv': pending.pending.iv,
              ':ct': pending.pending.ciphertext,
              ':stage': pending.stage,
              ':at': pending.startedAt,
            }),
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConflictError) throw new RotationStepError('create', 'another rotation of this secret is in progress');
      throw error;
    }
  }

  async setStage(tenantId: string, path: string, jobId: string, stage: PendingRotation['stage']): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: key(tenantId, path),
          UpdateExpression: 'SET stage = :stage',
          ConditionExpression: 'pendingJobId = :job',
          ExpressionAttributeValues: marshall({ ':stage': stage, ':job': jobId }),
        }),
      ),
    );
  }

  async finish(tenantId: string, path: string, outcome: RotationOutcome): Promise<void> {
    const last = marshall({ ':last': outcome, ':job': outcome.jobId }, { removeUndefinedValues: true });
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key(tenantId, path),
            UpdateExpression: 'SET #last = :last REMOVE pendingJobId, baseVersion, keyId, iv, ct, stage, startedAt',
            ConditionExpression: 'attribute_not_exists(pendingJobId) OR pendingJobId = :job',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: last,
          }),
        ),
      );
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Another job's pending value is in place: only record this job's outcome.
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: key(tenantId, path),
            UpdateExpression: 'SET #last = :last',
            ExpressionAttributeNames: { '#last': 'last' },
            ExpressionAttributeValues: marshall({ ':last': outcome }, { removeUndefinedValues: true }),
          }),
        ),
      );
    }
  }

  async lastOutcome(tenantId: string, path: string): Promise<RotationOutcome | undefined> {
    return (await this.get(tenantId, path))?.last as RotationOutcome | undefined;
  }

  private async get(tenantId: string, path: string): Promise<Record<string, unknown> | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key(tenantId, path), ConsistentRead: true })));
    return result.Item ? unmarshall(result.Item) : undefined;
  }
}

import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import type { SealedValue } from '../../domain/ports/secrets.js';
import type { IdempotencyRecord, IdempotencyStore } from '../../domain/ports/idempotency.js';
import { dynamoCall, itemToSealed, sealedToItem } from './dynamodb-call.js';

const keyOf = (tenantId: string, id: string) => marshall({ pk: `IDEM#${tenantId}`, sk: id });

/** Idempotency keys in the state table, one item per (tenant, identity, key) digest; TTL only tidies. */
export class DynamoDbIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(record: IdempotencyRecord, nowMs: number): Promise<IdempotencyRecord | undefined> {
    const item = {
      pk: `IDEM#${record.tenantId}`,
      sk: record.id,
      fingerprint: record.fingerprint,
      status: record.status,
      leaseUntil: record.leaseUntil,
      expiresAt: record.expiresAt,
      ttl: Math.ceil(record.expiresAt / 1000),
    };
    try {
      await dynamoCall(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(item),
            // An expired record is checked in code, never left to TTL's eventual deletion.
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now',
            ExpressionAttributeValues: marshall({ ':now': nowMs }),
          }),
        ),
      );
      return undefined;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
    }
    const found = await dynamoCall(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: keyOf(record.tenantId, record.id), ConsistentRead: true })),
    );
    // Gone between the two calls (released): whoever claims next runs the request.
    if (!found.Item) throw new ConflictError('a request with this Idempotency-Key is still in progress; retry when it has finished');
    const stored = unmarshall(found.Item);
    return {
      tenantId: record.tenantId,
      id: record.id,
      fingerprint: stored.fingerprint as string,
      status: stored.status as IdempotencyRecord['status'],
      leaseUntil: stored.leaseUntil as number,
      expiresAt: stored.expiresAt as number,
      response: stored.response ? itemToSealed(stored.response as Record<string, unknown>) : undefined,
    };
  }

  async complete(tenantId: string, id: string, fingerprint: string, response: SealedValue): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(tenantId, id),
          UpdateExpression: 'SET #status = :completed, #response = :response',
          ConditionExpression: '#status = :progress AND fingerprint = :fingerprint',
          ExpressionAttributeNames: { '#status': 'status', '#response': 'response' },
          ExpressionAttributeValues: marshall({
            ':completed': 'completed',
            ':progress': 'in_progress',
            ':fingerprint': fingerprint,
            ':response': sealedToItem(response),
          }),
        }),
      ),
    );
  }

  async settleUnknown(tenantId: string, id: string, fingerprint: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: keyOf(tenantId, id),
          UpdateExpression: 'SET #status = :unknown',
          ConditionExpression: '#status = :progress AND fingerprint = :fingerprint',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':unknown': 'unknown', ':progress': 'in_progress', ':fingerprint': fingerprint }),
        }),
      ),
    );
  }

  async release(tenantId: string, id: string, fingerprint: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: keyOf(tenantId, id),
          ConditionExpression: '#status = :progress AND fingerprint = :fingerprint',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({ ':progress': 'in_progress', ':fingerprint': fingerprint }),
        }),
      ),
    );
  }
}

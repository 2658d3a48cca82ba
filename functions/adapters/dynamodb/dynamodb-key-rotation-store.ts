import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import type { DataKeyRecord, DataKeyState, KeyRotation, KeyRotationStore } from '../../domain/ports/keys.js';
import { dynamoCall, queryAll } from './dynamodb-call.js';

// Layout in the state table:
// - a tenant's latest rotation: pk T#<tenant>#KEYROTATION, sk LATEST, indexed in gsi1 under
//   KEYROTATIONS so the scheduler and the gauges read every tenant's with one query;
// - data keys (written by DynamoDbAuthRepository): pk T#<tenant>#DATAKEYS, sk <key id>, gaining `state`;
// - the tenant record's `activeKeyId`, switched with a condition on its old value.

const rotationKey = (tenantId: string) => ({ pk: `T#${tenantId}#KEYROTATION`, sk: 'LATEST' });
const ROTATIONS_PK = 'KEYROTATIONS';

const strip = (item: Record<string, unknown>): KeyRotation => {
  const { pk: _pk, sk: _sk, gsi1pk: _g, gsi1sk: _s, ...rest } = item;
  return rest as unknown as KeyRotation;
};

export class DynamoDbKeyRotationStore implements KeyRotationStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(tenantId: string): Promise<KeyRotation | undefined> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND sk = :sk',
      ExpressionAttributeValues: marshall({ ':pk': rotationKey(tenantId).pk, ':sk': 'LATEST' }),
      ConsistentRead: true,
    });
    return items[0] ? strip(items[0]) : undefined;
  }

  async list(): Promise<KeyRotation[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': ROTATIONS_PK }),
    });
    return items.map(strip);
  }

  async save(rotation: KeyRotation, expectedRevision: number | undefined): Promise<boolean> {
    const item = { ...rotationKey(rotation.tenantId), gsi1pk: ROTATIONS_PK, gsi1sk: rotation.tenantId, ...rotation };
    try {
      await dynamoCall(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(item, { removeUndefinedValues: true }),
            // A new rotation replaces none, or a finished one it read; a batch, the revision it read.
            ConditionExpression: expectedRevision === undefined ? 'attribute_not_exists(pk)' : '#revision = :expected',
            ExpressionAttributeNames: expectedRevision === undefined ? undefined : { '#revision': 'revision' },
            ExpressionAttributeValues: expectedRevision === undefined ? undefined : marshall({ ':expected': expectedRevision }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async listDataKeys(tenantId: string): Promise<DataKeyRecord[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': `T#${tenantId}#DATAKEYS` }),
      // The wrapped key stays in the table: a listing never needs it.
      ProjectionExpression: 'tenantId, keyId, provider, createdAt, #state, retiredAt',
      ExpressionAttributeNames: { '#state': 'state' },
      ConsistentRead: true,
    });
    return items.map((item) => ({ ...(item as unknown as DataKeyRecord), wrapped: new Uint8Array() }));
  }

  async setDataKeyState(tenantId: string, keyId: string, state: DataKeyState, at: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: `T#${tenantId}#DATAKEYS`, sk: keyId }),
          UpdateExpression: state === 'retired' ? 'SET #state = :state, retiredAt = :at' : 'SET #state = :state',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall(state === 'retired' ? { ':state': state, ':at': at } : { ':state': state }),
        }),
      ),
    );
  }

  async setActiveKey(tenantId: string, keyId: string, expectedKeyId: string): Promise<boolean> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: `TENANT#${tenantId}`, sk: 'TENANT' }),
            UpdateExpression: 'SET activeKeyId = :key',
            ConditionExpression: 'activeKeyId = :expected',
            ExpressionAttributeValues: marshall({ ':key': keyId, ':expected': expectedKeyId }),
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

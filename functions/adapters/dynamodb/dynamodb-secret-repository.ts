import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { DependencyUnavailableError, ValidationError } from '../../domain/errors.js';
import { dynamoCall, itemToSealed, queryAll, sealedToItem } from './dynamodb-call.js';
import type { Page, RotationSettings, SecretHead, SecretRepository, SecretVersionRecord } from '../../domain/ports/secrets.js';

// Layout: the head item (pk T#<tenant>#SECRETS, sk <path>) holds the current
// version in full; earlier versions live under pk T#<tenant>#V#<path> with the
// zero-padded version as sk. Listing is a prefix query over one tenant's heads.

const headKey = (tenantId: string, path: string) => ({ pk: `T#${tenantId}#SECRETS`, sk: path });
const historyPk = (tenantId: string, path: string) => `T#${tenantId}#V#${path}`;
const versionSk = (version: number) => String(version).padStart(10, '0');

type Item = Record<string, unknown>;

const versionToItem = (record: SecretVersionRecord): Item => ({
  tenantId: record.tenantId,
  path: record.path,
  version: record.version,
  type: record.type,
  metadata: record.metadata,
  ...sealedToItem(record.sealed),
  createdAt: record.createdAt,
  createdBy: record.createdBy,
});

const itemToVersion = (item: Item): SecretVersionRecord => ({
  tenantId: item.tenantId as string,
  path: item.path as string,
  version: item.version as number,
  type: item.type as string,
  metadata: (item.metadata as Record<string, string> | undefined) ?? {},
  sealed: itemToSealed(item),
  createdAt: item.createdAt as string,
  createdBy: item.createdBy as string,
});

const itemToHead = (item: Item): SecretHead => ({
  ...itemToVersion(item),
  firstCreatedAt: item.firstCreatedAt as string,
  deletedAt: (item.deletedAt as string | undefined) ?? null,
  rotation: (item.rotation as RotationSettings | undefined) ?? null,
});

/** Secrets with a rotation schedule sit in gsi1 under ROTATION_DUE, sorted by when the next rotation is due. */
export const ROTATION_DUE_PK = 'ROTATION_DUE';
const rotationDueIndex = (head: SecretHead): Item => {
  const due = new Date(Date.parse(head.createdAt) + (head.rotation?.intervalDays ?? 0) * 24 * 3600 * 1000).toISOString();
  return { gsi1pk: ROTATION_DUE_PK, gsi1sk: `${due}#${head.tenantId}#${head.path}` };
};

const encodeCursor = (key: Record<string, AttributeValue>): string => Buffer.from(JSON.stringify(unmarshall(key))).toString('base64url');

export class DynamoDbSecretRepository implements SecretRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async getHead(tenantId: string, path: string): Promise<SecretHead | undefined> {
    const result = await dynamoCall(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(headKey(tenantId, path)), ConsistentRead: true })),
    );
    return result.Item ? itemToHead(unmarshall(result.Item)) : undefined;
  }

  async getVersion(tenantId: string, path: string, version: number): Promise<SecretVersionRecord | undefined> {
    const key = { pk: historyPk(tenantId, path), sk: versionSk(version) };
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true })));
    return result.Item ? itemToVersion(unmarshall(result.Item)) : undefined;
  }

  async commit(next: SecretHead, previous: SecretHead | undefined): Promise<void> {
    if (previous) {
      // Version content is immutable, so re-writing a history copy is harmless.
      const history = { pk: historyPk(previous.tenantId, previous.path), sk: versionSk(previous.version), ...versionToItem(previous) };
      await dynamoCall(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(history, { removeUndefinedValues: true }) })));
    }
    const head: Item = {
      ...headKey(next.tenantId, next.path),
      ...versionToItem(next),
      firstCreatedAt: next.firstCreatedAt,
      ...(next.rotation ? { rotation: next.rotation, ...rotationDueIndex(next) } : {}),
    };
    await dynamoCall(
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(head, { removeUndefinedValues: true }),
            ConditionExpression: previous ? '#version = :expected' : 'attribute_not_exists(pk)',
            ExpressionAttributeNames: previous ? { '#version': 'version' } : undefined,
            ExpressionAttributeValues: previous ? marshall({ ':expected': previous.version }) : undefined,
          }),
        ),
      `secret ${next.path} changed concurrently`,
    );
  }

  async markDeleted(tenantId: string, path: string, expectedVersion: number, deletedAt: string | null): Promise<void> {
    await dynamoCall(
      () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall(headKey(tenantId, path)),
            UpdateExpression: deletedAt ? 'SET deletedAt = :deletedAt' : 'REMOVE deletedAt',
            ConditionExpression: '#version = :expected',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: marshall(deletedAt ? { ':expected': expectedVersion, ':deletedAt': deletedAt } : { ':expected': expectedVersion }),
          }),
        ),
      `secret ${path} changed concurrently`,
    );
  }

  async listHeads(tenantId: string, prefix: string, limit: number, cursor: string | undefined): Promise<Page<SecretHead>> {
    const pk = headKey(tenantId, '').pk;
    const startKey = cursor ? decodeCursor(cursor, pk, prefix) : undefined;
    const result = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: prefix ? 'pk = :pk AND begins_with(sk, :prefix)' : 'pk = :pk',
          ExpressionAttributeValues: marshall(prefix ? { ':pk': pk, ':prefix': prefix } : { ':pk': pk }),
          // Values stay in the table: a listing never reads ciphertext.
          ProjectionExpression: 'tenantId, #path, #version, #type, metadata, createdAt, createdBy, firstCreatedAt, deletedAt, rotation, keyId',
          ExpressionAttributeNames: { '#path': 'path', '#version': 'version', '#type': 'type' },
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      ),
    );
    const items = (result.Items ?? []).map((item) => {
      const plain = unmarshall(item);
      return itemToHead({ ...plain, iv: new Uint8Array(), ct: new Uint8Array() });
    });
    return { items, nextCursor: result.LastEvaluatedKey ? encodeCursor(result.LastEvaluatedKey) : undefined };
  }

  async listHistory(tenantId: string, path: string): Promise<readonly SecretVersionRecord[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': historyPk(tenantId, path) }),
      ProjectionExpression: 'tenantId, #path, #version, #type, createdAt, createdBy, keyId',
      ExpressionAttributeNames: { '#path': 'path', '#version': 'version', '#type': 'type' },
    });
    return items.map((item) => itemToVersion({ ...item, iv: new Uint8Array(), ct: new Uint8Array() }));
  }

  async destroy(tenantId: string, path: string): Promise<void> {
    // History first: if this stops halfway the head still exists and a retry finishes the job.
    const pk = historyPk(tenantId, path);
    const history = await this.listHistory(tenantId, path);
    for (let index = 0; index < history.length; index += 25) {
      let requests = history.slice(index, index + 25).map((record) => ({
        DeleteRequest: { Key: marshall({ pk, sk: versionSk(record.version) }) },
      }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt === 5) throw new DependencyUnavailableError('dynamodb');
        const result = await dynamoCall(() => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } })));
        requests = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
    await dynamoCall(() => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall(headKey(tenantId, path)) })));
  }

  async countLive(tenantId: string): Promise<number> {
    const { count } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: 'attribute_not_exists(deletedAt)',
      ExpressionAttributeValues: marshall({ ':pk': headKey(tenantId, '').pk }),
      Select: 'COUNT',
    });
    return count;
  }
}

const decodeCursor = (cursor: string, pk: string, prefix: string): Record<string, AttributeValue> => {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ValidationError('cursor is invalid', 'cursor');
  }
  // A cursor can only continue the same listing: never another tenant's partition.
  const candidate = key as { pk?: unknown; sk?: unknown };
  if (
    typeof key !== 'object' ||
    key === null ||
    Object.keys(key).length !== 2 ||
    candidate.pk !== pk ||
    typeof candidate.sk !== 'string' ||
    !candidate.sk.startsWith(prefix)
  ) {
    throw new ValidationError('cursor is invalid', 'cursor');
  }
  return marshall({ pk: candidate.pk, sk: candidate.sk });
};

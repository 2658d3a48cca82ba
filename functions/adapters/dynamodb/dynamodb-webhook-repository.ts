import { DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError, ValidationError } from '../../domain/errors.js';
import type { EventType } from '../../domain/events/events.js';
import type { AttemptOutcome, DeliveryAttempt, SealedSigningSecret, WebhookSubscription } from '../../domain/webhooks/webhooks.js';
import { dynamoCall, itemToSealed, queryAll, sealedToItem } from './dynamodb-call.js';
import { decodeSortKeyCursor, encodeSortKeyCursor } from './sort-key-cursor.js';
import type { Page } from '../../domain/ports/secrets.js';
import type { WebhookRepository } from '../../domain/ports/webhooks.js';

// Layout in the state table:
// - subscription: pk T#<tenant>#WEBHOOKS, sk <webhook id>; signing secrets sealed in a list;
// - delivery attempt: pk T#<tenant>#WHD#<webhook id>, sk <ISO time>#<job id>#<attempt>, kept 30 days;
// - delivery lease: pk WHLEASE#<job id>, sk LEASE, tidied by TTL once expired.

const subscriptionsPk = (tenantId: string) => `T#${tenantId}#WEBHOOKS`;
const attemptsPk = (tenantId: string, webhookId: string) => `T#${tenantId}#WHD#${webhookId}`;
const leaseKey = (jobId: string) => ({ pk: `WHLEASE#${jobId}`, sk: 'LEASE' });
const ATTEMPT_RETENTION_SECONDS = 30 * 24 * 3600;

type Item = Record<string, unknown>;

const secretToItem = (secret: SealedSigningSecret): Item => ({
  version: secret.version,
  ...sealedToItem(secret.sealed),
  createdAt: secret.createdAt,
  expiresAt: secret.expiresAt,
});

const itemToSecret = (item: Item): SealedSigningSecret => ({
  version: item.version as number,
  sealed: itemToSealed(item),
  createdAt: item.createdAt as string,
  expiresAt: (item.expiresAt as string | null | undefined) ?? null,
});

const itemToSubscription = (item: Item): WebhookSubscription => ({
  tenantId: item.tenantId as string,
  webhookId: item.webhookId as string,
  url: item.url as string,
  eventTypes: item.eventTypes as EventType[],
  description: (item.description as string | undefined) ?? '',
  createdAt: item.createdAt as string,
  createdBy: item.createdBy as string,
  secretVersion: item.secretVersion as number,
  secrets: ((item.secrets as Item[] | undefined) ?? []).map(itemToSecret),
});

const itemToAttempt = (item: Item): DeliveryAttempt => ({
  tenantId: item.tenantId as string,
  webhookId: item.webhookId as string,
  jobId: item.jobId as string,
  eventType: item.eventType as string,
  attempt: item.attempt as number,
  attemptedAt: item.attemptedAt as string,
  statusCode: (item.statusCode as number | null | undefined) ?? null,
  error: (item.error as string | null | undefined) ?? null,
  latencyMs: item.latencyMs as number,
  outcome: item.outcome as AttemptOutcome,
  retryInMs: (item.retryInMs as number | null | undefined) ?? null,
});

export class DynamoDbWebhookRepository implements WebhookRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(subscription: WebhookSubscription): Promise<void> {
    const item = {
      pk: subscriptionsPk(subscription.tenantId),
      sk: subscription.webhookId,
      tenantId: subscription.tenantId,
      webhookId: subscription.webhookId,
      url: subscription.url,
      eventTypes: [...subscription.eventTypes],
      description: subscription.description,
      createdAt: subscription.createdAt,
      createdBy: subscription.createdBy,
      secretVersion: subscription.secretVersion,
      secrets: subscription.secrets.map(secretToItem),
    };
    await dynamoCall(
      () => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(item), ConditionExpression: 'attribute_not_exists(pk)' })),
      `webhook ${subscription.webhookId} already exists`,
    );
  }

  async get(tenantId: string, webhookId: string): Promise<WebhookSubscription | undefined> {
    const result = await dynamoCall(() =>
      this.client.send(
        new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk: subscriptionsPk(tenantId), sk: webhookId }), ConsistentRead: true }),
      ),
    );
    return result.Item ? itemToSubscription(unmarshall(result.Item)) : undefined;
  }

  async list(tenantId: string): Promise<WebhookSubscription[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': subscriptionsPk(tenantId) }),
      ConsistentRead: true,
    });
    return items.map(itemToSubscription);
  }

  async delete(tenantId: string, webhookId: string): Promise<boolean> {
    const result = await dynamoCall(() =>
      this.client.send(
        new DeleteItemCommand({ TableName: this.tableName, Key: marshall({ pk: subscriptionsPk(tenantId), sk: webhookId }), ReturnValues: 'ALL_OLD' }),
      ),
    );
    return result.Attributes !== undefined;
  }

  async replaceSecrets(tenantId: string, webhookId: string, expectedVersion: number, secrets: readonly SealedSigningSecret[]): Promise<void> {
    const version = secrets[0]?.version;
    if (version === undefined) throw new ValidationError('a webhook needs a signing secret');
    await dynamoCall(
      () =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: subscriptionsPk(tenantId), sk: webhookId }),
            UpdateExpression: 'SET secrets = :secrets, secretVersion = :version',
            ConditionExpression: 'attribute_exists(pk) AND secretVersion = :expected',
            ExpressionAttributeValues: marshall({ ':secrets': secrets.map(secretToItem), ':version': version, ':expected': expectedVersion }),
          }),
        ),
      `webhook ${webhookId} changed concurrently; retry the rotation`,
    );
  }

  async recordAttempt(attempt: DeliveryAttempt): Promise<void> {
    const item = {
      pk: attemptsPk(attempt.tenantId, attempt.webhookId),
      sk: `${attempt.attemptedAt}#${attempt.jobId}#${String(attempt.attempt).padStart(4, '0')}`,
      ...attempt,
      ttl: Math.ceil(Date.parse(attempt.attemptedAt) / 1000) + ATTEMPT_RETENTION_SECONDS,
    };
    await dynamoCall(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(item) })));
  }

  async listAttempts(tenantId: string, webhookId: string, limit: number, cursor: string | undefined): Promise<Page<DeliveryAttempt>> {
    const pk = attemptsPk(tenantId, webhookId);
    const result = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: marshall({ ':pk': pk }),
          ScanIndexForward: false,
          Limit: limit,
          ExclusiveStartKey: cursor === undefined ? undefined : marshall({ pk, sk: decodeSortKeyCursor(cursor, (sk) => ATTEMPT_KEY.test(sk)) }),
        }),
      ),
    );
    const sk = result.LastEvaluatedKey ? (unmarshall(result.LastEvaluatedKey).sk as string) : undefined;
    return {
      items: (result.Items ?? []).map((item) => itemToAttempt(unmarshall(item))),
      nextCursor: sk === undefined ? undefined : encodeSortKeyCursor(sk),
    };
  }

  async claimDelivery(jobId: string, holder: string, nowMs: number, leaseMs: number): Promise<boolean> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall({ ...leaseKey(jobId), holder, leaseUntil: nowMs + leaseMs, ttl: Math.ceil((nowMs + leaseMs) / 1000) + 3600 }),
            ConditionExpression: 'attribute_not_exists(pk) OR leaseUntil < :now',
            ExpressionAttributeValues: marshall({ ':now': nowMs }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async releaseDelivery(jobId: string, holder: string): Promise<void> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new DeleteItemCommand({
            TableName: this.tableName,
            Key: marshall(leaseKey(jobId)),
            ConditionExpression: 'holder = :holder',
            ExpressionAttributeValues: marshall({ ':holder': holder }),
          }),
        ),
      );
    } catch (error) {
      // Someone took over an expired lease: theirs stands.
      if (!(error instanceof ConflictError)) throw error;
    }
  }
}

/** A delivery attempt's sort key: `<time>#<job id>#<attempt>`. */
const ATTEMPT_KEY = /^\d{4}-\d\d-\d\dT[\d:.]+Z#[a-z]+_[A-Za-z0-9_-]+#\d{4}$/;

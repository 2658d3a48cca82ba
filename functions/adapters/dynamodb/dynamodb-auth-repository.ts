import { GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamoCall, queryAll } from './dynamodb-call.js';
import { tokenExpiryKeys } from './dynamodb-token-expiry-index.js';
import type { AuthRepository, Identity, Policy, Tenant, TokenRecord } from '../../domain/ports/auth.js';
import type { DataKeyRecord } from '../../domain/ports/keys.js';

const tenantKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' });
const identityKey = (tenantId: string, identityId: string) => ({ pk: `T#${tenantId}#IDENTITIES`, sk: identityId });
const tokenKey = (tokenHash: string) => ({ pk: `TOKEN#${tokenHash}`, sk: 'TOKEN' });
const policyKey = (tenantId: string, name: string) => ({ pk: `T#${tenantId}#POLICIES`, sk: name });
const dataKeyKey = (tenantId: string, keyId: string) => ({ pk: `T#${tenantId}#DATAKEYS`, sk: keyId });

/** Seconds after expiry that DynamoDB's TTL may tidy a token away. Expiry itself is checked in code. */
const TOKEN_TIDY_GRACE_SECONDS = 7 * 24 * 3600;

const strip = <T extends Record<string, unknown>>(item: T): Omit<T, 'pk' | 'sk' | 'ttl' | 'gsi1pk' | 'gsi1sk'> => {
  const { pk: _pk, sk: _sk, ttl: _ttl, gsi1pk: _gsi1pk, gsi1sk: _gsi1sk, ...rest } = item;
  return rest;
};

export class DynamoDbAuthRepository implements AuthRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  createTenant(tenant: Tenant): Promise<void> {
    // Indexed under gsi1 so the tenants can be enumerated without a scan.
    return this.putNew({ ...tenantKey(tenant.tenantId), gsi1pk: 'TENANTS', gsi1sk: tenant.tenantId, ...tenant }, `tenant ${tenant.tenantId} already exists`);
  }

  async listTenantIds(): Promise<string[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': 'TENANTS' }),
      ProjectionExpression: 'gsi1sk',
    });
    return items.map((item) => item.gsi1sk as string);
  }

  async getTenant(tenantId: string): Promise<Tenant | undefined> {
    return this.get<Tenant>(tenantKey(tenantId));
  }

  putIdentity(identity: Identity): Promise<void> {
    return this.putNew({ ...identityKey(identity.tenantId, identity.identityId), ...identity }, `identity ${identity.identityId} already exists`);
  }

  getIdentity(tenantId: string, identityId: string): Promise<Identity | undefined> {
    return this.get<Identity>(identityKey(tenantId, identityId));
  }

  putToken(token: TokenRecord): Promise<void> {
    const ttl = token.expiresAt === null ? undefined : Math.ceil(tidyAt(token.maxExpiresAt ?? token.expiresAt));
    // Indexed by expiry (gsi1) for the expiry gauges and warnings.
    const indexed = { ...tokenKey(token.tokenHash), ...token, ...tokenExpiryKeys(token.tokenHash, token.expiresAt), ...(ttl ? { ttl } : {}) };
    return this.putNew(indexed, 'token already exists');
  }

  getToken(tokenHash: string): Promise<TokenRecord | undefined> {
    return this.get<TokenRecord>(tokenKey(tokenHash));
  }

  async extendToken(tokenHash: string, expiresAt: number): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(tokenKey(tokenHash)),
          UpdateExpression: 'SET expiresAt = :expiresAt, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk',
          ConditionExpression: 'attribute_exists(pk) AND expiresAt <= :expiresAt',
          ExpressionAttributeValues: marshall({ ':expiresAt': expiresAt, ...prefixed(tokenExpiryKeys(tokenHash, expiresAt)) }),
        }),
      ),
    );
  }

  async putPolicy(policy: Policy): Promise<void> {
    await dynamoCall(() =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall({ ...policyKey(policy.tenantId, policy.name), ...policy }) })),
    );
  }

  getPolicy(tenantId: string, name: string): Promise<Policy | undefined> {
    return this.get<Policy>(policyKey(tenantId, name));
  }

  putDataKey(record: DataKeyRecord): Promise<void> {
    return this.putNew({ ...dataKeyKey(record.tenantId, record.keyId), ...record }, `data key ${record.keyId} already exists`);
  }

  getDataKey(tenantId: string, keyId: string): Promise<DataKeyRecord | undefined> {
    return this.get<DataKeyRecord>(dataKeyKey(tenantId, keyId));
  }

  private async get<T>(key: { pk: string; sk: string }): Promise<T | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true })));
    return result.Item ? (strip(unmarshall(result.Item)) as T) : undefined;
  }

  private async putNew(item: Record<string, unknown>, conflictMessage: string): Promise<void> {
    await dynamoCall(
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(item, { removeUndefinedValues: true, convertClassInstanceToMap: false }),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      conflictMessage,
    );
  }
}

const tidyAt = (epochMs: number): number => epochMs / 1000 + TOKEN_TIDY_GRACE_SECONDS;
const prefixed = (values: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(values).map(([k, v]) => [`:${k}`, v]));

import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import type { AcmeChallengeStore, AcmeProviderRecord, AcmeRepository, ManagedCertificateRecord } from '../../domain/ports/acme.js';
import { conditionalPut, dynamoCall, gsi1Before, putIfAbsent, queryAll } from './dynamodb-call.js';

// Layout in the state table:
// - provider: pk T#<tenant>#ACMEPROV, sk <name>; account key and EAB HMAC key sealed;
// - managed certificate: pk T#<tenant>#ACMECERT, sk <name>; gsi1 ACMEDUE / <next attempt>#<tenant>#<name>,
//   so the scheduler's "what is due" is one query across tenants, soonest first;
// - HTTP-01 answer: pk ACMECHAL#<token>, sk CHAL, tidied by TTL (expiry checked in code).

const providersPk = (tenantId: string) => `T#${tenantId}#ACMEPROV`;
const certificatesPk = (tenantId: string) => `T#${tenantId}#ACMECERT`;
const DUE_PK = 'ACMEDUE';
const dueSk = (nextAttemptAt: string, tenantId: string, name: string) => `${nextAttemptAt}#${tenantId}#${name}`;
const challengeKey = (token: string) => ({ pk: `ACMECHAL#${token}`, sk: 'CHAL' });

type Item = Record<string, unknown>;

const strip = (item: Item): Item => {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, ...rest } = item;
  return rest;
};

const certificateItem = (certificate: ManagedCertificateRecord): Item => ({
  pk: certificatesPk(certificate.tenantId),
  sk: certificate.name,
  gsi1pk: DUE_PK,
  gsi1sk: dueSk(certificate.nextAttemptAt, certificate.tenantId, certificate.name),
  ...certificate,
});

export class DynamoDbAcmeRepository implements AcmeRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  putProvider(provider: AcmeProviderRecord): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, { pk: providersPk(provider.tenantId), sk: provider.name, ...provider });
  }

  getProvider(tenantId: string, name: string): Promise<AcmeProviderRecord | undefined> {
    return this.record<AcmeProviderRecord>(providersPk(tenantId), name);
  }

  listProviders(tenantId: string): Promise<AcmeProviderRecord[]> {
    return this.records<AcmeProviderRecord>(providersPk(tenantId));
  }

  deleteProvider(tenantId: string, name: string): Promise<boolean> {
    return this.delete(providersPk(tenantId), name);
  }

  async setAccountUrl(tenantId: string, name: string, accountUrl: string): Promise<void> {
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: providersPk(tenantId), sk: name }),
          UpdateExpression: 'SET accountUrl = :url',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':url': accountUrl }),
        }),
      ),
    );
  }

  createCertificate(certificate: ManagedCertificateRecord): Promise<boolean> {
    return putIfAbsent(this.client, this.tableName, certificateItem(certificate));
  }

  getCertificate(tenantId: string, name: string): Promise<ManagedCertificateRecord | undefined> {
    return this.record<ManagedCertificateRecord>(certificatesPk(tenantId), name);
  }

  listCertificates(tenantId: string): Promise<ManagedCertificateRecord[]> {
    return this.records<ManagedCertificateRecord>(certificatesPk(tenantId));
  }

  deleteCertificate(tenantId: string, name: string): Promise<boolean> {
    return this.delete(certificatesPk(tenantId), name);
  }

  async dueCertificates(beforeIso: string, limit: number): Promise<ManagedCertificateRecord[]> {
    const items = await gsi1Before(this.client, { TableName: this.tableName, Limit: limit }, DUE_PK, beforeIso);
    return items.map((item) => strip(item) as unknown as ManagedCertificateRecord);
  }

  claim(certificate: ManagedCertificateRecord, leaseUntilIso: string): Promise<boolean> {
    return this.moveNextAttempt(certificate, leaseUntilIso, true);
  }

  reschedule(certificate: ManagedCertificateRecord, atIso: string): Promise<boolean> {
    return this.moveNextAttempt(certificate, atIso, false);
  }

  /** Moves the next attempt (and the due index) if nobody moved it since `certificate` was read; a lease also marks it being ordered. */
  private async moveNextAttempt(certificate: ManagedCertificateRecord, atIso: string, lease: boolean): Promise<boolean> {
    const leaseUntilIso = atIso;
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: certificatesPk(certificate.tenantId), sk: certificate.name }),
            UpdateExpression: lease ? 'SET nextAttemptAt = :lease, leasedUntil = :lease, gsi1sk = :sk' : 'SET nextAttemptAt = :lease, gsi1sk = :sk',
            ConditionExpression: 'nextAttemptAt = :expected',
            ExpressionAttributeValues: marshall({
              ':lease': leaseUntilIso,
              ':sk': dueSk(leaseUntilIso, certificate.tenantId, certificate.name),
              ':expected': certificate.nextAttemptAt,
            }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async saveOutcome(certificate: ManagedCertificateRecord): Promise<void> {
    // A certificate deleted while its order ran stays deleted.
    await conditionalPut(this.client, this.tableName, certificateItem(certificate), 'attribute_exists(pk)');
  }

  async saveFailure(certificate: ManagedCertificateRecord): Promise<void> {
    // A certificate deleted while its order ran stays deleted.
    await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: certificatesPk(certificate.tenantId), sk: certificate.name }),
          UpdateExpression:
            'SET #status = :status, leasedUntil = :leasedUntil, failures = :failures, lastError = :lastError, nextAttemptAt = :next, gsi1sk = :sk, updatedAt = :updatedAt',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: marshall({
            ':status': certificate.status,
            ':leasedUntil': certificate.leasedUntil ?? null,
            ':failures': certificate.failures,
            ':lastError': certificate.lastError,
            ':next': certificate.nextAttemptAt,
            ':sk': dueSk(certificate.nextAttemptAt, certificate.tenantId, certificate.name),
            ':updatedAt': certificate.updatedAt,
          }),
        }),
      ),
    ).catch((error: unknown) => {
      if (!(error instanceof ConflictError)) throw error;
    });
  }

  /** One record as stored, its key attributes stripped. */
  private async record<T>(pk: string, sk: string): Promise<T | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ConsistentRead: true })));
    return result.Item ? (strip(unmarshall(result.Item)) as T) : undefined;
  }

  private async records<T>(pk: string): Promise<T[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': pk }),
    });
    return items.map((item) => strip(item) as T);
  }

  private async delete(pk: string, sk: string): Promise<boolean> {
    const result = await dynamoCall(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall({ pk, sk }), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }
}

/** The HTTP-01 answers the public `/.well-known/acme-challenge/{token}` route serves. */
export class DynamoDbAcmeChallengeStore implements AcmeChallengeStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly now: () => number = Date.now,
  ) {}

  async put(token: string, keyAuthorization: string, expiresAt: Date): Promise<void> {
    const item = { ...challengeKey(token), keyAuthorization, expiresAt: expiresAt.toISOString(), ttl: Math.ceil(expiresAt.getTime() / 1000) };
    await dynamoCall(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(item) })));
  }

  async get(token: string): Promise<string | undefined> {
    const result = await dynamoCall(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(challengeKey(token)), ConsistentRead: true })),
    );
    const item = result.Item ? unmarshall(result.Item) : undefined;
    if (!item || Date.parse(item.expiresAt as string) <= this.now()) return undefined;
    return item.keyAuthorization as string;
  }

  async delete(token: string): Promise<void> {
    await dynamoCall(() => this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall(challengeKey(token)) })));
  }
}

import {
  BatchWriteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError } from '../../domain/errors.js';
import type { CertificateInventorySink, IssuedCertificateRecord } from '../../domain/ports/certificate-inventory.js';
import type { CertificateStore, ExpiringCertificate, RevokedEntry, StoredCertificate } from '../../domain/ports/pki.js';
import { dynamoCall, putIfAbsent, queryAll } from './dynamodb-call.js';

// Layout in the state table:
// - certificate: pk T#<tenant>#PKICERT#<ca id>, sk <serial>; the expiry index is gsi1:
//   gsi1pk CERTEXP (active) or CERTEXP#REVOKED, gsi1sk <not-after ISO>#<tenant>#<ca id>#<serial>,
//   so "certificates with not-after before T" is a Query on gsi1, never a Scan;
// - revocation entry: pk T#<tenant>#PKICRL#<ca id>, sk <serial> (what the CA's CRL lists).

const ACTIVE = 'CERTEXP';
const REVOKED = 'CERTEXP#REVOKED';
const certPk = (tenantId: string, caId: string) => `T#${tenantId}#PKICERT#${caId}`;
const crlPk = (tenantId: string, caId: string) => `T#${tenantId}#PKICRL#${caId}`;
const expirySk = (notAfter: string, tenantId: string, caId: string, serial: string) => `${notAfter}#${tenantId}#${caId}#${serial}`;

type Item = Record<string, unknown>;

const itemToCertificate = (item: Item): StoredCertificate => ({
  tenantId: item.tenantId as string,
  caId: item.caId as string,
  serial: item.sk as string,
  commonName: item.commonName as string,
  sans: (item.sans as string[] | undefined) ?? [],
  notBefore: item.notBefore as string,
  notAfter: item.notAfter as string,
  role: item.role as string,
  issuerType: item.issuerType as string,
  state: item.state as StoredCertificate['state'],
  revokedAt: (item.revokedAt as string | null | undefined) ?? null,
  revocationReason: (item.revocationReason as number | null | undefined) ?? null,
  certificatePem: item.certificatePem as string,
});

const itemToExpiring = (item: Item): ExpiringCertificate => ({
  tenantId: item.tenantId as string,
  caId: item.caId as string,
  serial: item.sk as string,
  commonName: item.commonName as string,
  notAfter: item.notAfter as string,
});

/** The certificate inventory in DynamoDB: the sink PKI and ACME record through, and its reads. */
export class DynamoDbCertificateInventory implements CertificateInventorySink, CertificateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordIssued(record: IssuedCertificateRecord): Promise<void> {
    const notAfter = record.notAfter.toISOString();
    const item = {
      pk: certPk(record.tenantId, record.caId),
      sk: record.serial,
      gsi1pk: ACTIVE,
      gsi1sk: expirySk(notAfter, record.tenantId, record.caId, record.serial),
      tenantId: record.tenantId,
      caId: record.caId,
      commonName: record.commonName,
      sans: [...record.sans],
      notBefore: record.notBefore.toISOString(),
      notAfter,
      role: record.role,
      issuerType: record.issuerType,
      state: 'active',
      certificatePem: record.certificatePem,
    };
    // Idempotent on (tenant, CA, serial): a retried record never undoes a revocation.
    await putIfAbsent(this.client, this.tableName, item);
  }

  async getCertificate(tenantId: string, caId: string, serial: string): Promise<StoredCertificate | undefined> {
    const key = marshall({ pk: certPk(tenantId, caId), sk: serial });
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    return result.Item ? itemToCertificate(unmarshall(result.Item)) : undefined;
  }

  async listCertificates(tenantId: string, caId: string, limit: number, cursor: string | undefined) {
    const result = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: marshall({ ':pk': certPk(tenantId, caId) }),
          Limit: limit,
          ExclusiveStartKey: cursor ? marshall({ pk: certPk(tenantId, caId), sk: cursor }) : undefined,
        }),
      ),
    );
    const items = (result.Items ?? []).map((item) => itemToCertificate(unmarshall(item)));
    const last = result.LastEvaluatedKey ? (unmarshall(result.LastEvaluatedKey).sk as string) : undefined;
    return { items, nextCursor: last };
  }

  async revoke(tenantId: string, caId: string, serial: string, reason: number, at: string): Promise<boolean> {
    const current = await this.getCertificate(tenantId, caId, serial);
    if (current?.state !== 'active') return false;
    // The revocation entry first: a crash between the writes leaves the CRL listing a certificate
    // the inventory still shows active (the safe side), never a revoked one missing from the CRL.
    const entry = { pk: crlPk(tenantId, caId), sk: serial, revokedAt: at, reason, notAfter: current.notAfter };
    await dynamoCall(() =>
      this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(entry), ConditionExpression: 'attribute_not_exists(pk)' })),
    ).catch((error: unknown) => {
      if (!(error instanceof ConflictError)) throw error;
    });
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: certPk(tenantId, caId), sk: serial }),
            UpdateExpression: 'SET #state = :revoked, revokedAt = :at, revocationReason = :reason, gsi1pk = :index',
            ConditionExpression: '#state = :active',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: marshall({ ':revoked': 'revoked', ':active': 'active', ':at': at, ':reason': reason, ':index': REVOKED }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async revokedEntries(tenantId: string, caId: string): Promise<RevokedEntry[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': crlPk(tenantId, caId) }),
    });
    return items.map((item) => ({
      serial: item.sk as string,
      revokedAt: item.revokedAt as string,
      reason: item.reason as number,
      notAfter: item.notAfter as string,
    }));
  }

  async expiringBetween(fromIso: string, beforeIso: string, options: { limit?: number; unnotifiedOnly?: boolean }): Promise<ExpiringCertificate[]> {
    const input = this.expiryQuery(ACTIVE, fromIso, beforeIso);
    const filter = options.unnotifiedOnly ? { FilterExpression: 'attribute_not_exists(expiryNotifiedAt)' } : {};
    const items: Item[] = [];
    let start: QueryCommandInput['ExclusiveStartKey'];
    do {
      const page = await dynamoCall(() => this.client.send(new QueryCommand({ ...input, ...filter, ExclusiveStartKey: start })));
      for (const item of page.Items ?? []) items.push(unmarshall(item));
      start = page.LastEvaluatedKey;
    } while (start && (options.limit === undefined || items.length < options.limit));
    return items.slice(0, options.limit).map(itemToExpiring);
  }

  async countExpiring(fromIso: string, beforeIso: string): Promise<number> {
    const { count } = await queryAll(this.client, { ...this.expiryQuery(ACTIVE, fromIso, beforeIso), Select: 'COUNT' });
    return count;
  }

  async activeByCa(nowIso: string): Promise<Map<string, number>> {
    const { items } = await queryAll(this.client, { ...this.expiryQuery(ACTIVE, nowIso, '\uffff'), ProjectionExpression: 'caId' });
    const counts = new Map<string, number>();
    for (const item of items) counts.set(item.caId as string, (counts.get(item.caId as string) ?? 0) + 1);
    return counts;
  }

  async markExpiryNotified(cert: ExpiringCertificate, at: string): Promise<boolean> {
    try {
      await dynamoCall(() =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: certPk(cert.tenantId, cert.caId), sk: cert.serial }),
            UpdateExpression: 'SET expiryNotifiedAt = :at',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(expiryNotifiedAt)',
            ExpressionAttributeValues: marshall({ ':at': at }),
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConflictError) return false;
      throw error;
    }
  }

  async tidy(beforeIso: string, tenantId?: string, caId?: string): Promise<number> {
    let removed = 0;
    for (const index of [ACTIVE, REVOKED]) {
      const { items } = await queryAll(this.client, { ...this.expiryQuery(index, '0', beforeIso), ProjectionExpression: 'pk, sk, tenantId, caId' });
      const doomed = items.filter((item) => (!tenantId || item.tenantId === tenantId) && (!caId || item.caId === caId));
      const keys = doomed.flatMap((item) => [
        { pk: item.pk as string, sk: item.sk as string },
        ...(index === REVOKED ? [{ pk: crlPk(item.tenantId as string, item.caId as string), sk: item.sk as string }] : []),
      ]);
      await this.deleteAll(keys);
      removed += doomed.length;
    }
    return removed;
  }

  private expiryQuery(index: string, fromIso: string, beforeIso: string): QueryCommandInput {
    return {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :before',
      ExpressionAttributeValues: marshall({ ':pk': index, ':from': fromIso, ':before': beforeIso }),
      ScanIndexForward: true,
    };
  }

  private async deleteAll(keys: { pk: string; sk: string }[]): Promise<void> {
    for (let offset = 0; offset < keys.length; offset += 25) {
      let requests = keys.slice(offset, offset + 25).map((key) => ({ DeleteRequest: { Key: marshall(key) } }));
      while (requests.length) {
        const result = await dynamoCall(() => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.tableName]: requests } })));
        requests = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
      }
    }
  }
}

import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { CaRecord, PkiRepository, PublishedCrl, RoleRecord } from '../../domain/ports/pki.js';
import { conditionalPut, dynamoCall, itemToSealed, queryAll, sealedToItem } from './dynamodb-call.js';

// Layout in the state table:
// - CA: pk PKICA#<ca id>, sk CA; gsi1pk PKICAS, gsi1sk <tenant>#<ca id>. CA ids are globally
//   unique (ca_ + 96 random bits), so the unauthenticated CRL and OCSP URLs find a CA by id alone
//   and every read checks the item's tenantId. A sealed private key is `keyId` (the tenant data
//   key's id), `iv` and `ct` (AES-256-GCM ciphertext + tag of the base64 PKCS #8 DER), AAD
//   ["scaivault/v1", <tenant>, "pki/cas/<ca id>", 1]; a KMS-held key is `keyRef`.
// - CRL: pk PKICA#<ca id>, sk CRL: the latest signed CRL (DER).
// - role: pk T#<tenant>#PKIROLES#<ca id>, sk <role name>.

const caKey = (caId: string) => ({ pk: `PKICA#${caId}`, sk: 'CA' });
const crlKey = (caId: string) => ({ pk: `PKICA#${caId}`, sk: 'CRL' });
const rolesPk = (tenantId: string, caId: string) => `T#${tenantId}#PKIROLES#${caId}`;
const CAS_INDEX_PK = 'PKICAS';

type Item = Record<string, unknown>;

const caToItem = (ca: CaRecord): Item => {
  const { sealedKey, ...rest } = ca;
  return { ...caKey(ca.caId), gsi1pk: CAS_INDEX_PK, gsi1sk: `${ca.tenantId}#${ca.caId}`, ...rest, ...(sealedKey ? sealedToItem(sealedKey) : {}) };
};

const itemToCa = (item: Item): CaRecord => ({
  tenantId: item.tenantId as string,
  caId: item.caId as string,
  name: item.name as string,
  kind: item.kind as CaRecord['kind'],
  status: item.status as CaRecord['status'],
  keyType: item.keyType as CaRecord['keyType'],
  keyBackend: item.keyBackend as CaRecord['keyBackend'],
  sealedKey: item.ct ? itemToSealed(item) : null,
  keyRef: (item.keyRef as string | null | undefined) ?? null,
  certificatePem: (item.certificatePem as string | null | undefined) ?? null,
  chainPem: (item.chainPem as string[] | undefined) ?? [],
  csrPem: (item.csrPem as string | null | undefined) ?? null,
  notAfter: (item.notAfter as string | null | undefined) ?? null,
  createdAt: item.createdAt as string,
  crlNumber: (item.crlNumber as number | undefined) ?? 0,
});

const itemToRole = (item: Item): RoleRecord => {
  const { pk: _pk, sk: _sk, ...rest } = item;
  return rest as unknown as RoleRecord;
};

export class DynamoDbPkiRepository implements PkiRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async putCa(ca: CaRecord, expectNew: boolean): Promise<void> {
    // A replacement holds only while the sealed key is the one read: a data-key rotation may have re-sealed it since.
    const sealed = !expectNew && ca.sealedKey ? { ':keyId': ca.sealedKey.keyId, ':iv': ca.sealedKey.iv } : undefined;
    const condition = expectNew ? 'attribute_not_exists(pk)' : sealed ? 'attribute_exists(pk) AND keyId = :keyId AND iv = :iv' : 'attribute_exists(pk)';
    await dynamoCall(
      () =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(caToItem(ca), { removeUndefinedValues: true }),
            ConditionExpression: condition,
            ExpressionAttributeValues: sealed ? marshall(sealed) : undefined,
          }),
        ),
      `CA ${ca.caId} changed concurrently`,
    );
  }

  async getCa(caId: string): Promise<CaRecord | undefined> {
    const result = await dynamoCall(() =>
      this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(caKey(caId)), ConsistentRead: true })),
    );
    return result.Item ? itemToCa(unmarshall(result.Item)) : undefined;
  }

  async listCas(tenantId: string): Promise<CaRecord[]> {
    return this.casUnder(`${tenantId}#`);
  }

  async allCas(): Promise<CaRecord[]> {
    return this.casUnder('');
  }

  private async casUnder(prefix: string): Promise<CaRecord[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
      ExpressionAttributeValues: marshall({ ':pk': CAS_INDEX_PK, ':prefix': prefix }),
    });
    return items.map(itemToCa);
  }

  async nextCrlNumber(caId: string): Promise<number> {
    const result = await dynamoCall(() =>
      this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(caKey(caId)),
          UpdateExpression: 'ADD crlNumber :one',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: marshall({ ':one': 1 }),
          ReturnValues: 'UPDATED_NEW',
        }),
      ),
    );
    return Number(unmarshall(result.Attributes ?? {}).crlNumber ?? 1);
  }

  async putCrl(caId: string, crl: PublishedCrl): Promise<void> {
    // A slower rebuild never replaces a newer CRL (a lost race is no error).
    const item = { ...crlKey(caId), der: crl.der, number: crl.number, thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate };
    await conditionalPut(
      this.client,
      this.tableName,
      item,
      'attribute_not_exists(pk) OR #number < :number',
      { ':number': crl.number },
      { '#number': 'number' },
    );
  }

  async getCrl(caId: string): Promise<PublishedCrl | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(crlKey(caId)) })));
    if (!result.Item) return undefined;
    const item = unmarshall(result.Item);
    return { der: item.der as Uint8Array, number: item.number as number, thisUpdate: item.thisUpdate as string, nextUpdate: item.nextUpdate as string };
  }

  async putRole(role: RoleRecord): Promise<void> {
    const item = { pk: rolesPk(role.tenantId, role.caId), sk: role.name, ...role };
    await dynamoCall(() => this.client.send(new PutItemCommand({ TableName: this.tableName, Item: marshall(item, { removeUndefinedValues: true }) })));
  }

  async getRole(tenantId: string, caId: string, name: string): Promise<RoleRecord | undefined> {
    const key = marshall({ pk: rolesPk(tenantId, caId), sk: name });
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: key, ConsistentRead: true })));
    return result.Item ? itemToRole(unmarshall(result.Item)) : undefined;
  }

  async listRoles(tenantId: string, caId: string): Promise<RoleRecord[]> {
    const { items } = await queryAll(this.client, {
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': rolesPk(tenantId, caId) }),
    });
    return items.map(itemToRole);
  }

  async deleteRole(tenantId: string, caId: string, name: string): Promise<boolean> {
    const result = await dynamoCall(() =>
      this.client.send(new DeleteItemCommand({ TableName: this.tableName, Key: marshall({ pk: rolesPk(tenantId, caId), sk: name }), ReturnValues: 'ALL_OLD' })),
    );
    return result.Attributes !== undefined;
  }
}

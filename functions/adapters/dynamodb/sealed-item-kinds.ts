// The registry of sealed-item kinds the data-key rotation re-seals
// (functions/domain/crypto/key-rotation.ts; the interface is `SealedItemKind`
// in functions/domain/ports/keys.ts).
//
// Adding a kind is one entry in
// `sealedItemKinds` below: an object with
// - `name`: stable and lower-case (`ca_key`); a persisted rotation cursor names it, so never rename one;
// - `list(tenant, cursor, limit)`: a page of `{ id, keyId }` in a stable order, read with a projection
//   that leaves the ciphertext in the table (`keyIdPage` below does a one-partition Query);
// - `read(tenant, id)`: a consistent GetItem giving the sealed value and its seal context (the AAD
//   it was sealed with: tenant, path, version, exactly as the owning code seals it);
// - `replace(tenant, current, next)`: one conditional write of `next` that holds only while the
//   stored value is still `current.sealed` (`resealUpdate` below: key id and IV), false otherwise.
// A kind whose items live in another store (PostgreSQL, S3) implements the same three calls there.
import { GetItemCommand, QueryCommand, UpdateItemCommand, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { SealContext } from '../../domain/crypto/envelope.js';
import { ConflictError, ValidationError } from '../../domain/errors.js';
import type { SealedItem, SealedItemKind, SealedItemPage, SealedItemRef } from '../../domain/ports/keys.js';
import type { SealedValue } from '../../domain/ports/secrets.js';
import { accountKeyContext, certificateKeyContext, eabKeyContext } from '../../domain/acme/acme-service.js';
import { caKeyContext } from '../../domain/pki/ca-service.js';
import { signingSecretContext } from '../../domain/webhooks/webhooks.js';
import { dynamoCall, itemToSealed, queryAll } from './dynamodb-call.js';
import { encodeSortKeyCursor, sortKeyOf } from './sort-key-cursor.js';

type Item = Record<string, unknown>;
type Key = { pk: string; sk: string };

/**
 * One page of a Query from after the cursor, whose cursor is the last item's `cursorKey` (its sort
 * key in the table or index queried); `startKey` rebuilds the key DynamoDB resumes after from it.
 */
const queryPage = async (
  client: DynamoDBClient,
  query: Omit<QueryCommandInput, 'Limit' | 'ExclusiveStartKey'>,
  page: { cursor: string | undefined; limit: number },
  cursorKey: 'sk' | 'gsi1sk',
  startKey: (after: string) => Item,
) => {
  const after = page.cursor === undefined ? undefined : sortKeyOf(page.cursor);
  const result = await dynamoCall(() =>
    client.send(new QueryCommand({ ...query, Limit: page.limit, ExclusiveStartKey: after === undefined ? undefined : marshall(startKey(after)) })),
  );
  const items = (result.Items ?? []).map((item) => unmarshall(item));
  const last = result.LastEvaluatedKey ? (unmarshall(result.LastEvaluatedKey)[cursorKey] as string) : undefined;
  return { items, nextCursor: last === undefined ? undefined : encodeSortKeyCursor(last) };
};

/** One page of a partition's items (`pk` and `sk` plus `projection`), from after the cursor's sort key. */
export const keyIdPage = (
  client: DynamoDBClient,
  table: string,
  pk: string,
  page: { cursor: string | undefined; limit: number },
  projection: string,
  names?: Record<string, string>,
) =>
  queryPage(
    client,
    {
      TableName: table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: marshall({ ':pk': pk }),
      ProjectionExpression: `pk, sk, ${projection}`,
      ExpressionAttributeNames: names,
      ConsistentRead: true,
    },
    page,
    'sk',
    (after) => ({ pk, sk: after }),
  );

const getItem = async (client: DynamoDBClient, table: string, key: Key): Promise<Item | undefined> => {
  const result = await dynamoCall(() => client.send(new GetItemCommand({ TableName: table, Key: marshall(key), ConsistentRead: true })));
  return result.Item ? unmarshall(result.Item) : undefined;
};

/**
 * Writes `next` over the sealed value at `at` (`''` for top-level `keyId`/`iv`/`ct`, `secrets[2].` for a
 * list element) only while it still holds `current`: true when written, false when a writer got there first.
 * A record that keeps its sealed value as a `SealedValue` map names the ciphertext `ciphertext`, not `ct`.
 */
export const resealUpdate = async (
  client: DynamoDBClient,
  table: string,
  key: Key,
  at: string,
  current: SealedValue,
  next: SealedValue,
  ciphertextField: 'ct' | 'ciphertext' = 'ct',
) => {
  try {
    await dynamoCall(() =>
      client.send(
        new UpdateItemCommand({
          TableName: table,
          Key: marshall(key),
          UpdateExpression: `SET ${at}keyId = :keyId, ${at}iv = :iv, ${at}${ciphertextField} = :ct`,
          // The IV is fresh for every seal: equal key id and IV mean the very value that was read.
          ConditionExpression: `${at}keyId = :oldKeyId AND ${at}iv = :oldIv`,
          ExpressionAttributeValues: marshall({
            ':keyId': next.keyId,
            ':iv': next.iv,
            ':ct': next.ciphertext,
            ':oldKeyId': current.keyId,
            ':oldIv': current.iv,
          }),
        }),
      ),
    );
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
};

// Secret versions: the head item (pk T#<t>#SECRETS, sk <path>) and every history item
// (pk T#<t>#V#<path>, sk <version>); ids are `h:<path>` and `v:<version sk>:<path>`.
const SECRETS_PK = (tenantId: string) => `T#${tenantId}#SECRETS`;
const HISTORY_PK = (tenantId: string, path: string) => `T#${tenantId}#V#${path}`;

const secretVersionKind = (client: DynamoDBClient, table: string): SealedItemKind => {
  const keyOf = (tenantId: string, id: string): Key => {
    if (id.startsWith('h:')) return { pk: SECRETS_PK(tenantId), sk: id.slice(2) };
    const [, sk, ...path] = id.split(':');
    if (!sk || path.length === 0) throw new ValidationError(`sealed item id ${id} is malformed`);
    return { pk: HISTORY_PK(tenantId, path.join(':')), sk };
  };
  return {
    name: 'secret_version',
    async list(tenantId, cursor, limit): Promise<SealedItemPage> {
      const heads = await keyIdPage(client, table, SECRETS_PK(tenantId), { cursor, limit }, 'keyId, #version', { '#version': 'version' });
      const histories = await Promise.all(
        heads.items.map(async (head) => {
          const path = head.sk as string;
          const current = { id: `h:${path}`, keyId: head.keyId as string };
          // Earlier versions exist only once there is a second: most secrets cost no history query.
          if ((head.version as number) <= 1) return [current];
          const { items } = await queryAll(client, {
            TableName: table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: marshall({ ':pk': HISTORY_PK(tenantId, path) }),
            ProjectionExpression: 'sk, keyId',
            ConsistentRead: true,
          });
          return [
            { id: `h:${path}`, keyId: head.keyId as string },
            ...items.map((item) => ({ id: `v:${item.sk as string}:${path}`, keyId: item.keyId as string })),
          ];
        }),
      );
      return { items: histories.flat(), nextCursor: heads.nextCursor };
    },
    async read(tenantId, id): Promise<SealedItem | undefined> {
      const item = await getItem(client, table, keyOf(tenantId, id));
      if (!item) return undefined;
      return { id, sealed: itemToSealed(item), context: { tenantId, path: item.path as string, version: item.version as number } };
    },
    replace: (tenantId, current, next) => resealUpdate(client, table, keyOf(tenantId, current.id), '', current.sealed, next),
  };
};

// Webhook signing secrets: a list `secrets` in the subscription item (pk T#<t>#WEBHOOKS, sk <webhook id>);
// ids are `<webhook id>:<secret version>`, and a read notes the list index the condition pins.
const WEBHOOKS_PK = (tenantId: string) => `T#${tenantId}#WEBHOOKS`;

const webhookSigningSecretKind = (client: DynamoDBClient, table: string): SealedItemKind => ({
  name: 'webhook_signing_secret',
  async list(tenantId, cursor, limit): Promise<SealedItemPage> {
    const page = await keyIdPage(client, table, WEBHOOKS_PK(tenantId), { cursor, limit }, 'secrets');
    const items: SealedItemRef[] = page.items.flatMap((item) =>
      ((item.secrets as Item[] | undefined) ?? []).map((secret) => ({ id: `${item.sk as string}:${secret.version as number}`, keyId: secret.keyId as string })),
    );
    return { items, nextCursor: page.nextCursor };
  },
  async read(tenantId, id): Promise<SealedItem | undefined> {
    const [webhookId = '', version] = id.split(':');
    const item = await getItem(client, table, { pk: WEBHOOKS_PK(tenantId), sk: webhookId });
    const secrets = (item?.secrets as Item[] | undefined) ?? [];
    const position = secrets.findIndex((secret) => String(secret.version) === version);
    const secret = secrets[position];
    if (!secret) return undefined;
    const context: SealContext = signingSecretContext(tenantId, webhookId, secret.version as number);
    return { id, sealed: itemToSealed(secret), context, position };
  },
  replace: (tenantId, current, next) => {
    const webhookId = current.id.split(':')[0] ?? '';
    const at = `secrets[${current.position ?? 0}].`;
    return resealUpdate(client, table, { pk: WEBHOOKS_PK(tenantId), sk: webhookId }, at, current.sealed, next);
  },
});

// CA private keys held sealed (not in KMS): the CA item (pk PKICA#<ca id>, sk CA), found through
// the CA index (gsi1pk PKICAS, gsi1sk <tenant>#<ca id>); ids are CA ids.
const CAS_INDEX_PK = 'PKICAS';
const caItemKey = (caId: string): Key => ({ pk: `PKICA#${caId}`, sk: 'CA' });

const caKeyKind = (client: DynamoDBClient, table: string): SealedItemKind => ({
  name: 'ca_key',
  async list(tenantId, cursor, limit): Promise<SealedItemPage> {
    // An index read is eventually consistent: a CA created just now is caught by the rotation's next pass.
    const { items, nextCursor } = await queryPage(
      client,
      {
        TableName: table,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :tenant)',
        ExpressionAttributeValues: marshall({ ':pk': CAS_INDEX_PK, ':tenant': `${tenantId}#` }),
        ProjectionExpression: 'pk, sk, gsi1pk, gsi1sk, caId, keyId',
      },
      { cursor, limit },
      'gsi1sk',
      (after) => ({ ...caItemKey(after.slice(tenantId.length + 1)), gsi1pk: CAS_INDEX_PK, gsi1sk: after }),
    );
    return {
      // A KMS-held CA key has no key id here: KMS rotates it, not the data-key rotation.
      items: items.filter((item) => typeof item.keyId === 'string').map((item) => ({ id: item.caId as string, keyId: item.keyId as string })),
      nextCursor,
    };
  },
  async read(tenantId, id): Promise<SealedItem | undefined> {
    const item = await getItem(client, table, caItemKey(id));
    if (!item || item.tenantId !== tenantId || !item.ct) return undefined;
    return { id, sealed: itemToSealed(item), context: caKeyContext(tenantId, id) };
  },
  replace: (_tenantId, current, next) => resealUpdate(client, table, caItemKey(current.id), '', current.sealed, next),
});

// ACME keys, nested in their records as `SealedValue` maps: a provider (pk T#<t>#ACMEPROV, sk <name>) holds its account key
// and maybe an EAB HMAC key; a managed certificate (pk T#<t>#ACMECERT, sk <name>) its private key once
// issued. Ids are `account:<provider>`, `eab:<provider>` and `certificate:<name>`.
const ACME_PROVIDERS_PK = (tenantId: string) => `T#${tenantId}#ACMEPROV`;
const ACME_CERTIFICATES_PK = (tenantId: string) => `T#${tenantId}#ACMECERT`;

interface AcmeSlot {
  readonly key: (tenantId: string, name: string) => Key;
  /** The sealed value's place in the item, as an update expression path prefix. */
  readonly at: string;
  readonly sealedOf: (item: Item) => Item | undefined;
  readonly context: (tenantId: string, name: string, item: Item) => SealContext;
}

const ACME_SLOTS: Readonly<Record<string, AcmeSlot>> = {
  account: {
    key: (tenantId, name) => ({ pk: ACME_PROVIDERS_PK(tenantId), sk: name }),
    at: 'accountKey.',
    sealedOf: (item) => item.accountKey as Item | undefined,
    context: (tenantId, name) => accountKeyContext(tenantId, name),
  },
  eab: {
    key: (tenantId, name) => ({ pk: ACME_PROVIDERS_PK(tenantId), sk: name }),
    at: 'eab.hmacKey.',
    sealedOf: (item) => (item.eab as Item | null | undefined)?.hmacKey as Item | undefined,
    context: (tenantId, name) => eabKeyContext(tenantId, name),
  },
  certificate: {
    key: (tenantId, name) => ({ pk: ACME_CERTIFICATES_PK(tenantId), sk: name }),
    at: 'issued.privateKey.',
    sealedOf: (item) => (item.issued as Item | null | undefined)?.privateKey as Item | undefined,
    context: (tenantId, name, item) => certificateKeyContext(tenantId, name, item.generation as number),
  },
};

const acmeSlotOf = (id: string): { slot: AcmeSlot; name: string } => {
  const separator = id.indexOf(':');
  const slot = ACME_SLOTS[id.slice(0, separator)];
  if (separator < 0 || !slot) throw new ValidationError(`sealed item id ${id} is malformed`);
  return { slot, name: id.slice(separator + 1) };
};

/** The two partitions the ACME kind pages through, in order: providers, then certificates. */
const ACME_PARTITIONS = [
  { name: 'providers', pk: ACME_PROVIDERS_PK, projection: 'accountKey.keyId, eab.hmacKey.keyId', slots: ['account', 'eab'] },
  { name: 'certificates', pk: ACME_CERTIFICATES_PK, projection: 'issued.privateKey.keyId', slots: ['certificate'] },
] as const;

const acmeKeyKind = (client: DynamoDBClient, table: string): SealedItemKind => ({
  name: 'acme_key',
  // The cursor is `<partition>:<that partition's page cursor>` (empty at its start).
  async list(tenantId, cursor, limit): Promise<SealedItemPage> {
    const [name, inner] = cursor === undefined ? ['providers', ''] : [cursor.slice(0, cursor.indexOf(':')), cursor.slice(cursor.indexOf(':') + 1)];
    const index = ACME_PARTITIONS.findIndex((partition) => partition.name === name);
    const partition = ACME_PARTITIONS[index];
    if (!partition) throw new ValidationError(`sealed item cursor ${cursor} is malformed`);
    const page = await keyIdPage(client, table, partition.pk(tenantId), { cursor: inner === '' ? undefined : inner, limit }, partition.projection);
    const items = page.items.flatMap((item) =>
      partition.slots.flatMap((slot) => {
        const keyId = ACME_SLOTS[slot]?.sealedOf(item)?.keyId;
        return typeof keyId === 'string' ? [{ id: `${slot}:${item.sk as string}`, keyId }] : [];
      }),
    );
    const following = ACME_PARTITIONS[index + 1];
    return { items, nextCursor: page.nextCursor !== undefined ? `${partition.name}:${page.nextCursor}` : following && `${following.name}:` };
  },
  async read(tenantId, id): Promise<SealedItem | undefined> {
    const { slot, name } = acmeSlotOf(id);
    const item = await getItem(client, table, slot.key(tenantId, name));
    const sealed = item && slot.sealedOf(item);
    if (!item || !sealed) return undefined;
    // Stored as the record's own `SealedValue` map (keyId, iv, ciphertext).
    return { id, sealed: sealed as unknown as SealedValue, context: slot.context(tenantId, name, item) };
  },
  replace: (tenantId, current, next) => {
    const { slot, name } = acmeSlotOf(current.id);
    return resealUpdate(client, table, slot.key(tenantId, name), slot.at, current.sealed, next, 'ciphertext');
  },
});

/** Every kind, in the order a rotation pass visits them. Append new kinds; never reorder or rename. */
export const sealedItemKinds = (client: DynamoDBClient, table: string): readonly SealedItemKind[] => [
  secretVersionKind(client, table),
  webhookSigningSecretKind(client, table),
  caKeyKind(client, table),
  acmeKeyKind(client, table),
];

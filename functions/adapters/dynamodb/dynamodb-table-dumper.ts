import {
  BatchWriteItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  ScanCommand,
  waitUntilTableExists,
  type AttributeValue,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { TableDumper } from '../../domain/ports/backups.js';
import type { TableDefinition } from '../../runtime/definitions.js';

// Items as JSON lines in DynamoDB's own JSON (the shape ExportTableToPointInTime
// writes too), binary values as base64: every attribute type round-trips exactly.

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const encodeValue = (value: AttributeValue): Json => {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((b) => Buffer.from(b).toString('base64')) };
  if (value.M !== undefined) return { M: encodeMap(value.M) };
  if (value.L !== undefined) return { L: value.L.map(encodeValue) };
  // S, N, SS, NS, BOOL, NULL are JSON already; `$unknown` members are not attribute types.
  const { $unknown: _, ...plain } = value as AttributeValue & { $unknown?: unknown };
  return plain as Json;
};
const encodeMap = (item: Record<string, AttributeValue>): Record<string, Json> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, encodeValue(value)]));

const decodeValue = (value: Record<string, unknown>): AttributeValue => {
  if (typeof value.B === 'string') return { B: Buffer.from(value.B, 'base64') };
  if (Array.isArray(value.BS)) return { BS: (value.BS as string[]).map((b) => Buffer.from(b, 'base64')) };
  if (value.M && typeof value.M === 'object') return { M: decodeMap(value.M as Record<string, Record<string, unknown>>) };
  if (Array.isArray(value.L)) return { L: (value.L as Record<string, unknown>[]).map(decodeValue) };
  return value as unknown as AttributeValue;
};
const decodeMap = (item: Record<string, Record<string, unknown>>): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, decodeValue(value)]));

export const encodeItem = (item: Record<string, AttributeValue>): string => JSON.stringify(encodeMap(item));
export const decodeItem = (line: string): Record<string, AttributeValue> => decodeMap(JSON.parse(line) as Record<string, Record<string, unknown>>);

const keySchema = (partition: { name: string }, sort?: { name: string }): KeySchemaElement[] => [
  { AttributeName: partition.name, KeyType: 'HASH' },
  ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
];

/** CreateTable's input for a definition under `tableName`, on-demand; the embedded provisioning uses it too. */
export const createTableInput = (definition: TableDefinition, tableName: string): CreateTableCommandInput => {
  const attributes = new Map<string, 'S' | 'N'>();
  for (const attribute of [definition.partitionKey, definition.sortKey, ...definition.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])]) {
    if (attribute) attributes.set(attribute.name, attribute.type);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({ AttributeName, AttributeType })),
    KeySchema: keySchema(definition.partitionKey, definition.sortKey),
    GlobalSecondaryIndexes: definition.globalSecondaryIndexes.length
      ? definition.globalSecondaryIndexes.map((index) => ({
          IndexName: index.indexName,
          KeySchema: keySchema(index.partitionKey, index.sortKey),
          Projection: { ProjectionType: 'ALL' },
        }))
      : undefined,
  };
};

const BATCH = 25;
const MAX_UNPROCESSED_ROUNDS = 8;

export class DynamoDbTableDumper implements TableDumper {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly pageSize = 1000,
  ) {}

  async *dump(tableName: string): AsyncIterable<readonly string[]> {
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, Limit: this.pageSize, ExclusiveStartKey: startKey }));
      yield (page.Items ?? []).map(encodeItem);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  async create(tableName: string, definition: TableDefinition): Promise<void> {
    await this.client.send(new CreateTableCommand(createTableInput(definition, tableName)));
    await waitUntilTableExists({ client: this.client, maxWaitTime: 300, minDelay: 1 }, { TableName: tableName });
  }

  async load(tableName: string, lines: readonly string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += BATCH) {
      let requests: WriteRequest[] = lines.slice(i, i + BATCH).map((line) => ({ PutRequest: { Item: decodeItem(line) } }));
      for (let round = 0; requests.length > 0; round += 1) {
        if (round === MAX_UNPROCESSED_ROUNDS) throw new Error(`${requests.length} items of ${tableName} stayed unprocessed`);
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** round));
        const result = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: requests } }));
        requests = result.UnprocessedItems?.[tableName] ?? [];
      }
    }
  }

  async count(tableName: string): Promise<number> {
    let count = 0;
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(new ScanCommand({ TableName: tableName, ConsistentRead: true, Select: 'COUNT', ExclusiveStartKey: startKey }));
      count += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return count;
  }

  async drop(tableName: string): Promise<void> {
    await this.client.send(new DeleteTableCommand({ TableName: tableName }));
  }
}

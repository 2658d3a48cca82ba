import { PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient, type QueryCommandInput } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ConflictError, DependencyUnavailableError, OutcomeUnknownError } from '../../domain/errors.js';
import { WRITE_OUTCOME_UNKNOWN } from './write-outcome.js';
import type { SealedValue } from '../../domain/ports/secrets.js';

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'ConditionalCheckFailedException' || error.name === 'TransactionCanceledException');

/**
 * Runs one DynamoDB call: a failed condition becomes a ConflictError, a write
 * that was sent and got no answer an OutcomeUnknownError, any other failure
 * (refused connection, throttling, a read's timeout) a DependencyUnavailableError.
 */
export const dynamoCall = async <T>(call: () => Promise<T>, conflictMessage = 'item changed concurrently'): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    if (isConditionFailure(error)) throw new ConflictError(conflictMessage);
    if (error instanceof Error && error.name === WRITE_OUTCOME_UNKNOWN) throw new OutcomeUnknownError('a write to dynamodb got no answer', { cause: error });
    throw new DependencyUnavailableError('dynamodb', { cause: error });
  }
};

/** Puts `item` if `condition` holds: true when it was written, false when the condition failed. */
export const conditionalPut = async (
  client: DynamoDBClient,
  table: string,
  item: Record<string, unknown>,
  condition: string,
  values?: Record<string, unknown>,
  names?: Record<string, string>,
): Promise<boolean> => {
  try {
    await dynamoCall(() =>
      client.send(
        new PutItemCommand({
          TableName: table,
          Item: marshall(item, { removeUndefinedValues: true }),
          ConditionExpression: condition,
          ExpressionAttributeValues: values ? marshall(values) : undefined,
          ExpressionAttributeNames: names,
        }),
      ),
    );
    return true;
  } catch (error) {
    if (error instanceof ConflictError) return false;
    throw error;
  }
};

/** Puts `item` unless an item with its key exists: true when it was written, false when one was there. */
export const putIfAbsent = (client: DynamoDBClient, table: string, item: Record<string, unknown>): Promise<boolean> =>
  conditionalPut(client, table, item, 'attribute_not_exists(pk)');

/** Items of the `gsi1` index under `pk` whose sort key sorts before `beforeIso`, oldest first (outbox, due rotations). */
export const gsi1Before = async (
  client: DynamoDBClient,
  input: Pick<QueryCommandInput, 'TableName' | 'Limit' | 'ProjectionExpression' | 'ExpressionAttributeNames'>,
  pk: string,
  beforeIso: string,
): Promise<Record<string, unknown>[]> => {
  const result = await dynamoCall(() =>
    client.send(
      new QueryCommand({
        ...input,
        IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk < :before',
        ExpressionAttributeValues: marshall({ ':pk': pk, ':before': beforeIso }),
        ScanIndexForward: true,
      }),
    ),
  );
  return (result.Items ?? []).map((item) => unmarshall(item));
};

/** Every page of a Query (items and counts alike), following LastEvaluatedKey. */
export const queryAll = async (client: DynamoDBClient, input: QueryCommandInput): Promise<{ items: Record<string, unknown>[]; count: number }> => {
  const items: Record<string, unknown>[] = [];
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamoCall(() => client.send(new QueryCommand({ ...input, ExclusiveStartKey: start })));
    for (const item of page.Items ?? []) items.push(unmarshall(item));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return { items, count };
};

/** A sealed value as item attributes (`keyId`, `iv`, `ct`) and back. */
export const sealedToItem = (sealed: SealedValue): Record<string, unknown> => ({ keyId: sealed.keyId, iv: sealed.iv, ct: sealed.ciphertext });
export const itemToSealed = (item: Record<string, unknown>): SealedValue => ({
  keyId: item.keyId as string,
  iv: item.iv as Uint8Array,
  ciphertext: item.ct as Uint8Array,
});

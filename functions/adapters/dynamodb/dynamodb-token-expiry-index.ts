import { QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TokenExpiryIndex, TokenRecord } from '../../domain/ports/auth.js';
import { dynamoCall } from './dynamodb-call.js';

// Tokens that expire are indexed under gsi1 as `TOKEN_EXPIRY` / `<expiry ISO>#<hash prefix>`,
// so "what expires in the next hour" is one Query on a key range, never a scan.
// `expiryWarnedFor` holds the expiry a `token.expiring` event was sent for.

const EXPIRY_PK = 'TOKEN_EXPIRY';
const iso = (epochMs: number): string => new Date(epochMs).toISOString();

/** The gsi1 attributes of a token item (none for a token that never expires). */
export const tokenExpiryKeys = (tokenHash: string, expiresAt: number | null): { gsi1pk?: string; gsi1sk?: string } =>
  expiresAt === null ? {} : { gsi1pk: EXPIRY_PK, gsi1sk: `${iso(expiresAt)}#${tokenHash.slice(0, 16)}` };

const tokenKey = (tokenHash: string) => marshall({ pk: `TOKEN#${tokenHash}`, sk: 'TOKEN' });

export class DynamoDbTokenExpiryIndex implements TokenExpiryIndex {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async countExpiring(fromMs: number, toMs: number): Promise<number> {
    let count = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await dynamoCall(() => this.client.send(new QueryCommand({ ...this.range(fromMs, toMs), Select: 'COUNT', ExclusiveStartKey: start })));
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  }

  async unwarned(fromMs: number, toMs: number, limit: number): Promise<TokenRecord[]> {
    const found: TokenRecord[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const range = this.range(fromMs, toMs);
      const page = await dynamoCall(() =>
        this.client.send(
          new QueryCommand({
            ...range,
            FilterExpression: 'attribute_not_exists(expiryWarnedFor) OR expiryWarnedFor <> expiresAt',
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) found.push(toToken(unmarshall(item)));
      start = page.LastEvaluatedKey;
    } while (start && found.length < limit);
    return found.slice(0, limit);
  }

  async markWarned(tokenHash: string, expiresAt: number): Promise<boolean> {
    return this.setWarned(
      tokenHash,
      expiresAt,
      'SET expiryWarnedFor = :at',
      'expiresAt = :at AND (attribute_not_exists(expiryWarnedFor) OR expiryWarnedFor <> :at)',
    );
  }

  async clearWarned(tokenHash: string, expiresAt: number): Promise<void> {
    await this.setWarned(tokenHash, expiresAt, 'REMOVE expiryWarnedFor', 'expiryWarnedFor = :at');
  }

  private async setWarned(tokenHash: string, expiresAt: number, update: string, condition: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: tokenKey(tokenHash),
          UpdateExpression: update,
          ConditionExpression: `attribute_exists(pk) AND ${condition}`,
          ExpressionAttributeValues: marshall({ ':at': expiresAt }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  private range(fromMs: number, toMs: number) {
    return {
      TableName: this.tableName,
      IndexName: 'gsi1',
      KeyConditionExpression: 'gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to',
      // `~` sorts after every hash prefix: the range ends just before toMs's millisecond.
      ExpressionAttributeValues: marshall({ ':pk': EXPIRY_PK, ':from': iso(fromMs), ':to': `${iso(toMs - 1)}#~` }),
    };
  }
}

const toToken = (item: Record<string, unknown>): TokenRecord => {
  const { pk: _pk, sk: _sk, ttl: _ttl, gsi1pk: _a, gsi1sk: _b, expiryWarnedFor: _w, ...token } = item;
  return token as unknown as TokenRecord;
};

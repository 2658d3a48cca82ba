import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { RateLimitRule } from '../../config.js';
import { DependencyUnavailableError } from '../../domain/errors.js';
import { conditionalPut, dynamoCall } from './dynamodb-call.js';
import type { RateLimitGrant, RateLimitStore } from '../../domain/ports/rate-limit.js';

const MAX_ATTEMPTS = 8;

/**
 * A token bucket per key in one item: read, refill by elapsed time, and write
 * back on the condition that nobody else wrote in between (optimistic
 * concurrency), so instances never double-spend a token.
 */
export class DynamoDbRateLimitStore implements RateLimitStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async take(bucketKey: string, rule: RateLimitRule, wanted: number, nowMs: number, minimum = 1): Promise<RateLimitGrant> {
    const key = { pk: `RL#${bucketKey}`, sk: 'RL' };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(key), ConsistentRead: true })));
      const stored = result.Item ? (unmarshall(result.Item) as { tokens: number; updatedAt: number; revision: number }) : undefined;
      const elapsed = stored ? Math.max(0, nowMs - stored.updatedAt) / 1000 : 0;
      const level = stored ? Math.min(rule.capacity, stored.tokens + elapsed * rule.refillPerSecond) : rule.capacity;
      const granted = Math.min(wanted, Math.floor(level));
      if (granted < Math.max(1, minimum)) {
        // Nothing is written for a refusal: the item sees writes only for grants of at least `minimum`.
        return { granted: 0, remaining: level, retryAfterSeconds: (Math.max(1, minimum) - level) / rule.refillPerSecond };
      }
      const remaining = level - granted;
      const item = {
        ...key,
        tokens: remaining,
        updatedAt: Math.max(nowMs, stored?.updatedAt ?? 0),
        revision: (stored?.revision ?? 0) + 1,
        // Tidy once the bucket would be full again anyway.
        ttl: Math.ceil(nowMs / 1000 + rule.capacity / rule.refillPerSecond + 3600),
      };
      const condition = stored ? 'revision = :revision' : 'attribute_not_exists(pk)';
      if (await conditionalPut(this.client, this.tableName, item, condition, stored ? { ':revision': stored.revision } : undefined)) {
        return { granted, remaining, retryAfterSeconds: 0 };
      }
      // Another instance won this round: back off a little, with jitter, and re-read.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 4 * (attempt + 1)));
    }
    throw new DependencyUnavailableError('rate limit store');
  }
}

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';

/** The error name a write takes when it was sent and no answer came: the SDK must not resend it. */
export const WRITE_OUTCOME_UNKNOWN = 'WriteOutcomeUnknown';

const WRITES = new Set(['PutItemCommand', 'UpdateItemCommand', 'DeleteItemCommand', 'BatchWriteItemCommand', 'TransactWriteItemsCommand']);

// Failures before a byte of the request left: resending cannot make a second effect.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const notSent = (error: { name?: string; code?: string; message?: string }): boolean =>
  NOT_SENT_CODES.has(error.code ?? '') || (error.name === 'TimeoutError' && /did not establish a connection/.test(error.message ?? ''));

/**
 * A write sent to DynamoDB that timed out or lost its connection may have been
 * applied. The SDK would resend it as a transient error, and a conditional
 * write resent after the first one landed fails its condition or, unconditional,
 * lands twice; so such a write is renamed, never retried, and answered as an
 * unknown outcome. Errors with an HTTP answer keep their meaning (a 5xx answer
 * is also unknown, and the SDK's own retry of it is DynamoDB's documented path).
 */
export const guardWriteOutcomes = (client: DynamoDBClient): DynamoDBClient => {
  const guard: FinalizeRequestMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      const failure = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
      const answered = failure.$metadata?.httpStatusCode !== undefined;
      if (WRITES.has(context.commandName ?? '') && !answered && error instanceof Error && !notSent(failure)) {
        // No `cause`: the SDK's retry looks through causes for transient errors and would resend it.
        throw Object.assign(new Error(`${context.commandName} was sent and no answer came (${failure.name}${failure.code ? ` ${failure.code}` : ''})`), {
          name: WRITE_OUTCOME_UNKNOWN,
        });
      }
      throw error;
    }
  };
  client.middlewareStack.addRelativeTo(guard, { relation: 'after', toMiddleware: 'retryMiddleware', name: 'scaivaultWriteOutcome', override: true });
  return client;
};

import { ConflictError, DependencyUnavailableError } from '../../domain/errors.js';

const isConditionFailure = (error: unknown): boolean =>
  error instanceof Error && (error.name === 'ConditionalCheckFailedException' || error.name === 'TransactionCanceledException');

/**
 * Runs one DynamoDB call: a failed condition becomes a ConflictError, any other
 * failure (network, throttling, timeout) a DependencyUnavailableError.
 */
export const dynamoCall = async <T>(call: () => Promise<T>, conflictMessage = 'item changed concurrently'): Promise<T> => {
  try {
    return await call();
  } catch (error) {
    if (isConditionFailure(error)) throw new ConflictError(conflictMessage);
    throw new DependencyUnavailableError('dynamodb', { cause: error });
  }
};

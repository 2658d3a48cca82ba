// Domain errors carry no HTTP codes: functions/http/problem.ts maps them at the edge.

export class VaultError extends Error {
  override readonly name: string = 'VaultError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The caller's input is malformed; `field` names the offending part when known. */
export class ValidationError extends VaultError {
  override readonly name = 'ValidationError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class NotFoundError extends VaultError {
  override readonly name = 'NotFoundError';
}

/** The resource exists already, or a check-and-set expectation no longer holds. */
export class ConflictError extends VaultError {
  override readonly name = 'ConflictError';
  constructor(
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

/** A check-and-set precondition (If-Match) failed. */
export class PreconditionFailedError extends VaultError {
  override readonly name = 'PreconditionFailedError';
  constructor(
    message: string,
    readonly currentVersion?: number,
  ) {
    super(message);
  }
}

export class UnauthenticatedError extends VaultError {
  override readonly name = 'UnauthenticatedError';
}

export class ForbiddenError extends VaultError {
  override readonly name = 'ForbiddenError';
}

export class RateLimitedError extends VaultError {
  override readonly name = 'RateLimitedError';
  constructor(
    readonly category: string,
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(`rate limit for ${category} requests exceeded`);
  }
}

/** A dependency (DynamoDB, key provider, queue, bucket) failed or timed out. */
export class DependencyUnavailableError extends VaultError {
  override readonly name: string = 'DependencyUnavailableError';
  constructor(
    readonly dependency: string,
    options?: { cause?: unknown },
  ) {
    super(`${dependency} is unavailable`, options);
  }
}

/** The request ran out of its deadline (dependencies too slow): answered as unavailable, never left hanging. */
export class DeadlineExceededError extends DependencyUnavailableError {
  override readonly name = 'DeadlineExceededError';
  constructor(readonly deadlineMs: number) {
    super('request deadline');
  }
}

/**
 * A write without If-Match lost every race it retried within its budget. Nothing
 * was written; the caller may simply retry. A 503 like any unavailable dependency.
 */
export class WriteContentionError extends DependencyUnavailableError {
  override readonly name = 'WriteContentionError';
  constructor(readonly retryAfterSeconds: number) {
    super('secret store (write contention)');
  }
}

/** A stored ciphertext failed authentication: tampered, moved, or the wrong key. */
export class IntegrityError extends VaultError {
  override readonly name = 'IntegrityError';
}

/** The request body or a value in it is larger than allowed. */
export class TooLargeError extends VaultError {
  override readonly name = 'TooLargeError';
}

/**
 * A change was sent to a dependency and no answer came: it may or may not have
 * taken effect. Never answered as "unavailable", which promises nothing changed.
 */
export class OutcomeUnknownError extends VaultError {
  override readonly name = 'OutcomeUnknownError';
}

/** An Idempotency-Key was used again for a different request. */
export class IdempotencyKeyReusedError extends VaultError {
  override readonly name = 'IdempotencyKeyReusedError';
}

/** Names the failure of an error chain without its messages, which may echo inputs. */
export const describeError = (error: unknown): string => {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth += 1) {
    const named = current as { name?: string; code?: string; message?: string; cause?: unknown };
    parts.push(named.code && named.code !== named.name ? `${named.name ?? 'Error'}(${named.code})` : (named.name ?? 'Error'));
    current = named.cause;
  }
  return parts.join(' <- ');
};

/** A quota (a dynamic role's max_leases) is used up: answered 429, like a rate limit, but with the quota named. */
export class QuotaExceededError extends VaultError {
  override readonly name = 'QuotaExceededError';
  constructor(
    message: string,
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

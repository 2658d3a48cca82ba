import type { Context } from 'aws-lambda';
import { DeadlineExceededError } from '../domain/errors.js';

/** Left for the error answer, its log line and metrics before the function itself would time out. */
const MARGIN_MS = 500;

/**
 * Runs `handler` under a deadline: `deadlineMs`, or less when the invocation
 * has less time left. Past it the request fails with DeadlineExceededError (a
 * 503 problem) instead of waiting on a dependency that does not answer; the
 * work still in flight ends on its own client timeouts.
 */
export const withDeadline =
  <E, R, C extends Context>(
    deadlineMs: number,
    handler: (event: E, context: C) => Promise<R>,
    /** The error past the deadline: a change already under way has an unknown outcome, not "nothing changed". */
    expired: (budgetMs: number, context: C) => Error = (budgetMs) => new DeadlineExceededError(budgetMs),
  ) =>
  async (event: E, context: C): Promise<R> => {
    const remaining = typeof context.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() - MARGIN_MS : deadlineMs;
    const budget = Math.max(0, Math.min(deadlineMs, remaining));
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        handler(event, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(expired(budget, context)), budget);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  };

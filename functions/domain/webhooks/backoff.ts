// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential
// Backoff And Jitter"): the delay before attempt n+1 is uniform in
// [0, min(cap, base * 2^(n-1))], which spreads retries of many failing
// deliveries instead of synchronising them against a recovering receiver.

export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

/** The upper bound of the delay after failed attempt `attempt` (1-based). */
export const backoffCeilingMs = (policy: BackoffPolicy, attempt: number): number => {
  const exponent = Math.max(0, Math.min(attempt - 1, 52));
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
};

/** The delay after failed attempt `attempt`, drawn with full jitter; `random` is in [0, 1). */
export const backoffMs = (policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number =>
  Math.floor(random() * (backoffCeilingMs(policy, attempt) + 1));

/** SQS visibility timeouts are whole seconds, at most 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 3600;

export const visibilitySeconds = (delayMs: number): number => Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delayMs / 1000)));

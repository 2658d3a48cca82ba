// The token buckets every instance shares.

import type { RateLimitRule } from '../../config.js';

export interface RateLimitGrant {
  readonly granted: number;
  /** Tokens left in the shared bucket after the grant. */
  readonly remaining: number;
  /** Seconds until `minimum` tokens are available, when nothing was granted. */
  readonly retryAfterSeconds: number;
}

/** Token buckets shared by every instance. */
export interface RateLimitStore {
  /** Takes up to `wanted` tokens, or none when fewer than `minimum` (default 1) are there. */
  take(bucketKey: string, rule: RateLimitRule, wanted: number, nowMs: number, minimum?: number): Promise<RateLimitGrant>;
}

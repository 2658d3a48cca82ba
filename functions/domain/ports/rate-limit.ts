// The token buckets every instance shares.

import type { RateLimitRule } from '../../config.js';

export interface RateLimitGrant {
  readonly granted: number;
  /** Tokens left in the shared bucket after the grant. */
  readonly remaining: number;
  /** Seconds until one token is available, when nothing was granted. */
  readonly retryAfterSeconds: number;
}

/** Token buckets shared by every instance. */
export interface RateLimitStore {
  take(bucketKey: string, rule: RateLimitRule, wanted: number, nowMs: number): Promise<RateLimitGrant>;
}

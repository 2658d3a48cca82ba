import type { SealedValue } from './secrets.js';

/** `unknown`: the first request's change was sent and no answer came; it is never run again. */
export type IdempotencyStatus = 'in_progress' | 'completed' | 'unknown';

/** One Idempotency-Key of one identity: what it was first used for and, once known, the answer. */
export interface IdempotencyRecord {
  readonly tenantId: string;
  /** Digest of the identity and the key: the raw key is never stored. */
  readonly id: string;
  /** Digest of method, path, query and body of the first request. */
  readonly fingerprint: string;
  readonly status: IdempotencyStatus;
  /** Epoch ms until which an in-progress request may still finish. */
  readonly leaseUntil: number;
  /** Epoch ms after which the key may be used afresh. */
  readonly expiresAt: number;
  /** The first answer, sealed under the tenant's data key. */
  readonly response?: SealedValue;
}

export interface IdempotencyStore {
  /** Stores `record` unless a record with its id that has not expired at `nowMs` exists; answers that holder. */
  claim(record: IdempotencyRecord, nowMs: number): Promise<IdempotencyRecord | undefined>;
  /** Records the answer of a claimed, still in-progress record. */
  complete(tenantId: string, id: string, fingerprint: string, response: SealedValue): Promise<void>;
  /** Settles a claimed record as "outcome unknown": retries hear that, never run the request again. */
  settleUnknown(tenantId: string, id: string, fingerprint: string): Promise<void>;
  /** Forgets an in-progress claim whose request changed nothing, so a retry runs afresh. */
  release(tenantId: string, id: string, fingerprint: string): Promise<void>;
}

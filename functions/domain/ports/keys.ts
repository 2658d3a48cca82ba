// Data keys and the key wrapper (KMS or the local key file) that wraps them,
// and the ports of data-key rotation: the sealed-item kinds it re-seals and the
// store that keeps each tenant's rotation (its cursor and counts).

import type { SealContext } from '../crypto/envelope.js';
import type { SealedValue } from './secrets.js';

/** `active`: new values are sealed under it; `retiring`: replaced, values still being re-sealed; `retired`: nothing uses it. */
export type DataKeyState = 'active' | 'retiring' | 'retired';

export interface DataKeyRecord {
  readonly tenantId: string;
  readonly keyId: string;
  readonly wrapped: Uint8Array;
  readonly provider: string;
  readonly createdAt: string;
  /** Absent on keys stored before rotation existed: read as `active` for the tenant's active key, `retiring` otherwise. */
  readonly state?: DataKeyState;
  readonly retiredAt?: string;
}

export interface WrappedDataKey {
  readonly plaintext: Buffer;
  readonly wrapped: Uint8Array;
}

export interface KeyProviderStatus {
  readonly provider: string;
  readonly keyId: string;
  readonly state: string;
}

/** Wraps and unwraps data keys under a master key (KMS or the local key file). */
export interface KeyWrapper {
  readonly provider: string;
  generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey>;
  unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer>;
  describe(): Promise<KeyProviderStatus>;
  /**
   * Makes a new version of the master key the one that wraps new data keys; older
   * versions keep unwrapping. Returns the new version's id. Absent where the provider cannot.
   */
  rotateMasterKey?(): Promise<string>;
}

/** One sealed item as a listing names it: enough to tell whether it lags, no ciphertext. */
export interface SealedItemRef {
  readonly id: string;
  readonly keyId: string;
}

/** One sealed item read in full: its value and what the value is bound to (the AAD). */
export interface SealedItem {
  readonly id: string;
  readonly sealed: SealedValue;
  readonly context: SealContext;
  /** Where the value sits in its stored item as read, for kinds that keep several values in one item (a list index). */
  readonly position?: number;
}

export interface SealedItemPage {
  readonly items: readonly SealedItemRef[];
  /** Opaque; undefined after the last page. */
  readonly nextCursor: string | undefined;
}

/**
 * One kind of sealed item the data-key rotation re-seals (secret versions, webhook
 * signing secrets; CA keys and ACME account keys later). Adding a kind is one
 * object with these three calls, appended to the registry the rotation is built
 * with (functions/adapters/dynamodb/sealed-item-kinds.ts); its `name` must never
 * change, since a rotation's persisted cursor names the kind it is in.
 */
export interface SealedItemKind {
  /** Stable, lower-case: `secret_version`, `webhook_signing_secret`, `ca_key`. */
  readonly name: string;
  /**
   * A page of the tenant's items of this kind, in a stable order: about `limit` of them (a kind
   * that lists values nested under a parent, like a secret's history, may return a few more).
   */
  list(tenantId: string, cursor: string | undefined, limit: number): Promise<SealedItemPage>;
  /** The item as stored now (a strongly consistent read), or undefined when it is gone. */
  read(tenantId: string, id: string): Promise<SealedItem | undefined>;
  /**
   * Replaces the item's sealed value with `next` if it still holds `current.sealed`
   * (same key id and IV: one conditional write); false when a writer changed or removed it first.
   */
  replace(tenantId: string, current: SealedItem, next: SealedValue): Promise<boolean>;
}

export type KeyRotationPhase = 'count' | 'reseal';

/** A tenant's data-key rotation, persisted after every batch so a crash resumes where it stopped. */
export interface KeyRotation {
  readonly tenantId: string;
  readonly rotationId: string;
  /** The key values are re-sealed under: the tenant's active key. */
  readonly targetKeyId: string;
  readonly state: 'running' | 'finished';
  readonly phase: KeyRotationPhase;
  /** Reseal passes started; a pass that finds nothing under an older key finishes the rotation. */
  readonly pass: number;
  /** Where the current pass stands: the kind's name and its cursor within the kind. */
  readonly kind: string;
  readonly cursor: string | undefined;
  /** Items under older keys when the count phase ended: the denominator of the progress ratio. */
  readonly total: number;
  /** Items re-sealed (by this rotation) so far. */
  readonly done: number;
  /** This pass's tallies of listed items: under the target key, under older keys. */
  readonly passActive: number;
  readonly passOlder: number;
  /** Items under the active and under older keys as last known (the sealed-items gauge). */
  readonly activeItems: number;
  readonly olderItems: number;
  readonly reason: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** Bumped on every save: the check-and-set that keeps two schedulers from both advancing the cursor. */
  readonly revision: number;
}

/** Where rotations, and the tenant's data keys' states, are kept. */
export interface KeyRotationStore {
  /** The tenant's latest rotation, running or finished. */
  get(tenantId: string): Promise<KeyRotation | undefined>;
  /** Every tenant's latest rotation (the scheduler's and the gauges' view). */
  list(): Promise<KeyRotation[]>;
  /** Saves `rotation` if the stored one is still at `expectedRevision` (undefined: none, or a finished one); false otherwise. */
  save(rotation: KeyRotation, expectedRevision: number | undefined): Promise<boolean>;
  listDataKeys(tenantId: string): Promise<DataKeyRecord[]>;
  setDataKeyState(tenantId: string, keyId: string, state: DataKeyState, at: string): Promise<void>;
  /** Points the tenant at a new active key if it is still on `expectedKeyId`; false otherwise. */
  setActiveKey(tenantId: string, keyId: string, expectedKeyId: string): Promise<boolean>;
}

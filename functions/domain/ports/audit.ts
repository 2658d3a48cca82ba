// The audit trail's storage, anchors, forwarder, export target and detection state.

import type { AuditEvent } from '../audit/audit-event.js';

/** A sealed block: the window (afterKey, throughKey] of event keys, its Merkle root and the chain link. */
export interface AuditBlockHeader {
  readonly seq: number;
  /** Exclusive lower bound of the event keys the block covers. */
  readonly afterKey: string;
  /** Inclusive upper bound. */
  readonly throughKey: string;
  readonly count: number;
  readonly merkleRoot: string;
  /** `hash` of the block before; 64 zeros for the first. */
  readonly prevHash: string;
  readonly sealedAt: string;
}

export interface AuditBlock extends AuditBlockHeader {
  /** sha256 of the canonical header. */
  readonly hash: string;
  /** The leaves in key order, `<event key> <leaf hash>`: what lets verify name the event that changed. */
  readonly leaves: readonly string[];
}

export interface StoredAuditEvent {
  readonly key: string;
  readonly event: AuditEvent;
}

export interface AuditQuery {
  /** Keys after this one (a cursor or a start time). */
  readonly afterKey: string;
  /** Keys up to and including this one. */
  readonly throughKey: string;
  readonly type?: string;
  readonly identityId?: string;
  readonly tenantId?: string;
  /** Exact path, or a prefix when it ends in `*`. */
  readonly path?: string;
  readonly outcome?: string;
}

/** One verification run, kept append-only so the divergence gauge can be read from storage. */
export interface VerificationRecord {
  readonly at: string;
  /** The whole chain from block 0 to the head was checked: by this run, or by this run and the clean slices before it. */
  readonly full: boolean;
  /** No divergence in this pass so far (the slices since the last start at block 0). */
  readonly passClean: boolean;
  readonly fromSeq: number;
  /** Next block to check (the round's cursor); 0 after a full pass. */
  readonly nextSeq: number;
  readonly divergence?: AuditDivergence;
}

export interface AuditDivergence {
  readonly blockSeq: number;
  readonly eventId?: string;
  readonly eventKey?: string;
  readonly reason: string;
}

export interface AuditStore {
  /** Writes events that must not exist yet; all or a thrown error. */
  append(events: readonly AuditEvent[]): Promise<void>;
  /** Records the chain's start time unless one exists; returns the recorded one. */
  ensureGenesis(time: string): Promise<string>;
  genesis(): Promise<string | undefined>;
  /** Events matching `query` in key order, at most `limit` (all when omitted). */
  events(query: AuditQuery, limit?: number): Promise<StoredAuditEvent[]>;
  /**
   * Like `events`, but may stop once `untilMs` has passed (a filter over a long
   * range can read many items to find few): `resumeAfter` is then the key up to
   * which everything was looked at, to continue from.
   */
  eventsPage(query: AuditQuery, limit: number, untilMs?: number): Promise<{ events: StoredAuditEvent[]; resumeAfter?: string }>;
  latestBlock(): Promise<AuditBlock | undefined>;
  /** How many events were stored after `afterKey` (the head block's throughKey): the events no block seals yet. */
  countEventsAfter(afterKey: string): Promise<number>;
  /** Writes block `seq`; false when another sealer wrote that sequence number first. */
  putBlock(block: AuditBlock): Promise<boolean>;
  block(seq: number): Promise<AuditBlock | undefined>;
  /** Blocks from `fromSeq` upwards, in order. */
  blocks(fromSeq: number, limit: number): Promise<AuditBlock[]>;
  /** The first block whose throughKey is at or after `key`. */
  firstBlockThrough(key: string): Promise<AuditBlock | undefined>;
  appendVerification(record: VerificationRecord): Promise<void>;
  latestVerification(kind: 'any' | 'divergent' | 'clean-full'): Promise<VerificationRecord | undefined>;
  /** The wrapped HMAC key, or undefined before the first one is stored. */
  wrappedHmacKey(): Promise<Uint8Array | undefined>;
  /** Stores the wrapped HMAC key unless one exists; returns the stored one. */
  putWrappedHmacKeyIfAbsent(wrapped: Uint8Array): Promise<Uint8Array>;
}

/** Where sealed blocks are anchored outside DynamoDB (S3 with object lock in AWS). */
export interface AuditAnchors {
  put(block: AuditBlock): Promise<void>;
  get(seq: number): Promise<AuditBlock | undefined>;
  exists(seq: number): Promise<boolean>;
}

/** A copy of each stored event for a SIEM relay (syslog); never blocks or throws. */
export interface AuditForwarder {
  send(event: AuditEvent): void;
}

export interface ExportSink {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export interface ExportTarget {
  readonly bucket: string;
  open(key: string, contentType: string): ExportSink;
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T | undefined>;
}

/** What the read detections remember between runs (kept with the vault's state, not in the append-only audit table). */
export interface DetectionState {
  /** When `path` of `tenantId` was last read (ms), after recording `at` as the new last read. */
  swapLastRead(tenantId: string, path: string, at: number): Promise<number | undefined>;
  /** Records that `identityId` read `path`; true the first time. */
  markReader(tenantId: string, path: string, identityId: string): Promise<boolean>;
}

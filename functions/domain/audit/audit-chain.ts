// Sealing and verifying the audit chain. The sealer folds the events of each
// window (afterKey, throughKey] into a block: their Merkle root, the previous
// block's hash and the leaf list, written to DynamoDB and anchored outside it.
// Verify recomputes everything from the stored events and names the first
// block and event that no longer match.
import { canonicalJson, genesisTime, sha256Hex, type AuditEvent } from './audit-event.js';
import { leafHash, MerkleTree } from './merkle.js';
import type { AuditAnchors, AuditBlock, AuditBlockHeader, AuditDivergence, AuditStore, StoredAuditEvent, VerificationRecord } from '../ports/audit.js';

export const ZERO_HASH = '0'.repeat(64);
/** How long a verify run takes a new head without its anchor for a seal still under way. */
export const UNANCHORED_HEAD_GRACE_MS = 60_000;
/** Sorts after every `#<event id>` suffix: `<time>#~` closes a window at `time`. */
const WINDOW_END = '#~';

export const blockHash = (header: AuditBlockHeader): string =>
  sha256Hex(
    canonicalJson({
      seq: header.seq,
      afterKey: header.afterKey,
      throughKey: header.throughKey,
      count: header.count,
      merkleRoot: header.merkleRoot,
      prevHash: header.prevHash,
      sealedAt: header.sealedAt,
    }),
  );

/** A block's leaf entry, `<event key> <leaf hash>`, and its two halves. */
const leafEntry = (stored: StoredAuditEvent): string => `${stored.key} ${leafHash(stored.event)}`;
export const leafOf = (entry: string): string => entry.slice(entry.indexOf(' ') + 1);
export const keyOf = (entry: string): string => entry.slice(0, entry.indexOf(' '));
const eventIdOfKey = (key: string): string => key.slice(key.indexOf('#') + 1);

export const buildBlock = (
  previous: Pick<AuditBlock, 'seq' | 'throughKey' | 'hash'> | undefined,
  genesisKey: string,
  events: readonly StoredAuditEvent[],
  throughKey: string,
  sealedAt: string,
): AuditBlock => {
  const leaves = events.map(leafEntry);
  const header: AuditBlockHeader = {
    seq: previous ? previous.seq + 1 : 0,
    afterKey: previous ? previous.throughKey : genesisKey,
    throughKey,
    count: events.length,
    merkleRoot: new MerkleTree(leaves.map(leafOf)).root,
    prevHash: previous ? previous.hash : ZERO_HASH,
    sealedAt,
  };
  return { ...header, hash: blockHash(header), leaves };
};

export interface SealOptions {
  readonly graceMs: number;
  readonly blockMaxEvents: number;
  readonly blocksPerRun: number;
}

export interface SealResult {
  readonly blocks: readonly AuditBlock[];
  /** The events those blocks sealed, in order, for the detections. */
  readonly events: readonly AuditEvent[];
  /** Everything up to this key is sealed. */
  readonly sealedThrough: string | undefined;
}

export class AuditSealer {
  private genesis: string | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly anchors: AuditAnchors,
    private readonly options: SealOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Seals everything older than the grace period: at least one block per run
   * (an empty one when nothing happened, so the seal time shows the sealer is
   * alive), more when a window holds more than blockMaxEvents.
   */
  async seal(): Promise<SealResult> {
    const genesis = (this.genesis ??= await this.store.ensureGenesis(genesisTime(this.now())));
    let head = await this.store.latestBlock();
    // A run that stopped between the block write and its anchor finishes that anchor first.
    if (head && !(await this.anchors.exists(head.seq))) await this.anchors.put(head);
    const cutoffKey = new Date(this.now() - this.options.graceMs).toISOString() + WINDOW_END;
    const blocks: AuditBlock[] = [];
    const events: AuditEvent[] = [];
    while (blocks.length < this.options.blocksPerRun) {
      const afterKey = head ? head.throughKey : genesis;
      if (afterKey >= cutoffKey) break;
      const window = await this.store.events({ afterKey, throughKey: cutoffKey }, this.options.blockMaxEvents);
      const full = window.length === this.options.blockMaxEvents;
      if (window.length === 0 && blocks.length > 0) break;
      const block = buildBlock(head, genesis, window, full ? window.at(-1)!.key : cutoffKey, new Date(this.now()).toISOString());
      // Another sealer took this sequence number: it seals this run's windows.
      if (!(await this.store.putBlock(block))) break;
      await this.anchors.put(block);
      blocks.push(block);
      events.push(...window.map((stored) => stored.event));
      head = block;
      if (!full) break;
    }
    return { blocks, events, sealedThrough: head?.throughKey };
  }
}

export interface VerifyOptions {
  readonly fromSeq?: number;
  readonly maxBlocks?: number;
  /** Stop after the block that finishes at or past this time (epoch ms): a bounded slice. */
  readonly untilMs?: number;
  /** The chain's head as the caller read it before the run (null: no block yet); read here when not given. */
  readonly head?: AuditBlock | null;
}

export interface VerifyResult {
  readonly ok: boolean;
  readonly checkedBlocks: number;
  readonly checkedEvents: number;
  readonly fromSeq: number;
  /** The block after the last one checked. */
  readonly nextSeq: number;
  readonly divergence?: AuditDivergence;
  /** The range starts past the chain's head: nothing to check, and nothing contradicts the chain. */
  readonly pastHead?: boolean;
}

/** Compares the trusted leaf list with the stored events, both in key order; names the first difference. */
const compareLeaves = (seq: number, trusted: readonly string[], stored: readonly StoredAuditEvent[]): AuditDivergence | undefined => {
  const length = Math.max(trusted.length, stored.length);
  for (let i = 0; i < length; i += 1) {
    const expected = trusted[i];
    const actual = stored[i];
    if (expected !== undefined && actual !== undefined && keyOf(expected) === actual.key) {
      if (leafOf(expected) !== leafHash(actual.event))
        return { blockSeq: seq, eventId: actual.event.eventId, eventKey: actual.key, reason: 'event altered after sealing' };
      continue;
    }
    if (expected !== undefined && (actual === undefined || keyOf(expected) < actual.key)) {
      return { blockSeq: seq, eventId: eventIdOfKey(keyOf(expected)), eventKey: keyOf(expected), reason: 'sealed event missing from storage' };
    }
    return { blockSeq: seq, eventId: actual!.event.eventId, eventKey: actual!.key, reason: 'event inserted into a sealed window' };
  }
  return undefined;
};

export class AuditVerifier {
  constructor(
    private readonly store: AuditStore,
    private readonly anchors: AuditAnchors,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Checks blocks from `fromSeq` (the whole chain by default), at most
   * `maxBlocks` and, given `untilMs`, until that time: each block's link and
   * hash, its anchor, its Merkle root, and every event in its window against
   * the anchored leaves.
   */
  async verify(options: VerifyOptions = {}): Promise<VerifyResult> {
    return this.verifyThrough(options, await this.headOf(options));
  }

  /** The head a run starts from: the caller's, or the chain's now. */
  private async headOf(options: VerifyOptions): Promise<AuditBlock | undefined> {
    return options.head === undefined ? this.store.latestBlock() : (options.head ?? undefined);
  }

  /**
   * `verify` up to `head`, the chain's head as the run starts. Blocks the
   * scheduler seals while the run walks are the next run's: one read before
   * its anchor is written would otherwise look unanchored.
   */
  private async verifyThrough(options: VerifyOptions, head: AuditBlock | undefined): Promise<VerifyResult> {
    const fromSeq = options.fromSeq ?? 0;
    /** The first block past the head; before it when the head is still being sealed. */
    const end = head ? ((await this.beingSealed(head)) ? head.seq : head.seq + 1) : 0;
    let maxBlocks = options.maxBlocks ?? Number.POSITIVE_INFINITY;
    let prevHash = ZERO_HASH;
    let expectedAfter = await this.store.genesis();
    if (fromSeq > 0) {
      const before = await this.store.block(fromSeq - 1);
      if (!before) {
        // Asking past the head is a caller's range, not stored data contradicting the chain; a missing block below the head, or one anchored above it, is.
        if (fromSeq - 1 >= end && !(await this.anchoredButMissing(end))) return { ...this.result(fromSeq, fromSeq, 0, 0), pastHead: true };
        const missing = Math.min(fromSeq - 1, end);
        return this.result(fromSeq, fromSeq, 0, 0, {
          blockSeq: missing,
          reason: missing === fromSeq - 1 ? 'block missing from storage' : 'anchored block missing from storage',
        });
      }
      prevHash = before.hash;
      expectedAfter = before.throughKey;
    }
    let seq = fromSeq;
    let checkedEvents = 0;
    while (seq < end && seq - fromSeq < maxBlocks) {
      const page = await this.store.blocks(seq, Math.min(100, maxBlocks - (seq - fromSeq), end - seq));
      if (page.length === 0) break;
      for (const block of page) {
        const divergence = block.seq !== seq ? { blockSeq: seq, reason: 'block missing from storage' } : await this.checkBlock(block, prevHash, expectedAfter);
        if (divergence) return this.result(fromSeq, seq, seq - fromSeq, checkedEvents, divergence);
        checkedEvents += block.count;
        prevHash = block.hash;
        expectedAfter = block.throughKey;
        seq += 1;
        // Out of time: this slice ends here, as if it had been given this many blocks.
        if (options.untilMs !== undefined && this.now() >= options.untilMs) maxBlocks = seq - fromSeq;
        if (seq - fromSeq >= maxBlocks) break;
      }
    }
    // Where the walk stopped short of its budget, at the head or a gap: a block anchored there but missing from DynamoDB.
    if (seq - fromSeq < maxBlocks && (await this.anchoredButMissing(seq))) {
      return this.result(fromSeq, seq, seq - fromSeq, checkedEvents, { blockSeq: seq, reason: 'anchored block missing from storage' });
    }
    return this.result(fromSeq, seq, seq - fromSeq, checkedEvents);
  }

  /**
   * A head sealed moments ago whose anchor is not written yet (the sealer writes the block, then its anchor):
   * the next run checks it. One still unanchored after UNANCHORED_HEAD_GRACE_MS is reported (the sealer
   * anchors a head left so on its next run).
   */
  private async beingSealed(head: AuditBlock): Promise<boolean> {
    return this.now() - Date.parse(head.sealedAt) < UNANCHORED_HEAD_GRACE_MS && !(await this.anchors.exists(head.seq));
  }

  /** The sealer writes a block before its anchor, so a block sealed since the head was read is in DynamoDB by the time its anchor is. */
  private async anchoredButMissing(seq: number): Promise<boolean> {
    return (await this.anchors.exists(seq)) && !(await this.store.block(seq));
  }

  /**
   * Runs `verify` and keeps its outcome, append-only, for the divergence gauge.
   * `passCleanSoFar`: the slices before this one, back to block 0, found nothing
   * (a run from block 0 starts a pass of its own).
   */
  async verifyAndRecord(options: VerifyOptions = {}, passCleanSoFar = (options.fromSeq ?? 0) === 0): Promise<VerifyResult> {
    // The head as the run starts: a run that reached it is complete, whatever was sealed meanwhile.
    const head = await this.headOf(options);
    const result = await this.verifyThrough(options, head);
    // Nothing was verified, so nothing is recorded: the gauge and a pass of slices stay as they were.
    if (result.pastHead) return result;
    const reachedHead = !head || result.nextSeq > head.seq;
    const record: VerificationRecord = {
      at: new Date(this.now()).toISOString(),
      // The whole chain, from block 0 to the head, in this run or in this pass's slices.
      full: reachedHead && passCleanSoFar,
      passClean: passCleanSoFar && result.ok,
      fromSeq: result.fromSeq,
      nextSeq: reachedHead || result.divergence ? 0 : result.nextSeq,
      ...(result.divergence ? { divergence: result.divergence } : {}),
    };
    await this.store.appendVerification(record);
    return result;
  }

  /**
   * One bounded slice of a continuous pass over the chain (the scheduler's):
   * picks up where the last slice stopped, and starts over at block 0 after
   * reaching the head or finding a divergence. A pass whose slices all come
   * back clean counts as a full verification.
   */
  async verifyNextSlice(budget: { maxBlocks?: number; untilMs?: number }): Promise<VerifyResult> {
    const last = await this.store.latestVerification('any');
    const fromSeq = last?.nextSeq ?? 0;
    return this.verifyAndRecord({ ...budget, fromSeq }, fromSeq === 0 || (last?.passClean ?? false));
  }

  /** 1 while the newest divergence found is newer than the newest clean full pass. */
  async divergenceGauge(): Promise<number> {
    const [divergent, clean] = await Promise.all([this.store.latestVerification('divergent'), this.store.latestVerification('clean-full')]);
    return divergent && (!clean || clean.at < divergent.at) ? 1 : 0;
  }

  private async checkBlock(block: AuditBlock, prevHash: string, expectedAfter: string | undefined): Promise<AuditDivergence | undefined> {
    const seq = block.seq;
    if (block.prevHash !== prevHash) return { blockSeq: seq, reason: 'chain broken: prevHash does not match the previous block' };
    if (expectedAfter !== undefined && block.afterKey !== expectedAfter)
      return { blockSeq: seq, reason: 'chain broken: window does not start where the previous block ended' };
    if (blockHash(block) !== block.hash) return { blockSeq: seq, reason: 'block altered: its hash does not match its contents' };
    const anchor = await this.anchors.get(seq);
    if (!anchor) return { blockSeq: seq, reason: 'anchor missing' };
    if (anchor.hash !== block.hash || blockHash(anchor) !== anchor.hash || anchor.leaves.join('\n') !== block.leaves.join('\n')) {
      return { blockSeq: seq, reason: 'block differs from its anchor' };
    }
    const trusted = anchor.leaves;
    if (trusted.length !== anchor.count || new MerkleTree(trusted.map(leafOf)).root !== anchor.merkleRoot) {
      return { blockSeq: seq, reason: 'anchored leaves do not match the anchored Merkle root' };
    }
    const stored = await this.store.events({ afterKey: block.afterKey, throughKey: block.throughKey });
    return compareLeaves(seq, trusted, stored);
  }

  private result(fromSeq: number, nextSeq: number, checkedBlocks: number, checkedEvents: number, divergence?: AuditDivergence): VerifyResult {
    return { ok: !divergence, fromSeq, nextSeq, checkedBlocks, checkedEvents, ...(divergence ? { divergence } : {}) };
  }
}

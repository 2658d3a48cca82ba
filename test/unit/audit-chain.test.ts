import { describe, expect, it } from 'vitest';
import { AuditSealer, AuditVerifier, blockHash, UNANCHORED_HEAD_GRACE_MS, ZERO_HASH, type SealResult } from '../../functions/domain/audit/audit-chain.js';
import { auditKeyOf, genesisTime, type AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { EMPTY_ROOT } from '../../functions/domain/audit/merkle.js';
import { auditClock, InMemoryAuditAnchors, InMemoryAuditStore, sampleEvent, T0 } from './support/in-memory-audit.js';
import type { AuditBlock } from '../../functions/domain/ports/audit.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const setup = (options: { graceMs?: number; blockMaxEvents?: number; blocksPerRun?: number } = {}) => {
  const store = new InMemoryAuditStore();
  const anchors = new InMemoryAuditAnchors();
  const clock = auditClock();
  const sealOptions = { graceMs: options.graceMs ?? 0, blockMaxEvents: options.blockMaxEvents ?? 1000, blocksPerRun: options.blocksPerRun ?? 100 };
  const sealer = new AuditSealer(store, anchors, sealOptions, clock.now);
  const verifier = new AuditVerifier(store, anchors, clock.now);
  /** Writes one event per offset (ms after T0), recording the genesis first as the log does. */
  const write = async (...offsets: number[]): Promise<AuditEvent[]> => {
    await store.ensureGenesis(iso(T0));
    const events = offsets.map((offset, i) => sampleEvent({ time: iso(T0 + offset), path: `app/s${offset}-${i}` }));
    if (events.length) await store.append(events);
    return events;
  };
  return { store, anchors, clock, sealer, verifier, write, sealOptions };
};

const chainOf = (store: InMemoryAuditStore): AuditBlock[] => [...store.blockItems.values()].sort((a, b) => a.seq - b.seq);

/** Every block links to the one before, continues its window and hashes to its hash. */
const expectLinked = (blocks: readonly AuditBlock[], genesis: string): void => {
  blocks.forEach((block, i) => {
    expect(block.seq).toBe(i);
    expect(block.prevHash).toBe(i === 0 ? ZERO_HASH : blocks[i - 1]!.hash);
    expect(block.afterKey).toBe(i === 0 ? genesis : blocks[i - 1]!.throughKey);
    expect(block.hash).toBe(blockHash(block));
    expect(block.leaves).toHaveLength(block.count);
  });
};

const sealedIds = (result: SealResult): string[] => result.events.map((event) => event.eventId);

describe('AuditSealer', () => {
  it('seals only events older than the grace period, and the rest on a later run', async () => {
    const { store, anchors, clock, sealer, write } = setup({ graceMs: 2000 });
    const [early, late] = await write(1000, 5000);
    clock.set(T0 + 6000);
    const first = await sealer.seal();
    expect(first.blocks).toHaveLength(1);
    expect(sealedIds(first)).toEqual([early!.eventId]);
    expect(first.blocks[0]!.throughKey).toBe(`${iso(T0 + 4000)}#~`);
    expect(first.sealedThrough).toBe(first.blocks[0]!.throughKey);

    clock.set(T0 + 6999);
    expect(sealedIds(await sealer.seal())).toEqual([]);
    clock.set(T0 + 7000);
    const second = await sealer.seal();
    expect(sealedIds(second)).toEqual([late!.eventId]);
    expectLinked(chainOf(store), iso(T0));
    expect([...anchors.objects.keys()].sort()).toEqual(chainOf(store).map((block) => block.seq));
  });

  it('includes an event whose time is exactly the cutoff', async () => {
    const { clock, sealer, write } = setup({ graceMs: 1000 });
    const [event] = await write(3000);
    clock.set(T0 + 4000);
    expect(sealedIds(await sealer.seal())).toEqual([event!.eventId]);
  });

  it('splits a window at blockMaxEvents and links the blocks', async () => {
    const { store, clock, sealer, write } = setup({ blockMaxEvents: 3 });
    const events = await write(1, 2, 3, 4, 5, 6, 7);
    clock.set(T0 + 10_000);
    const result = await sealer.seal();
    expect(result.blocks.map((block) => block.count)).toEqual([3, 3, 1]);
    expect(result.blocks[0]!.throughKey).toBe(auditKeyOf(events[2]!));
    expect(result.blocks[1]!.throughKey).toBe(auditKeyOf(events[5]!));
    expect(result.blocks[2]!.throughKey).toBe(`${iso(T0 + 10_000)}#~`);
    expect(sealedIds(result)).toEqual(events.map((event) => event.eventId));
    expectLinked(chainOf(store), iso(T0));
  });

  it('stops at blocksPerRun and carries on from there next run', async () => {
    const { store, clock, sealer, write } = setup({ blockMaxEvents: 2, blocksPerRun: 2 });
    const events = await write(1, 2, 3, 4, 5);
    clock.set(T0 + 10_000);
    const first = await sealer.seal();
    expect(first.blocks).toHaveLength(2);
    expect(first.sealedThrough).toBe(auditKeyOf(events[3]!));
    const second = await sealer.seal();
    expect(second.blocks.map((block) => block.count)).toEqual([1]);
    expect([...sealedIds(first), ...sealedIds(second)]).toEqual(events.map((event) => event.eventId));
    expectLinked(chainOf(store), iso(T0));
  });

  it('writes exactly one empty block per run when nothing happened', async () => {
    const { store, clock, sealer, write } = setup({ graceMs: 1000 });
    await write();
    clock.set(T0 + 60_000);
    const first = await sealer.seal();
    expect(first.blocks).toHaveLength(1);
    expect(first.blocks[0]).toMatchObject({ seq: 0, count: 0, merkleRoot: EMPTY_ROOT, leaves: [], afterKey: iso(T0), throughKey: `${iso(T0 + 59_000)}#~` });
    // Nothing newer than the last seal: nothing to add.
    expect((await sealer.seal()).blocks).toHaveLength(0);
    clock.advance(60_000);
    const next = await sealer.seal();
    expect(next.blocks.map((block) => block.count)).toEqual([0]);
    expectLinked(chainOf(store), iso(T0));
  });

  it('records the genesis itself, a minute back, when no event was ever written', async () => {
    const { store, sealer } = setup({ graceMs: 1000 });
    const result = await sealer.seal();
    expect(store.genesisTime).toBe(genesisTime(T0));
    expect(result.blocks).toMatchObject([{ seq: 0, count: 0, afterKey: genesisTime(T0), throughKey: `${iso(T0 - 1000)}#~` }]);
  });

  it('seals nothing while the cutoff is not past the genesis', async () => {
    const { store, sealer } = setup({ graceMs: 120_000 });
    expect((await sealer.seal()).blocks).toHaveLength(0);
    expect(store.blockItems.size).toBe(0);
  });

  it('does not fork when two sealers run at once', async () => {
    const { store, anchors, clock, sealer, verifier, write, sealOptions } = setup({ blockMaxEvents: 7 });
    const events = await write(...Array.from({ length: 50 }, (_, i) => i + 1));
    clock.set(T0 + 10_000);
    const other = new AuditSealer(store, anchors, sealOptions, () => clock.now() + 3);
    const [a, b] = await Promise.all([sealer.seal(), other.seal()]);
    const rest = await sealer.seal();
    const chain = chainOf(store);
    expectLinked(chain, iso(T0));
    // Each event sealed exactly once, in one block, whichever sealer wrote it.
    const leaves = chain.flatMap((block) => block.leaves.map((entry) => entry.split(' ')[0]));
    expect(leaves).toEqual(events.map(auditKeyOf));
    expect([...sealedIds(a), ...sealedIds(b), ...sealedIds(rest)].sort()).toEqual(events.map((event) => event.eventId).sort());
    // What is anchored is what is stored.
    for (const block of chain) expect(anchors.objects.get(block.seq)).toEqual(block);
    expect((await verifier.verify()).ok).toBe(true);
  });

  it('anchors the head first when the previous run stopped between block and anchor', async () => {
    const { store, anchors, clock, sealer, verifier, write } = setup();
    await write(1, 2);
    clock.set(T0 + 1000);
    const put = anchors.put.bind(anchors);
    anchors.put = async () => Promise.reject(new Error('s3 down'));
    await expect(sealer.seal()).rejects.toThrow('s3 down');
    expect(store.blockItems.has(0)).toBe(true);
    expect(anchors.objects.has(0)).toBe(false);
    // Moments after the seal it may still be writing the anchor: the run stops before the head.
    expect(await verifier.verify()).toMatchObject({ ok: true, checkedBlocks: 0, nextSeq: 0 });
    // Still unanchored a minute on: reported.
    clock.advance(UNANCHORED_HEAD_GRACE_MS);
    expect((await verifier.verify()).divergence).toMatchObject({ blockSeq: 0, reason: 'anchor missing' });

    anchors.put = put;
    clock.advance(1000);
    const next = await sealer.seal();
    expect(anchors.objects.get(0)).toEqual(store.blockItems.get(0));
    expect(next.blocks.map((block) => block.seq)).toEqual([1]);
    expect((await verifier.verify()).ok).toBe(true);
  });
});

describe('AuditVerifier', () => {
  /** Ten events in blocks of 4, 4, 2, then one empty block. */
  const sealedChain = async () => {
    const context = setup({ blockMaxEvents: 4 });
    const events = await context.write(...Array.from({ length: 10 }, (_, i) => 10 * (i + 1)));
    context.clock.set(T0 + 1000);
    await context.sealer.seal();
    context.clock.set(T0 + 2000);
    await context.sealer.seal();
    expect(chainOf(context.store).map((block) => block.count)).toEqual([4, 4, 2, 0]);
    context.clock.set(T0 + 3000);
    return { ...context, events };
  };

  it('accepts an untouched chain and counts what it checked', async () => {
    const { verifier } = await sealedChain();
    expect(await verifier.verify()).toEqual({ ok: true, fromSeq: 0, nextSeq: 4, checkedBlocks: 4, checkedEvents: 10 });
    expect(await verifier.verify({ fromSeq: 1, maxBlocks: 2 })).toEqual({ ok: true, fromSeq: 1, nextSeq: 3, checkedBlocks: 2, checkedEvents: 6 });
  });

  it('accepts an empty chain', async () => {
    const { verifier } = setup();
    expect(await verifier.verify()).toMatchObject({ ok: true, checkedBlocks: 0, nextSeq: 0 });
  });

  it('names the event altered after sealing, and its block', async () => {
    const { store, verifier, events } = await sealedChain();
    const target = events[5]!;
    const { key } = store.find(target.eventId);
    store.items.set(key, { ...target, outcome: 'denied' });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, eventId: target.eventId, eventKey: key, reason: 'event altered after sealing' });
  });

  it('notices an added field too, not only a changed one', async () => {
    const { store, verifier, events } = await sealedChain();
    const { key } = store.find(events[0]!.eventId);
    store.items.set(key, { ...events[0]!, details: { note: 'harmless' } });
    expect((await verifier.verify()).divergence).toMatchObject({ blockSeq: 0, eventId: events[0]!.eventId, reason: 'event altered after sealing' });
  });

  it.each([0, 2, 3])('names the deleted event %i of block 1', async (position) => {
    const { store, verifier, events } = await sealedChain();
    const target = events[4 + position]!;
    store.items.delete(store.find(target.eventId).key);
    expect((await verifier.verify()).divergence).toEqual({
      blockSeq: 1,
      eventId: target.eventId,
      eventKey: auditKeyOf(target),
      reason: 'sealed event missing from storage',
    });
  });

  it.each([
    ['before the first event', 85],
    ['between two events', 95],
    ['after the last event', 500],
  ])('names an event inserted into a sealed window %s', async (_, offset) => {
    const { store, verifier } = await sealedChain();
    const forged = sampleEvent({ time: iso(T0 + offset) });
    await store.append([forged]);
    // Block 2 holds the events at 90 and 100 ms; its window runs from the event at 80 ms to the cutoff.
    expect((await verifier.verify()).divergence).toEqual({
      blockSeq: 2,
      eventId: forged.eventId,
      eventKey: auditKeyOf(forged),
      reason: 'event inserted into a sealed window',
    });
  });

  it('names an event inserted into a sealed empty block', async () => {
    const { store, verifier } = await sealedChain();
    const forged = sampleEvent({ time: iso(T0 + 1500) });
    await store.append([forged]);
    expect((await verifier.verify()).divergence).toMatchObject({ blockSeq: 3, eventId: forged.eventId, reason: 'event inserted into a sealed window' });
  });

  it('reports the first divergent block when several are', async () => {
    const { store, verifier, events } = await sealedChain();
    store.items.delete(store.find(events[9]!.eventId).key);
    store.items.delete(store.find(events[6]!.eventId).key);
    expect((await verifier.verify()).divergence).toMatchObject({ blockSeq: 1, eventId: events[6]!.eventId });
  });

  it('names a block whose header was altered', async () => {
    const { store, verifier } = await sealedChain();
    const block = store.blockItems.get(2)!;
    store.blockItems.set(2, { ...block, count: 3 });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 2, reason: 'block altered: its hash does not match its contents' });
  });

  it('names a block whose leaves were rewritten with its hash intact', async () => {
    const { store, verifier, events } = await sealedChain();
    const block = store.blockItems.get(1)!;
    // An attacker with table access changes an event and its stored leaf together; the anchor keeps the old leaf.
    const leaves = [...block.leaves];
    leaves[0] = `${leaves[0]!.split(' ')[0]} ${'0'.repeat(64)}`;
    store.blockItems.set(1, { ...block, leaves });
    store.items.set(store.find(events[4]!.eventId).key, { ...events[4]!, outcome: 'denied' });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'block differs from its anchor' });
  });

  it('names a block edited and re-hashed in storage as differing from its anchor', async () => {
    const { store, verifier } = await sealedChain();
    const block = store.blockItems.get(1)!;
    const rebuilt = { ...block, sealedAt: iso(T0 + 999) };
    store.blockItems.set(1, { ...rebuilt, hash: blockHash(rebuilt) });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'block differs from its anchor' });
  });

  it('names a block missing from the middle of the chain', async () => {
    const { store, verifier } = await sealedChain();
    store.blockItems.delete(1);
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'block missing from storage' });
  });

  it('names a head block missing from storage but anchored', async () => {
    const { store, verifier } = await sealedChain();
    store.blockItems.delete(3);
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 3, reason: 'anchored block missing from storage' });
  });

  it('answers a range past the head as an empty verified range, records nothing, and leaves the gauge at 0', async () => {
    const fresh = setup();
    expect(await fresh.verifier.verifyAndRecord({ fromSeq: 5 })).toMatchObject({ ok: true, pastHead: true, checkedBlocks: 0, fromSeq: 5, nextSeq: 5 });
    expect(fresh.store.verifications).toHaveLength(0);
    expect(await fresh.verifier.divergenceGauge()).toBe(0);

    const { store, verifier } = await sealedChain();
    for (const fromSeq of [5, 6, 1000]) {
      const result = await verifier.verifyAndRecord({ fromSeq });
      expect(result, `from ${fromSeq}`).toMatchObject({ ok: true, pastHead: true, checkedBlocks: 0 });
      expect(result.divergence).toBeUndefined();
    }
    expect(store.verifications).toHaveLength(0);
    expect(await verifier.divergenceGauge()).toBe(0);
    // Right after the head: the empty range it always was.
    expect(await verifier.verify({ fromSeq: 4 })).toEqual({ ok: true, fromSeq: 4, nextSeq: 4, checkedBlocks: 0, checkedEvents: 0 });
  });

  it('still names a block missing below the head, or anchored past what storage holds, when asked from past it', async () => {
    const { store, verifier } = await sealedChain();
    store.blockItems.delete(1);
    expect((await verifier.verifyAndRecord({ fromSeq: 2 })).divergence).toEqual({ blockSeq: 1, reason: 'block missing from storage' });
    expect(await verifier.divergenceGauge()).toBe(1);
    const other = await sealedChain();
    other.store.blockItems.delete(3);
    expect((await other.verifier.verify({ fromSeq: 9 })).divergence).toEqual({ blockSeq: 3, reason: 'anchored block missing from storage' });
  });

  it('names a block whose anchor is missing', async () => {
    const { anchors, verifier } = await sealedChain();
    anchors.objects.delete(2);
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 2, reason: 'anchor missing' });
  });

  it('names a block whose anchor differs', async () => {
    const { anchors, verifier } = await sealedChain();
    const anchor = anchors.objects.get(1)!;
    anchors.objects.set(1, { ...anchor, hash: 'f'.repeat(64) });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'block differs from its anchor' });
    anchors.objects.set(1, { ...anchor, leaves: [...anchor.leaves].reverse() });
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'block differs from its anchor' });
  });

  it('names a broken link when a block and its anchor are replaced consistently', async () => {
    const { store, anchors, verifier } = await sealedChain();
    const block = store.blockItems.get(1)!;
    const forged = { ...block, prevHash: 'a'.repeat(64) };
    const replaced = { ...forged, hash: blockHash(forged) };
    store.blockItems.set(1, replaced);
    anchors.objects.set(1, replaced);
    expect((await verifier.verify()).divergence).toEqual({ blockSeq: 1, reason: 'chain broken: prevHash does not match the previous block' });
  });

  it('starts a later slice from the block before it', async () => {
    const { store, verifier, events } = await sealedChain();
    store.items.delete(store.find(events[0]!.eventId).key);
    expect((await verifier.verify({ fromSeq: 1 })).ok).toBe(true);
    store.blockItems.delete(1);
    expect((await verifier.verify({ fromSeq: 2 })).divergence).toEqual({ blockSeq: 1, reason: 'block missing from storage' });
  });

  it('verifyNextSlice resumes where the last slice stopped, wraps to 0 at the head, and counts a clean pass of slices as full', async () => {
    const { verifier, store, clock } = await sealedChain();
    const slices = [];
    for (let i = 0; i < 4; i += 1) {
      clock.advance(1000);
      slices.push(await verifier.verifyNextSlice({ maxBlocks: 3 }));
    }
    expect(slices.map((slice) => [slice.fromSeq, slice.nextSeq, slice.ok])).toEqual([
      [0, 3, true],
      [3, 4, true],
      [0, 3, true],
      [3, 4, true],
    ]);
    expect(store.verifications.map((record) => [record.fromSeq, record.nextSeq, record.full])).toEqual([
      [0, 3, false],
      [3, 0, true],
      [0, 3, false],
      [3, 0, true],
    ]);
  });

  it('verifyNextSlice starts over at block 0 after a divergence', async () => {
    const { verifier, store, clock, events } = await sealedChain();
    store.items.delete(store.find(events[9]!.eventId).key);
    clock.advance(1000);
    expect((await verifier.verifyNextSlice({ maxBlocks: 2 })).ok).toBe(true);
    clock.advance(1000);
    const found = await verifier.verifyNextSlice({ maxBlocks: 2 });
    expect(found.divergence).toMatchObject({ blockSeq: 2, eventId: events[9]!.eventId });
    expect(store.verifications.at(-1)).toMatchObject({ fromSeq: 2, nextSeq: 0, divergence: { blockSeq: 2 } });
    clock.advance(1000);
    expect((await verifier.verifyNextSlice({ maxBlocks: 2 })).fromSeq).toBe(0);
  });

  it('ends a slice at its time budget, after the block that reached it', async () => {
    const { store, anchors, clock } = await sealedChain();
    const deadline = clock.now() + 5;
    // Every reading of the clock moves it on, so the budget runs out part-way along the chain.
    const ticking = new AuditVerifier(store, anchors, () => {
      clock.advance(2);
      return clock.now();
    });
    const slice = await ticking.verifyNextSlice({ untilMs: deadline });
    expect(slice).toMatchObject({ ok: true, fromSeq: 0 });
    expect(slice.nextSeq).toBeGreaterThan(0);
    expect(slice.nextSeq).toBeLessThan(4);
  });

  it('clears the divergence gauge only after a pass of slices that is clean from block 0 to the head', async () => {
    const { verifier, store, clock, events } = await sealedChain();
    const { key, event } = store.find(events[9]!.eventId);
    store.items.set(key, { ...event, outcome: 'failure' });
    clock.advance(1000);
    await verifier.verifyNextSlice({ maxBlocks: 2 }); // blocks 0-1: clean
    clock.advance(1000);
    expect((await verifier.verifyNextSlice({ maxBlocks: 2 })).divergence).toMatchObject({ blockSeq: 2 });
    expect(await verifier.divergenceGauge()).toBe(1);
    store.items.set(key, event);
    clock.advance(1000);
    await verifier.verifyNextSlice({ maxBlocks: 2 }); // a new pass: blocks 0-1
    expect(await verifier.divergenceGauge()).toBe(1);
    clock.advance(1000);
    await verifier.verifyNextSlice({ maxBlocks: 2 }); // blocks 2-3 reach the head: the pass is clean and full
    expect(store.verifications.at(-1)).toMatchObject({ full: true, passClean: true });
    expect(await verifier.divergenceGauge()).toBe(0);
  });

  /** Seals block 4 the moment the walk reads the head it started with, block 3; `anchored`: whether its anchor is written yet. */
  const sealDuringWalk = async (anchored: boolean) => {
    const context = await sealedChain();
    const { store, anchors, sealer, clock, write } = context;
    const walk = store.blocks.bind(store);
    store.blocks = async (fromSeq, limit) => {
      const page = await walk(fromSeq, limit);
      if (page.some((block) => block.seq === 3) && !store.blockItems.has(4)) {
        await write(2500);
        clock.set(T0 + 4000);
        expect((await sealer.seal()).blocks.map((block) => block.seq)).toEqual([4]);
        // The sealer writes the block, then its anchor: a run can fall between the two.
        if (!anchored) anchors.objects.delete(4);
      }
      return page;
    };
    return context;
  };

  for (const anchored of [true, false]) {
    it(`a block sealed while a run walks the chain (${anchored ? 'anchored' : 'not anchored yet'}) neither shortens the run nor reads as a divergence`, async () => {
      const { verifier, store } = await sealDuringWalk(anchored);
      expect(await verifier.verifyAndRecord()).toEqual({ ok: true, fromSeq: 0, nextSeq: 4, checkedBlocks: 4, checkedEvents: 10 });
      expect(store.verifications.at(-1)).toMatchObject({ full: true, passClean: true, nextSeq: 0 });
      expect(await verifier.divergenceGauge()).toBe(0);
    });
  }

  it('a range past the head stays past it when a block is sealed and anchored while the run starts', async () => {
    const { verifier, store, anchors, sealer, clock, write } = await sealedChain();
    const exists = anchors.exists.bind(anchors);
    // Block 4 lands between the run's read of the head (3) and its look for an anchor past it.
    anchors.exists = async (seq) => {
      if (seq === 4 && !store.blockItems.has(4)) {
        await write(2500);
        clock.set(T0 + 4000);
        await sealer.seal();
      }
      return exists(seq);
    };
    expect(await verifier.verifyAndRecord({ fromSeq: 6 })).toMatchObject({ ok: true, pastHead: true, checkedBlocks: 0 });
    expect(await verifier.divergenceGauge()).toBe(0);
  });

  it('divergenceGauge is 1 from a divergence until the next clean full pass', async () => {
    const { verifier, store, clock, events } = await sealedChain();
    expect(await verifier.divergenceGauge()).toBe(0);
    await verifier.verifyAndRecord();
    expect(store.verifications.at(-1)).toMatchObject({ full: true, nextSeq: 0 });
    expect(await verifier.divergenceGauge()).toBe(0);

    const { key, event } = store.find(events[2]!.eventId);
    store.items.set(key, { ...event, path: 'other' });
    clock.advance(1000);
    await verifier.verifyAndRecord();
    expect(await verifier.divergenceGauge()).toBe(1);

    store.items.set(key, event);
    clock.advance(1000);
    // A clean partial slice does not clear it; a clean full pass does.
    await verifier.verifyAndRecord({ fromSeq: 1 });
    expect(await verifier.divergenceGauge()).toBe(1);
    clock.advance(1000);
    await verifier.verifyAndRecord({ maxBlocks: 2 });
    expect(await verifier.divergenceGauge()).toBe(1);
    clock.advance(1000);
    await verifier.verifyAndRecord();
    expect(await verifier.divergenceGauge()).toBe(0);
  });
});

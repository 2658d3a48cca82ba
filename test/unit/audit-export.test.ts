import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { AuditSealer } from '../../functions/domain/audit/audit-chain.js';
import { auditKeyOf, type AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { AuditExporter, exportIdOf, exportManifestKey, exportObjectKey, type ExportRequest } from '../../functions/domain/audit/audit-export.js';
import { leafHash, verifyProof, type ProofStep } from '../../functions/domain/audit/merkle.js';
import { IntegrityError } from '../../functions/domain/errors.js';
import { auditClock, InMemoryAuditAnchors, InMemoryExportTarget, InMemoryAuditStore, sampleEvent, T0 } from './support/in-memory-audit.js';

interface Line {
  readonly event: AuditEvent;
  readonly block: { seq: number; hash: string; merkle_root: string };
  readonly leaf: string;
  readonly proof: ProofStep[];
}

const at = (ms: number): string => new Date(ms).toISOString();

/** 20 events 100 ms apart from T0+100, alternating tenants, types and identities, sealed in blocks of 4; then 2 unsealed ones. */
const sealedTrail = async () => {
  const store = new InMemoryAuditStore();
  const clock = auditClock();
  await store.ensureGenesis(at(T0));
  const events = Array.from({ length: 20 }, (_, i) =>
    sampleEvent({
      time: at(T0 + 100 * (i + 1)),
      tenantId: i % 2 === 0 ? 'acme' : 'globex',
      type: i % 5 === 0 ? 'secret.write' : 'secret.read',
      identityId: `user:${['alice', 'bob', 'carol'][i % 3]}`,
      path: i % 4 === 0 ? `prod/db/${i}` : `app/cfg/${i}`,
      outcome: i % 7 === 0 ? 'denied' : 'success',
    }),
  );
  await store.append(events);
  clock.set(T0 + 5000);
  await new AuditSealer(store, new InMemoryAuditAnchors(), { graceMs: 0, blockMaxEvents: 4, blocksPerRun: 100 }, clock.now).seal();
  const unsealed = [sampleEvent({ time: at(T0 + 6000) }), sampleEvent({ time: at(T0 + 7000) })];
  await store.append(unsealed);
  const target = new InMemoryExportTarget();
  const exporter = new AuditExporter(store, target, clock.now);
  return { store, target, exporter, events, unsealed };
};

const run = async (context: Awaited<ReturnType<typeof sealedTrail>>, request: ExportRequest) => {
  const exportId = exportIdOf(request);
  const manifest = await context.exporter.run(exportId, request);
  const bytes = context.target.objects.get(exportObjectKey(exportId))!;
  const lines = gunzipSync(bytes)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Line);
  return { exportId, manifest, bytes, lines };
};

const everything: ExportRequest = { from: at(T0), to: at(T0 + 10_000), filters: {} };

describe('AuditExporter', () => {
  it('exports every sealed event in key order, each with a proof that verifies against its block', async () => {
    const context = await sealedTrail();
    const { lines, manifest } = await run(context, everything);
    expect(lines.map((line) => line.event)).toEqual(context.events);
    for (const line of lines) {
      const block = context.store.blockItems.get(line.block.seq)!;
      expect(line.block).toEqual({ seq: block.seq, hash: block.hash, merkle_root: block.merkleRoot });
      expect(line.leaf).toBe(leafHash(line.event));
      expect(verifyProof(line.leaf, line.proof, line.block.merkle_root)).toBe(true);
      expect(
        verifyProof(leafHash({ ...line.event, outcome: line.event.outcome === 'success' ? 'denied' : 'success' }), line.proof, line.block.merkle_root),
      ).toBe(false);
    }
    expect(manifest).toMatchObject({ count: 20, blocks: { first: 0, last: 4 } });
  });

  it('leaves out events not sealed yet', async () => {
    const context = await sealedTrail();
    const { lines } = await run(context, everything);
    const ids = lines.map((line) => line.event.eventId);
    for (const event of context.unsealed) expect(ids).not.toContain(event.eventId);
    expect(await context.exporter.sealedThrough()).toBe(auditKeyOf(context.events[19]!));
  });

  it('includes both ends of the range and nothing outside it', async () => {
    const context = await sealedTrail();
    // Events 5..12 sit at T0+600..T0+1300.
    const { lines, manifest } = await run(context, { from: at(T0 + 600), to: at(T0 + 1300), filters: {} });
    expect(lines.map((line) => line.event.eventId)).toEqual(context.events.slice(5, 13).map((event) => event.eventId));
    expect(manifest.blocks).toEqual({ first: 1, last: 3 });
    const narrow = await run(context, { from: at(T0 + 601), to: at(T0 + 1299), filters: {} });
    expect(narrow.lines.map((line) => line.event.eventId)).toEqual(context.events.slice(6, 12).map((event) => event.eventId));
    const single = await run(context, { from: at(T0 + 700), to: at(T0 + 700), filters: {} });
    expect(single.lines.map((line) => line.event.eventId)).toEqual([context.events[6]!.eventId]);
  });

  it('writes an empty export with a manifest for a range with no events', async () => {
    const context = await sealedTrail();
    const { lines, manifest, bytes } = await run(context, { from: at(T0 + 101), to: at(T0 + 199), filters: {} });
    expect(lines).toEqual([]);
    expect(manifest).toMatchObject({ count: 0, bytes: bytes.length, blocks: { first: null, last: null } });
  });

  it.each([
    ['type', { type: 'secret.write' }, (e: AuditEvent) => e.type === 'secret.write'],
    ['identity', { identityId: 'user:bob' }, (e: AuditEvent) => e.identityId === 'user:bob'],
    ['tenant', { tenantId: 'globex' }, (e: AuditEvent) => e.tenantId === 'globex'],
    ['exact path', { path: 'prod/db/8' }, (e: AuditEvent) => e.path === 'prod/db/8'],
    ['path prefix', { path: 'prod/*' }, (e: AuditEvent) => e.path!.startsWith('prod/')],
    ['outcome', { outcome: 'denied' }, (e: AuditEvent) => e.outcome === 'denied'],
    ['tenant and identity', { tenantId: 'acme', identityId: 'user:alice' }, (e: AuditEvent) => e.tenantId === 'acme' && e.identityId === 'user:alice'],
  ])('filters by %s, and filtered lines still prove', async (_, filters, keep) => {
    const context = await sealedTrail();
    const { lines, manifest } = await run(context, { ...everything, filters });
    const expected = context.events.filter(keep);
    expect(expected.length).toBeGreaterThan(0);
    expect(lines.map((line) => line.event.eventId)).toEqual(expected.map((event) => event.eventId));
    for (const line of lines) expect(verifyProof(line.leaf, line.proof, line.block.merkle_root)).toBe(true);
    expect(manifest.count).toBe(expected.length);
    expect(manifest.filters).toEqual(filters);
  });

  it('writes a manifest whose sha256 and size are those of the object written', async () => {
    const context = await sealedTrail();
    const { exportId, manifest, bytes } = await run(context, everything);
    expect(manifest).toEqual({
      export_id: exportId,
      format: 'jsonl+gzip',
      bucket: context.target.bucket,
      object_key: exportObjectKey(exportId),
      count: 20,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      range: { from: everything.from, to: everything.to },
      filters: {},
      blocks: { first: 0, last: 4 },
      created_at: at(T0 + 5000),
    });
    expect(JSON.parse(context.target.json.get(exportManifestKey(exportId))!)).toEqual(manifest);
  });

  it('returns the existing manifest on a re-run without exporting again', async () => {
    const context = await sealedTrail();
    const first = await run(context, everything);
    await context.store.append([sampleEvent({ time: at(T0 + 150) })]);
    const again = await context.exporter.run(first.exportId, everything);
    expect(again).toEqual(first.manifest);
    expect(context.target.opened).toBe(1);
  });

  it('names the same request the same export whatever the key order, and another request another one', () => {
    const a = exportIdOf({ from: at(T0), to: at(T0 + 1), filters: { type: 'x', tenantId: 'y' } });
    expect(exportIdOf({ filters: { tenantId: 'y', type: 'x' }, to: at(T0 + 1), from: at(T0) })).toBe(a);
    expect(a).toMatch(/^exp_[0-9a-f]{32}$/);
    expect(exportIdOf({ from: at(T0), to: at(T0 + 2), filters: { type: 'x', tenantId: 'y' } })).not.toBe(a);
  });

  it('refuses to export an event that no longer matches its block, aborting the upload and writing no manifest', async () => {
    const context = await sealedTrail();
    const { key, event } = context.store.find(context.events[9]!.eventId);
    context.store.items.set(key, { ...event, outcome: 'error' });
    const exportId = exportIdOf(everything);
    await expect(context.exporter.run(exportId, everything)).rejects.toBeInstanceOf(IntegrityError);
    expect(context.target.aborted).toBe(1);
    expect(context.target.objects.size).toBe(0);
    expect(await context.exporter.manifest(exportId)).toBeUndefined();
  });

  it('refuses an event inserted into a sealed window', async () => {
    const context = await sealedTrail();
    await context.store.append([sampleEvent({ time: at(T0 + 150) })]);
    await expect(run(context, everything)).rejects.toBeInstanceOf(IntegrityError);
  });
});

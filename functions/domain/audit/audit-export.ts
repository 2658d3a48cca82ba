// Audit export for a SIEM: the sealed events of a time range, filtered, as
// gzipped JSON lines, each with its block and Merkle inclusion proof, plus a
// manifest (count, sha256 of the object, range). Events stream block by block,
// so memory holds one block's leaves and one upload part, whatever the range.
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { AUDIT_EXPORT_PREFIX } from '../../runtime/definitions.js';
import { IntegrityError } from '../errors.js';
import { keyOf, leafOf } from './audit-chain.js';
import { canonicalJson, sha256Hex } from './audit-event.js';
import { leafHash, MerkleTree } from './merkle.js';
import type { AuditBlock, AuditStore, ExportTarget } from '../ports/audit.js';

export interface ExportFilters {
  readonly type?: string;
  readonly identityId?: string;
  readonly tenantId?: string;
  readonly path?: string;
  readonly outcome?: string;
}

export interface ExportRequest {
  /** ISO instants, both inclusive. */
  readonly from: string;
  readonly to: string;
  readonly filters: ExportFilters;
}

export interface ExportManifest {
  readonly export_id: string;
  readonly format: 'jsonl+gzip';
  readonly bucket: string;
  readonly object_key: string;
  readonly count: number;
  readonly bytes: number;
  /** sha256 of the object's bytes as stored (the gzip stream). */
  readonly sha256: string;
  readonly range: { readonly from: string; readonly to: string };
  readonly filters: ExportFilters;
  readonly blocks: { readonly first: number | null; readonly last: number | null };
  readonly created_at: string;
}

/** The same request always names the same export: repeating it does not export twice. */
export const exportIdOf = (request: ExportRequest): string => `exp_${sha256Hex(canonicalJson(request)).slice(0, 32)}`;
export const exportObjectKey = (exportId: string): string => `${AUDIT_EXPORT_PREFIX}${exportId}/events.jsonl.gz`;
export const exportManifestKey = (exportId: string): string => `${AUDIT_EXPORT_PREFIX}${exportId}/manifest.json`;

export class AuditExporter {
  constructor(
    private readonly store: Pick<AuditStore, 'firstBlockThrough' | 'block' | 'events' | 'latestBlock'>,
    private readonly target: ExportTarget,
    private readonly now: () => number = Date.now,
  ) {}

  /** Where the sealed chain ends: exports cover sealed events only, since every line carries a proof. */
  async sealedThrough(): Promise<string | undefined> {
    return (await this.store.latestBlock())?.throughKey;
  }

  manifest(exportId: string): Promise<ExportManifest | undefined> {
    return this.target.getJson<ExportManifest>(exportManifestKey(exportId));
  }

  /** Writes the export once; a repeated run (a redelivered job) returns the manifest already written. */
  async run(exportId: string, request: ExportRequest): Promise<ExportManifest> {
    const existing = await this.manifest(exportId);
    if (existing) return existing;
    const objectKey = exportObjectKey(exportId);
    const sink = this.target.open(objectKey, 'application/gzip');
    const digest = createHash('sha256');
    let bytes = 0;
    let count = 0;
    const blocks = { first: null as number | null, last: null as number | null };
    const lines = async function* (this: AuditExporter): AsyncGenerator<string> {
      for await (const { block, line } of this.lines(request)) {
        blocks.first ??= block.seq;
        blocks.last = block.seq;
        count += 1;
        yield line;
      }
    }.call(this);
    try {
      await pipeline(
        Readable.from(lines),
        createGzip(),
        new Writable({
          write: (chunk: Buffer, _encoding, done) => {
            digest.update(chunk);
            bytes += chunk.length;
            sink.write(chunk).then(() => done(), done);
          },
        }),
      );
      await sink.close();
    } catch (error) {
      await sink.abort().catch(() => undefined);
      throw error;
    }
    const manifest: ExportManifest = {
      export_id: exportId,
      format: 'jsonl+gzip',
      bucket: this.target.bucket,
      object_key: objectKey,
      count,
      bytes,
      sha256: digest.digest('hex'),
      range: { from: request.from, to: request.to },
      filters: request.filters,
      blocks,
      created_at: new Date(this.now()).toISOString(),
    };
    await this.target.putJson(exportManifestKey(exportId), manifest);
    return manifest;
  }

  private async *lines(request: ExportRequest): AsyncGenerator<{ block: AuditBlock; line: string }> {
    const fromKey = request.from;
    const toKey = `${request.to}#~`;
    let block = await this.store.firstBlockThrough(fromKey);
    while (block && block.afterKey < toKey) {
      const tree = new MerkleTree(block.leaves.map(leafOf));
      const positions = new Map(block.leaves.map((entry, index) => [keyOf(entry), index]));
      const events = await this.store.events({
        ...request.filters,
        afterKey: block.afterKey > fromKey ? block.afterKey : fromKey,
        throughKey: block.throughKey < toKey ? block.throughKey : toKey,
      });
      for (const stored of events) {
        const index = positions.get(stored.key);
        const leaf = leafHash(stored.event);
        if (index === undefined || leafOf(block.leaves[index]!) !== leaf) {
          throw new IntegrityError(`audit event ${stored.event.eventId} does not match sealed block ${block.seq}; run GET /v1/audit/verify`);
        }
        const line = JSON.stringify({
          event: stored.event,
          block: { seq: block.seq, hash: block.hash, merkle_root: block.merkleRoot },
          leaf,
          proof: tree.proof(index),
        });
        yield { block, line: `${line}\n` };
      }
      block = await this.store.block(block.seq + 1);
    }
  }
}

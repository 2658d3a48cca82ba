// A backup of every table: each table's items, read page by page with strongly
// consistent scans, streamed into one compressed JSON-lines file per table, and a
// manifest (counts, sha256, key schemas, the audit chain's head) written last, so
// a directory without a manifest is an unfinished backup and never restored.
//
// What "consistent" means here (docs/backups.md): every item is a committed
// version of itself; the audit chain's head is read before any table, and blocks
// and events are never changed once written, so the chain through that head is in
// the backup whole and verifies. Items written while the scan runs may or may not
// be in it: this is not a point-in-time snapshot across items (DynamoDB's PITR
// export is, in AWS).

import type { TableDefinition } from '../../runtime/definitions.js';
import type { AuditRecorder } from '../audit/audit-maintenance.js';
import { recordAfter } from '../audit/audit-maintenance.js';
import { describeError } from '../errors.js';
import type { AuditStore } from '../ports/audit.js';
import type { BackupChainHead, BackupManifest, BackupStore, BackupTableEntry, TableDumper } from '../ports/backups.js';
import type { DomainLogger } from '../ports/logging.js';

export const BACKUP_IDENTITY = 'system:backup';
export const BACKUP_FORMAT = 'scaivault-backup/1';

export interface BackupMetrics {
  backupFinished(ok: boolean, seconds: number, bytes: number, finishedAtSeconds: number): void;
}

/** A table to back up: its definition and the physical name it has here. */
export interface BackedUpTable {
  readonly definition: TableDefinition;
  readonly tableName: string;
}

export interface BackupParts {
  readonly tables: readonly BackedUpTable[];
  readonly dumper: TableDumper;
  readonly store: BackupStore;
  readonly chain: Pick<AuditStore, 'latestBlock'>;
  readonly audit: AuditRecorder;
  readonly metrics: BackupMetrics;
  readonly logger: Pick<DomainLogger, 'info' | 'error'>;
  readonly now?: () => number;
  /** Backups kept; older ones are removed after a successful backup. @default keep all */
  readonly keep?: number;
}

export class BackupFailedError extends Error {
  override readonly name = 'BackupFailedError';
}

/** `2026-11-30T03-25-13-123Z`: sortable, and a valid directory name everywhere. */
export const backupIdAt = (ms: number): string => new Date(ms).toISOString().replaceAll(':', '-').replace('.', '-');

export class BackupService {
  private readonly now: () => number;

  constructor(private readonly parts: BackupParts) {
    this.now = parts.now ?? Date.now;
  }

  /** Writes one backup; returns its manifest. A failure is audited, counted and rethrown. */
  async backup(): Promise<BackupManifest> {
    const started = this.now();
    const backupId = backupIdAt(started);
    const { audit, logger, metrics, store } = this.parts;
    await audit.record({ type: 'db_backup.started', outcome: 'attempted', identityId: BACKUP_IDENTITY, details: { backup_id: backupId } });
    try {
      const manifest = await this.write(backupId, started);
      const bytes = manifest.tables.reduce((sum, table) => sum + table.bytes, 0);
      const items = manifest.tables.reduce((sum, table) => sum + table.items, 0);
      const seconds = (this.now() - started) / 1000;
      metrics.backupFinished(true, seconds, bytes, this.now() / 1000);
      await recordAfter(
        audit,
        { type: 'db_backup.succeeded', outcome: 'success', identityId: BACKUP_IDENTITY, details: { backup_id: backupId, items, size_bytes: bytes } },
        logger,
      );
      logger.info('backup written', {
        backup_id: backupId,
        location: store.locationOf(backupId),
        items,
        size_bytes: bytes,
        duration_ms: Math.round(seconds * 1000),
      });
      await this.prune();
      return manifest;
    } catch (error) {
      metrics.backupFinished(false, (this.now() - started) / 1000, 0, 0);
      const reason = describeError(error);
      await recordAfter(
        audit,
        { type: 'db_backup.failed', outcome: 'failure', identityId: BACKUP_IDENTITY, details: { backup_id: backupId, error: reason } },
        logger,
      );
      logger.error('backup failed', { backup_id: backupId, error: reason });
      await store.remove(backupId).catch(() => undefined);
      throw error;
    }
  }

  private async write(backupId: string, started: number): Promise<BackupManifest> {
    // The head first: everything it covers is immutable, so the scans below find all of it.
    const head = await this.parts.chain.latestBlock();
    const chainHead: BackupChainHead | null = head ? { seq: head.seq, hash: head.hash, throughKey: head.throughKey } : null;
    const tables: BackupTableEntry[] = [];
    for (const table of this.parts.tables) tables.push(await this.writeTable(backupId, table));
    // Verify after: what is on disk is what was written, before the manifest makes it a backup.
    for (const table of tables) {
      const stored = await this.parts.store.digest(backupId, table.file);
      if (stored.sha256 !== table.sha256) throw new BackupFailedError(`backup file ${table.file} changed while it was written`);
    }
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      backupId,
      startedAt: new Date(started).toISOString(),
      finishedAt: new Date(this.now()).toISOString(),
      chainHead,
      tables,
    };
    await this.parts.store.writeManifest(backupId, manifest);
    return manifest;
  }

  private async writeTable(backupId: string, { definition, tableName }: BackedUpTable): Promise<BackupTableEntry> {
    const writer = await this.parts.store.createFile(backupId, `${definition.id}.jsonl.gz`);
    let items = 0;
    try {
      for await (const page of this.parts.dumper.dump(tableName)) {
        await writer.write(page);
        items += page.length;
      }
    } catch (error) {
      // Closed either way, so a failed backup leaves no open handle behind.
      await writer.close().catch(() => undefined);
      throw error;
    }
    const written = await writer.close();
    return { id: definition.id, tableName, items, definition, ...written };
  }

  private async prune(): Promise<void> {
    const keep = this.parts.keep;
    if (!keep) return;
    const all = await this.parts.store.list();
    for (const old of all.slice(0, Math.max(0, all.length - keep))) await this.parts.store.remove(old);
  }
}

// Restores a backup into tables of the caller's naming (a fresh data dir, new
// tables with a suffix, or a drill's scratch tables) and proves what it restored:
// the manifest is whole, every file has the sha256 it was written with, and every
// table holds as many items as the manifest says. A drill adds its own proofs
// (secrets decrypt, the audit chain verifies) over the restored tables.

import type { AuditRecorder } from '../audit/audit-maintenance.js';
import { recordAfter } from '../audit/audit-maintenance.js';
import { describeError } from '../errors.js';
import type { BackupManifest, BackupStore, BackupTableEntry, TableDumper } from '../ports/backups.js';
import type { DomainLogger } from '../ports/logging.js';
import { BACKUP_FORMAT, BACKUP_IDENTITY } from './backup-service.js';

/** The checks of a restore, then a drill's proofs: a bounded label set. */
export const RESTORE_CHECKS = ['manifest', 'sha256', 'counts'] as const;
export const DRILL_CHECKS = [...RESTORE_CHECKS, 'decrypt', 'audit_chain'] as const;
export type DrillCheck = (typeof DRILL_CHECKS)[number];

export class RestoreCheckFailedError extends Error {
  override readonly name = 'RestoreCheckFailedError';
  constructor(
    readonly check: DrillCheck,
    message: string,
  ) {
    super(`${check}: ${message}`);
  }
}

/** The restored tables: physical name by definition id, with the manifest they came from. */
export interface RestoredBackup {
  readonly manifest: BackupManifest;
  readonly tableNames: ReadonlyMap<string, string>;
}

export type CheckResults = Partial<Record<DrillCheck, boolean>>;

export interface RestoreReport extends RestoredBackup {
  readonly checks: CheckResults;
}

const READ_PAGE = 100;

export interface RestoreParts {
  readonly store: BackupStore;
  readonly dumper: TableDumper;
  readonly audit?: AuditRecorder;
  readonly logger: Pick<DomainLogger, 'info' | 'error'>;
}

export class RestoreService {
  constructor(private readonly parts: RestoreParts) {}

  /**
   * Checks the backup's files, then creates each table under `nameOf` and loads it. `checks` is filled as each
   * check passes or fails, so a caller sees which one stopped the restore.
   */
  async restore(backupId: string, nameOf: (entry: BackupTableEntry) => string, checks: CheckResults = {}, drill = false): Promise<RestoreReport> {
    const details = { backup_id: backupId, drill };
    await this.record({ type: 'db_restore.started', outcome: 'attempted', identityId: BACKUP_IDENTITY, details });
    try {
      const manifest = await this.check(checks, 'manifest', () => this.manifestOf(backupId));
      await this.check(checks, 'sha256', () => this.checkDigests(backupId, manifest));
      const tableNames = new Map<string, string>();
      await this.check(checks, 'counts', async () => {
        for (const entry of manifest.tables) tableNames.set(entry.id, await this.loadTable(backupId, entry, nameOf(entry)));
      });
      const items = manifest.tables.reduce((sum, t) => sum + t.items, 0);
      await this.record({ type: 'db_restore.succeeded', outcome: 'success', identityId: BACKUP_IDENTITY, details: { ...details, items } });
      return { manifest, tableNames, checks };
    } catch (error) {
      await this.record({ type: 'db_restore.failed', outcome: 'failure', identityId: BACKUP_IDENTITY, details: { ...details, error: describeError(error) } });
      throw error;
    }
  }

  /** Runs one check and notes its result; a failure that is not already a check's failure becomes this check's. */
  async check<T>(checks: CheckResults, name: DrillCheck, run: () => Promise<T>): Promise<T> {
    try {
      const result = await run();
      checks[name] = true;
      return result;
    } catch (error) {
      checks[name] = false;
      if (error instanceof RestoreCheckFailedError) throw error;
      throw Object.assign(new RestoreCheckFailedError(name, describeError(error)), { cause: error });
    }
  }

  private async manifestOf(backupId: string): Promise<BackupManifest> {
    const manifest = await this.parts.store.readManifest(backupId);
    if (manifest.format !== BACKUP_FORMAT || !Array.isArray(manifest.tables)) throw new RestoreCheckFailedError('manifest', `not a ${BACKUP_FORMAT} manifest`);
    return manifest;
  }

  private async checkDigests(backupId: string, manifest: BackupManifest): Promise<void> {
    for (const entry of manifest.tables) {
      const stored = await this.parts.store.digest(backupId, entry.file);
      if (stored.sha256 !== entry.sha256 || stored.bytes !== entry.bytes) {
        throw new RestoreCheckFailedError('sha256', `${entry.file} does not match its manifest entry`);
      }
    }
  }

  private async loadTable(backupId: string, entry: BackupTableEntry, tableName: string): Promise<string> {
    const { dumper, store } = this.parts;
    await dumper.create(tableName, entry.definition);
    let lines = 0;
    for await (const page of store.readLines(backupId, entry.file, READ_PAGE)) {
      await dumper.load(tableName, page);
      lines += page.length;
    }
    const stored = await dumper.count(tableName);
    if (lines !== entry.items || stored !== entry.items) {
      throw new RestoreCheckFailedError('counts', `${entry.id}: manifest ${entry.items}, file ${lines}, table ${stored}`);
    }
    return tableName;
  }

  private async record(draft: Parameters<AuditRecorder['record']>[0]): Promise<void> {
    if (this.parts.audit) await recordAfter(this.parts.audit, draft, this.parts.logger);
  }
}

// The restore drill: the latest backup restored into scratch tables and proved
// there (files, counts, then the drill's own proofs: secrets decrypt through the
// real key provider, the audit chain verifies), then the scratch tables dropped.
// Each check's result is kept for its metric, so an alert names what broke.

import type { BackupStore, TableDumper } from '../ports/backups.js';
import type { DomainLogger } from '../ports/logging.js';
import { describeError } from '../errors.js';
import { type CheckResults, type DrillCheck, type RestoredBackup, RestoreCheckFailedError, type RestoreService } from './restore-service.js';

/** One proof over the restored tables; throws when it does not hold. */
export interface DrillProof {
  readonly check: Extract<DrillCheck, 'decrypt' | 'audit_chain'>;
  prove(restored: RestoredBackup): Promise<void>;
}

export interface DrillMetrics {
  drillFinished(checks: CheckResults, ok: boolean, finishedAtSeconds: number): void;
}

export interface DrillResult {
  readonly backupId: string | undefined;
  readonly ok: boolean;
  readonly checks: CheckResults;
  readonly error?: string;
}

export interface RestoreDrillParts {
  readonly restore: RestoreService;
  readonly store: BackupStore;
  readonly dumper: TableDumper;
  readonly proofs: readonly DrillProof[];
  readonly metrics: DrillMetrics;
  readonly logger: Pick<DomainLogger, 'info' | 'error'>;
  readonly now?: () => number;
}

export class RestoreDrill {
  constructor(private readonly parts: RestoreDrillParts) {}

  /** Drills the newest backup; never throws: a failure is its result, its metrics and its log line. */
  async run(): Promise<DrillResult> {
    const { logger, metrics, restore } = this.parts;
    const now = this.parts.now ?? Date.now;
    const checks: CheckResults = {};
    const backupId = (await this.parts.store.list().catch(() => [])).at(-1);
    const scratch = `-drill-${now().toString(36)}`;
    const created: string[] = [];
    try {
      if (!backupId) throw new RestoreCheckFailedError('manifest', 'no backup to drill');
      const restored = await restore.restore(
        backupId,
        (entry) => {
          const name = `${entry.tableName}${scratch}`;
          created.push(name);
          return name;
        },
        checks,
        true,
      );
      for (const proof of this.parts.proofs) await restore.check(checks, proof.check, () => proof.prove(restored));
      metrics.drillFinished(checks, true, now() / 1000);
      logger.info('restore drill passed', { backup_id: backupId, checks: Object.keys(checks).join(',') });
      return { backupId, ok: true, checks };
    } catch (error) {
      const reason = describeError(error);
      metrics.drillFinished(checks, false, 0);
      logger.error('restore drill failed', {
        backup_id: backupId ?? null,
        check: error instanceof RestoreCheckFailedError ? error.check : null,
        error: reason,
      });
      return { backupId, ok: false, checks, error: reason };
    } finally {
      for (const name of created) await this.parts.dumper.drop(name).catch(() => undefined);
    }
  }
}

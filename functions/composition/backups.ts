import { join } from 'node:path';
import { s3Client } from '../adapters/aws-clients.js';
import { auditChainProof, decryptProof } from '../adapters/dynamodb/dynamodb-drill-proofs.js';
import { DynamoDbTableDumper } from '../adapters/dynamodb/dynamodb-table-dumper.js';
import { FsBackupStore } from '../adapters/local-fs/fs-backup-store.js';
import { S3AuditAnchors } from '../adapters/s3/s3-audit-anchors.js';
import { BackupService, type BackedUpTable } from '../domain/backups/backup-service.js';
import { RestoreDrill, type DrillProof } from '../domain/backups/restore-drill.js';
import { RestoreService } from '../domain/backups/restore-service.js';
import { describeError } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import type { BackupConfig } from '../ops-config.js';
import { AUDIT_TABLE, METRICS_TABLE, STATE_TABLE } from '../runtime/definitions.js';
import { composeAuditTrail } from './audit-trail.js';
import { enableNotifications } from './notifications.js';
import type { VaultCore } from './vault-core.js';

export interface Backups {
  readonly store: FsBackupStore;
  readonly backups: BackupService;
  readonly restore: RestoreService;
  readonly drill: RestoreDrill;
  /** One backup; a failure is audited, counted, notified and rethrown. */
  backup(): Promise<Awaited<ReturnType<BackupService['backup']>>>;
  /** One drill of the newest backup; a failure is counted and notified, never thrown. */
  runDrill(): ReturnType<RestoreDrill['run']>;
}

/** The physical tables of this deployment, by definition. */
export const tablesOf = (core: VaultCore): BackedUpTable[] => [
  { definition: STATE_TABLE, tableName: core.config.stateTable },
  { definition: METRICS_TABLE, tableName: core.config.metricsTable },
  { definition: AUDIT_TABLE, tableName: core.config.audit.table },
];

/** Backups, restores and drills of the embedded runtime (and `npm run backup|restore`), into `<data dir>/backups`. */
export const composeBackups = (core: VaultCore, logger: Logger, config: BackupConfig & { dir: string }): Backups => {
  enableNotifications(core, logger);
  const store = new FsBackupStore(config.dir);
  const dumper = new DynamoDbTableDumper(core.dynamodb);
  const trail = composeAuditTrail(core, logger);
  const backups = new BackupService({
    tables: tablesOf(core),
    dumper,
    store,
    chain: trail.store,
    audit: trail.log,
    metrics: core.metrics,
    logger,
    keep: config.keep,
  });
  const restore = new RestoreService({ store, dumper, audit: trail.log, logger });
  const proofs: DrillProof[] = [decryptProof(core.dynamodb, core.keyWrapper)];
  // The chain is checked against the anchors; without the audit bucket there are none to check against.
  if (core.config.auditBucket) proofs.push(auditChainProof(core.dynamodb, new S3AuditAnchors(s3Client(core.clients), core.config.auditBucket)));
  const drill = new RestoreDrill({ restore, store, dumper, proofs, metrics: core.metrics, logger });
  return {
    store,
    backups,
    restore,
    drill,
    backup: async () => {
      try {
        return await backups.backup();
      } catch (error) {
        await core.notifier.notify({
          event: 'db_backup.failed',
          summary: 'a backup of the tables failed',
          error: describeError(error),
          severity: 'critical',
          at: Date.now(),
        });
        throw error;
      }
    },
    runDrill: async () => {
      const result = await drill.run();
      if (!result.ok) {
        const failed = Object.entries(result.checks)
          .filter(([, passed]) => passed === false)
          .map(([check]) => check);
        const summary = `the restore drill of backup ${result.backupId ?? '(none)'} failed: ${failed.join(', ') || 'no backup'}`;
        await core.notifier.notify({ event: 'restore_drill.failed', summary, error: result.error, severity: 'critical', at: Date.now() });
      }
      return result;
    },
  };
};

/** `<data dir>/backups` unless SCAIVAULT_BACKUP_DIR says otherwise. */
export const backupDirOf = (config: BackupConfig, dataDir: string): string => config.dir ?? join(dataDir, 'backups');

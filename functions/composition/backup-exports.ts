import { DynamoDbExportSchedule, DynamoDbTableExporter } from '../adapters/dynamodb/dynamodb-table-exporter.js';
import { BackupExportService } from '../domain/backups/backup-export.js';
import type { Logger } from '../observability/logger.js';
import { loadBackupConfig } from '../ops-config.js';
import { composeAuditTrail } from './audit-trail.js';
import { tablesOf } from './backups.js';
import type { VaultCore } from './vault-core.js';

/** The scheduler's export step (AWS): only when the stack gives it an export bucket. */
export const composeBackupExports = (core: VaultCore, logger: Logger): BackupExportService | undefined => {
  const config = loadBackupConfig(process.env);
  if (!config.exportBucket) return undefined;
  return new BackupExportService({
    tables: tablesOf(core),
    exporter: new DynamoDbTableExporter(core.dynamodb, config.exportBucket),
    schedule: new DynamoDbExportSchedule(core.dynamodb, core.config.stateTable),
    intervalMs: config.exportIntervalHours * 3_600_000,
    metrics: core.metrics,
    audit: composeAuditTrail(core, logger).log,
    alerts: core.notifier,
    logger,
  });
};

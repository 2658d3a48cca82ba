// AWS: the scheduler's backup step. Once per interval (fleet-wide, one claimed
// item) it starts a point-in-time export of every table to the export bucket;
// exports run for minutes, so later runs poll them and only then count the
// backup (duration, size, success or failure) and audit its outcome.

import type { AuditRecorder } from '../audit/audit-maintenance.js';
import { recordAfter } from '../audit/audit-maintenance.js';
import { describeError } from '../errors.js';
import type { ExportSchedule, PendingExport, TableExporter } from '../ports/backups.js';
import type { DomainLogger } from '../ports/logging.js';
import type { OperationalAlerts } from '../ports/notifications.js';
import { BACKUP_IDENTITY, type BackedUpTable, type BackupMetrics, backupIdAt } from './backup-service.js';

export interface BackupExportParts {
  readonly tables: readonly BackedUpTable[];
  readonly exporter: TableExporter;
  readonly schedule: ExportSchedule;
  readonly intervalMs: number;
  readonly metrics: BackupMetrics;
  readonly audit: AuditRecorder;
  readonly alerts?: OperationalAlerts;
  readonly logger: Pick<DomainLogger, 'info' | 'error'>;
  readonly now?: () => number;
}

export type ExportTick = 'idle' | 'started' | 'running' | 'succeeded' | 'failed';

export class BackupExportService {
  private readonly now: () => number;

  constructor(private readonly parts: BackupExportParts) {
    this.now = parts.now ?? Date.now;
  }

  async tick(): Promise<ExportTick> {
    const pending = await this.parts.schedule.pending();
    if (pending.length > 0) return this.poll(pending);
    if (!(await this.parts.schedule.claim(this.now(), this.parts.intervalMs))) return 'idle';
    return this.start();
  }

  private async start(): Promise<ExportTick> {
    const { audit, exporter, logger, schedule, tables } = this.parts;
    const startedAt = this.now();
    const backupId = backupIdAt(startedAt);
    await recordAfter(
      audit,
      { type: 'db_backup.started', outcome: 'attempted', identityId: BACKUP_IDENTITY, details: { backup_id: backupId, kind: 'export' } },
      logger,
    );
    const started: PendingExport[] = [];
    try {
      for (const { definition, tableName } of tables) {
        const exportId = await exporter.start(tableName, `exports/${backupId}/${definition.id}/`, `${definition.id}-${backupId}`.slice(0, 64));
        started.push({ exportId, tableId: definition.id, startedAt });
      }
      await schedule.savePending(started);
      logger.info('backup export started', { backup_id: backupId, tables: started.length });
      return 'started';
    } catch (error) {
      // Exports already started finish on their own; this backup is incomplete all the same.
      await this.finish(false, startedAt, this.now(), 0, backupId, describeError(error));
      return 'failed';
    }
  }

  private async poll(pending: readonly PendingExport[]): Promise<ExportTick> {
    const statuses = await Promise.all(pending.map((p) => this.parts.exporter.describe(p.exportId)));
    if (statuses.some((s) => s.state === 'IN_PROGRESS')) return 'running';
    await this.parts.schedule.savePending([]);
    const failed = statuses.find((s) => s.state === 'FAILED');
    const startedAt = Math.min(...pending.map((p) => p.startedAt));
    const bytes = statuses.reduce((sum, s) => sum + s.bytes, 0);
    // The exports' own end time where DynamoDB reports it: a poll comes up to a minute late.
    const endedAt = Math.max(startedAt, ...statuses.map((s) => s.endedAt ?? this.now()));
    await this.finish(!failed, startedAt, endedAt, bytes, backupIdAt(startedAt), failed?.failure);
    return failed ? 'failed' : 'succeeded';
  }

  private async finish(ok: boolean, startedAt: number, endedAt: number, bytes: number, backupId: string, error?: string): Promise<void> {
    const { alerts, audit, logger, metrics } = this.parts;
    metrics.backupFinished(ok, (endedAt - startedAt) / 1000, bytes, endedAt / 1000);
    const details = { backup_id: backupId, kind: 'export', ...(ok ? { size_bytes: bytes } : { error: error ?? 'unknown' }) };
    await recordAfter(
      audit,
      { type: ok ? 'db_backup.succeeded' : 'db_backup.failed', outcome: ok ? 'success' : 'failure', identityId: BACKUP_IDENTITY, details },
      logger,
    );
    if (ok) {
      logger.info('backup export finished', { backup_id: backupId, size_bytes: bytes });
      return;
    }
    logger.error('backup export failed', { backup_id: backupId, error: error ?? null });
    alerts?.alert({ event: 'db_backup.failed', summary: `the DynamoDB export ${backupId} failed`, error, severity: 'critical', at: this.now() });
  }
}

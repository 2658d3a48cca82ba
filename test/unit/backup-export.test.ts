import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbExportSchedule, DynamoDbTableExporter } from '../../functions/adapters/dynamodb/dynamodb-table-exporter.js';
import type { AuditDraft } from '../../functions/domain/audit/audit-event.js';
import { BackupExportService } from '../../functions/domain/backups/backup-export.js';
import type { OperationalEvent } from '../../functions/domain/ports/notifications.js';
import { METRICS } from '../../functions/observability/metric-catalogue.js';
import { MetricRegistry } from '../../functions/observability/metric-registry.js';
import { VaultMetrics } from '../../functions/observability/vault-metrics.js';
import { AUDIT_TABLE, STATE_TABLE } from '../../functions/runtime/definitions.js';
import { fakeAwsClient, type SentCommand } from './support/fake-aws-client.js';

const HOUR = 3_600_000;
const conditionFailed = () => Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });

/** DynamoDB at the send boundary: the schedule item kept in memory, exports answered from `exportState`. */
const fakeDynamoDb = (exportState: { status: string; failure?: string }) => {
  let schedule: Record<string, unknown> = {};
  return fakeAwsClient<DynamoDBClient>((command: SentCommand) => {
    const input = command.input as Record<string, any>;
    switch (command.name) {
      case 'DescribeTableCommand':
        return { Table: { TableArn: `arn:aws:dynamodb:eu-west-1:111122223333:table/${input.TableName}` } };
      case 'ExportTableToPointInTimeCommand':
        return { ExportDescription: { ExportArn: `${input.TableArn}/export/${input.ClientToken}` } };
      case 'DescribeExportCommand':
        return {
          ExportDescription: {
            ExportStatus: exportState.status,
            BilledSizeBytes: 1000,
            StartTime: new Date(0),
            EndTime: new Date(90_000),
            FailureCode: exportState.failure,
          },
        };
      case 'GetItemCommand':
        return { Item: Object.keys(schedule).length ? marshall(schedule) : undefined };
      case 'UpdateItemCommand': {
        const values = unmarshall(input.ExpressionAttributeValues);
        if (input.ConditionExpression && schedule.nextAt !== undefined && (schedule.nextAt as number) > values[':now']) throw conditionFailed();
        if (values[':next'] !== undefined) schedule = { ...schedule, nextAt: values[':next'] };
        if (values[':pending'] !== undefined) schedule = { ...schedule, pending: values[':pending'] };
        return {};
      }
      default:
        throw new Error(`unexpected ${command.name}`);
    }
  });
};

const setup = (exportState: { status: string; failure?: string }) => {
  let now = 0;
  const { sent, client } = fakeDynamoDb(exportState);
  const registry = new MetricRegistry();
  const audit: AuditDraft[] = [];
  const alerts: OperationalEvent[] = [];
  const service = new BackupExportService({
    tables: [
      { definition: STATE_TABLE, tableName: 'prod-state' },
      { definition: AUDIT_TABLE, tableName: 'prod-audit' },
    ],
    exporter: new DynamoDbTableExporter(client, 'exports-bucket'),
    schedule: new DynamoDbExportSchedule(client, 'prod-state'),
    intervalMs: 24 * HOUR,
    metrics: new VaultMetrics(registry),
    audit: { record: async (draft) => void audit.push(draft) },
    alerts: { alert: (event) => void alerts.push(event) },
    logger: { info: () => undefined, error: () => undefined },
    now: () => now,
  });
  const value = (metric: { name: string }) => registry.snapshot()[metric.name]?.[''];
  return { service, sent, audit, alerts, value, advance: (ms: number) => (now += ms) };
};

describe('BackupExportService over DynamoDB exports (SDK faked at send)', () => {
  it('exports every table once per interval, then counts the backup when the exports complete', async () => {
    const exportState = { status: 'IN_PROGRESS' };
    const { service, sent, audit, value, advance } = setup(exportState);
    expect(await service.tick()).toBe('started');
    const exports = sent.filter((c) => c.name === 'ExportTableToPointInTimeCommand').map((c) => c.input);
    expect(exports).toEqual([
      expect.objectContaining({
        TableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/prod-state',
        S3Bucket: 'exports-bucket',
        S3Prefix: 'exports/1970-01-01T00-00-00-000Z/scaivault-state/',
        ExportFormat: 'DYNAMODB_JSON',
        ClientToken: 'scaivault-state-1970-01-01T00-00-00-000Z',
      }),
      expect.objectContaining({ TableArn: 'arn:aws:dynamodb:eu-west-1:111122223333:table/prod-audit' }),
    ]);
    advance(60_000);
    expect(await service.tick()).toBe('running');
    expect(value(METRICS.dbBackups)).toBeUndefined();

    exportState.status = 'COMPLETED';
    advance(60_000);
    expect(await service.tick()).toBe('succeeded');
    expect(value(METRICS.dbBackups)).toBe(1);
    expect(value(METRICS.dbBackupLastSuccess)).toBe(90);
    expect(histogramSum(value(METRICS.dbBackupDuration))).toBe(90);
    expect(audit.map((d) => d.type)).toEqual(['db_backup.started', 'db_backup.succeeded']);

    // Not due again until the interval has passed, whichever instance asks.
    advance(HOUR);
    expect(await service.tick()).toBe('idle');
    advance(24 * HOUR);
    expect(await service.tick()).toBe('started');
  });

  it('counts, audits and alerts a failed export', async () => {
    const { service, audit, alerts, value, advance } = setup({ status: 'FAILED', failure: 'S3NoSuchBucket' });
    await service.tick();
    advance(60_000);
    expect(await service.tick()).toBe('failed');
    expect(value(METRICS.dbBackupsFailed)).toBe(1);
    expect(audit.at(-1)).toMatchObject({ type: 'db_backup.failed', details: { error: 'S3NoSuchBucket' } });
    expect(alerts).toEqual([expect.objectContaining({ event: 'db_backup.failed', error: 'S3NoSuchBucket', severity: 'critical' })]);
  });
});

const histogramSum = (histogram: unknown): number => (histogram as { sum: number }).sum;

import {
  DescribeExportCommand,
  DescribeTableCommand,
  ExportTableToPointInTimeCommand,
  GetItemCommand,
  UpdateItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { ExportSchedule, ExportStatus, PendingExport, TableExporter } from '../../domain/ports/backups.js';

/** Point-in-time exports (PITR must be on: the stateful stack turns it on for every table) as DynamoDB JSON, gzip. */
export class DynamoDbTableExporter implements TableExporter {
  private readonly arns = new Map<string, string>();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly bucket: string,
  ) {}

  async start(tableName: string, prefix: string, clientToken: string): Promise<string> {
    const result = await this.client.send(
      new ExportTableToPointInTimeCommand({
        TableArn: await this.arnOf(tableName),
        S3Bucket: this.bucket,
        S3Prefix: prefix,
        ExportFormat: 'DYNAMODB_JSON',
        ExportType: 'FULL_EXPORT',
        ClientToken: clientToken,
      }),
    );
    const exportArn = result.ExportDescription?.ExportArn;
    if (!exportArn) throw new Error(`the export of ${tableName} has no ARN`);
    return exportArn;
  }

  async describe(exportId: string): Promise<ExportStatus> {
    const description = (await this.client.send(new DescribeExportCommand({ ExportArn: exportId }))).ExportDescription;
    const state = description?.ExportStatus ?? 'FAILED';
    return {
      state,
      bytes: description?.BilledSizeBytes ?? 0,
      startedAt: description?.StartTime?.getTime(),
      endedAt: description?.EndTime?.getTime(),
      ...(state === 'FAILED' ? { failure: description?.FailureCode ?? 'ExportFailed' } : {}),
    };
  }

  private async arnOf(tableName: string): Promise<string> {
    let arn = this.arns.get(tableName);
    if (!arn) {
      arn = (await this.client.send(new DescribeTableCommand({ TableName: tableName }))).Table?.TableArn;
      if (!arn) throw new Error(`table ${tableName} has no ARN`);
      this.arns.set(tableName, arn);
    }
    return arn;
  }
}

const KEY = { pk: 'BACKUP#EXPORT', sk: 'SCHEDULE' };

/** The export schedule in one state-table item: `nextAt` claimed by a conditional update, the pending exports beside it. */
export class DynamoDbExportSchedule implements ExportSchedule {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(now: number, intervalMs: number): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall(KEY),
          UpdateExpression: 'SET nextAt = :next',
          ConditionExpression: 'attribute_not_exists(nextAt) OR nextAt <= :now',
          ExpressionAttributeValues: marshall({ ':next': now + intervalMs, ':now': now }),
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async pending(): Promise<readonly PendingExport[]> {
    const item = (await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: marshall(KEY), ConsistentRead: true }))).Item;
    const pending = item ? (unmarshall(item) as { pending?: string }).pending : undefined;
    return pending ? (JSON.parse(pending) as PendingExport[]) : [];
  }

  async savePending(exports: readonly PendingExport[]): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.tableName,
        Key: marshall(KEY),
        UpdateExpression: 'SET pending = :pending',
        ExpressionAttributeValues: marshall({ ':pending': JSON.stringify(exports) }),
      }),
    );
  }
}

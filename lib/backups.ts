import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledgeWildcardResources } from './nag.js';
import { PRIVATE_S3_MANAGED_BUCKET } from './private-bucket.js';

/** Where the scheduler's point-in-time exports go in the export bucket (docs/backups.md). */
export const BACKUP_EXPORT_PREFIX = 'exports/';

export interface VaultBackupsProps {
  /** Every table of the deployment (TABLES). */
  readonly tables: readonly dynamodb.ITable[];
  /** Encrypts the backup vault's recovery points. */
  readonly key: kms.IKey;
  readonly alarmTopic: sns.ITopic;
  /** Server access logs of the export bucket go here. */
  readonly accessLogBucket: s3.IBucket;
  /**
   * AWS Backup Vault Lock: recovery points cannot be deleted before this many days, by anyone,
   * once the lock's 3-day grace time has passed (compliance mode). @default no lock
   */
  readonly vaultLockMinRetentionDays?: number;
  /** Daily recovery points kept this long. @default 35 days */
  readonly dailyRetention?: Duration;
  /** Weekly recovery points kept this long. @default 365 days */
  readonly weeklyRetention?: Duration;
  /** The scheduler's DynamoDB exports kept this long. @default 35 days */
  readonly exportRetention?: Duration;
}

/**
 * Backups of every table: an AWS Backup plan (daily and weekly recovery points in
 * a KMS-encrypted vault, optionally locked), the bucket the scheduler's
 * ExportTableToPointInTime exports go to, and a rule that sends every failed or
 * aborted backup job to the alarm topic.
 */
export class VaultBackups extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;
  readonly exportBucket: s3.Bucket;
  readonly jobFailures: events.Rule;

  constructor(scope: Construct, id: string, props: VaultBackupsProps) {
    super(scope, id);
    const lockDays = props.vaultLockMinRetentionDays;
    this.vault = new backup.BackupVault(this, 'Vault', {
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // Vault Lock applies to recovery points only: the plan's retention must reach the minimum.
      lockConfiguration: lockDays === undefined ? undefined : { minRetention: Duration.days(lockDays) },
    });
    const daily = props.dailyRetention ?? Duration.days(Math.max(35, lockDays ?? 0));
    const weekly = props.weeklyRetention ?? Duration.days(Math.max(365, lockDays ?? 0));
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'Daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
          deleteAfter: daily,
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(4),
        }),
        new backup.BackupPlanRule({
          ruleName: 'Weekly',
          scheduleExpression: events.Schedule.cron({ weekDay: 'SUN', hour: '4', minute: '0' }),
          deleteAfter: weekly,
          startWindow: Duration.hours(1),
          completionWindow: Duration.hours(8),
        }),
      ],
    });
    this.plan.addSelection('Tables', {
      resources: props.tables.map((table) => backup.BackupResource.fromDynamoDbTable(table)),
      role: this.backupRole(props.tables, props.key),
      // The role above grants what these tables need; the managed policy would reach every table of the account.
      disableDefaultBackupPolicy: true,
    });

    // S3-managed keys: a KMS key here would need the scheduler to generate data keys under the vault key,
    // which it otherwise never may; the items are exported as stored, secret values sealed.
    this.exportBucket = new s3.Bucket(this, 'Exports', {
      ...PRIVATE_S3_MANAGED_BUCKET,
      serverAccessLogsBucket: props.accessLogBucket,
      serverAccessLogsPrefix: 'backup-exports/',
      lifecycleRules: [{ expiration: props.exportRetention ?? Duration.days(35), noncurrentVersionExpiration: Duration.days(7) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.jobFailures = new events.Rule(this, 'JobFailures', {
      description: 'ScaiVault: a failed, aborted or expired AWS Backup job of the tables',
      eventPattern: {
        source: ['aws.backup'],
        detailType: ['Backup Job State Change', 'Restore Job State Change', 'Copy Job State Change'],
        detail: { state: ['FAILED', 'ABORTED', 'EXPIRED'], backupVaultName: [this.vault.backupVaultName] },
      },
      targets: [new targets.SnsTopic(props.alarmTopic)],
    });
  }

  /**
   * The role AWS Backup assumes to back up these tables, instead of its managed
   * policies (which reach every table of the account). Restores are an operator's
   * act with their own role (docs/backups.md), so this one cannot restore.
   */
  private backupRole(tables: readonly dynamodb.ITable[], key: kms.IKey): iam.Role {
    const backups = tables.map((table) => `${table.tableArn}/backup/*`);
    const role = new iam.Role(this, 'BackupRole', {
      assumedBy: new iam.ServicePrincipal('backup.amazonaws.com'),
      description: 'ScaiVault: AWS Backup snapshots of the vault tables',
      inlinePolicies: {
        Tables: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'SnapshotTables',
              actions: ['dynamodb:DescribeTable', 'dynamodb:CreateBackup', 'dynamodb:ListTagsOfResource', 'dynamodb:StartAwsBackupJob'],
              resources: tables.map((table) => table.tableArn),
            }),
            new iam.PolicyStatement({
              sid: 'ManageRecoveryPoints',
              actions: ['dynamodb:DescribeBackup', 'dynamodb:DeleteBackup'],
              resources: backups,
            }),
            new iam.PolicyStatement({
              sid: 'TableKeyThroughBackup',
              actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey', 'kms:CreateGrant'],
              resources: [key.keyArn],
              conditions: { StringLike: { 'kms:ViaService': ['dynamodb.*.amazonaws.com', 'backup.*.amazonaws.com'] } },
            }),
          ],
        }),
      },
    });
    acknowledgeWildcardResources(
      role,
      backups,
      'Backup ARNs are made by DynamoDB when AWS Backup takes a snapshot: the grant covers the backups of these tables only.',
    );
    return role;
  }

  /** The statements a principal needs to export `tables` into the export bucket (the scheduler's step). */
  exportStatements(tables: readonly dynamodb.ITable[]): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        sid: 'BackupExportTables',
        actions: ['dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime'],
        resources: tables.map((table) => table.tableArn),
      }),
      new iam.PolicyStatement({
        sid: 'BackupExportStatus',
        actions: ['dynamodb:DescribeExport'],
        resources: tables.map((table) => `${table.tableArn}/export/*`),
      }),
      new iam.PolicyStatement({
        sid: 'BackupExportObjects',
        actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:PutObjectAcl'],
        resources: [this.exportBucket.arnForObjects(`${BACKUP_EXPORT_PREFIX}*`)],
      }),
    ];
  }
}

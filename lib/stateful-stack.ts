import { Duration, RemovalPolicy, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import {
  AUDIT_ANCHOR_PREFIX,
  AUDIT_BUCKET,
  AUDIT_EXPORT_QUEUE,
  AUDIT_TABLE,
  QUEUES,
  ROTATION_QUEUE,
  METRICS_TABLE,
  METRICS_TOKEN_ROTATION_FUNCTION,
  STATE_TABLE,
  TABLES,
  WEBHOOK_QUEUE,
  deadLetterQueueId,
  type AttributeDefinition,
  type QueueDefinition,
  type TableDefinition,
} from '../functions/runtime/definitions.js';
import { PrometheusWorkspace, allowAlarmDelivery } from './observability.js';
import { type AlarmSubscribers, subscribeAlarmTopic } from './alarm-subscribers.js';
import { VaultBackups } from './backups.js';
import { PRIVATE_S3_MANAGED_BUCKET } from './private-bucket.js';
import { VaultFunction } from './vault-function.js';

/**
 * `governance`: a principal with s3:BypassGovernanceRetention can still remove a
 * locked version early. `compliance`: nobody can, not even the account root,
 * until the retention ends; choose it for production once the period is settled.
 */
export type AuditRetentionMode = 'governance' | 'compliance';

export interface StatefulStackProps extends StackProps {
  /** Object lock default retention of every audit anchor and export version. @default 365 days */
  readonly auditRetention?: Duration;
  /** @default 'governance' */
  readonly auditRetentionMode?: AuditRetentionMode;
  /**
   * Prometheus rules file text (see `mergePrometheusRuleFiles`) loaded into the
   * workspace. @default the workspace has no rules
   */
  readonly prometheusRules?: string;
  /** Directory of prebuilt bundles (the metrics token's rotation function). @default dist/functions */
  readonly bundleDir?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** AWS Backup Vault Lock on the tables' backup vault, in days of minimum retention. @default no lock */
  readonly backupVaultLockDays?: number;
  /** Who the alarm topic pages (e-mail, a Slack channel through AWS Chatbot). @default nobody: subscribe by hand */
  readonly alarmSubscribers?: AlarmSubscribers;
}

export interface VaultQueue {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
}

const attribute = ({ name, type }: AttributeDefinition): dynamodb.Attribute => ({
  name,
  type: type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
});

/**
 * Everything that holds data or identity: key, tables, queues, audit bucket,
 * the bootstrap root and metrics tokens, the Prometheus workspace and the alarm
 * topic with its subscriptions. Data-bearing resources are retained when the stack
 * is deleted; the stateless stack can be replaced freely on top of them.
 */
export class StatefulStack extends Stack {
  readonly key: kms.Key;
  /** Tables by definition id. */
  readonly tables: ReadonlyMap<string, dynamodb.TableV2>;
  /** Queues and their dead-letter queues by definition id. */
  readonly queues: ReadonlyMap<string, VaultQueue>;
  readonly stateTable: dynamodb.TableV2;
  readonly metricsTable: dynamodb.TableV2;
  /** Append-only audit events and sealed blocks. */
  readonly auditTable: dynamodb.TableV2;
  readonly rotationQueue: sqs.Queue;
  readonly webhookQueue: sqs.Queue;
  readonly auditExportQueue: sqs.Queue;
  readonly auditBucket: s3.Bucket;
  /** S3 server access logs of the audit bucket: who read or wrote which anchor or export. */
  readonly accessLogBucket: s3.Bucket;
  readonly rootTokenSecret: secretsmanager.Secret;
  /** Bearer token for /v1/metrics, shared with Prometheus and the standalone ADOT collector. */
  readonly metricsTokenSecret: secretsmanager.Secret;
  /**
   * Rotates the metrics token every 30 days. It lives beside its secret because the
   * rotation schedule must (cdk-nag looks for it in the secret's stack), and a
   * schedule here naming a stateless function would make each stack depend on the other.
   */
  readonly metricsTokenRotation: VaultFunction;
  readonly metricsTokenRotationSchedule: secretsmanager.CfnRotationSchedule;
  /** Pages through the alarm topic when a rotation step fails. */
  readonly metricsTokenRotationAlarm: cloudwatch.Alarm;
  /** CloudWatch alarms and AMP alerts notify here; kept with the data so subscriptions survive the stateless stack. */
  readonly alarmTopic: sns.Topic;
  /** Metric history and alert rules; the functions remote-write into it. */
  readonly prometheus: PrometheusWorkspace;
  /** AWS Backup plan and vault of every table, and the bucket of the scheduler's DynamoDB exports. */
  readonly backups: VaultBackups;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);
    // S3 delivers the audit bucket's access logs under a bucket policy, whatever the app's
    // feature flags: the ACL-based delivery would need ACLs, which no bucket here allows.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    this.key = new kms.Key(this, 'Key', {
      alias: 'alias/scaivault',
      description: 'ScaiVault: wraps secret data keys; encrypts tables, queues, audit bucket, tokens and alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.tables = new Map(TABLES.map((definition) => [definition.id, this.createTable(definition)]));
    this.queues = new Map(QUEUES.map((definition) => [definition.id, this.createQueue(definition)]));
    this.stateTable = this.tableFor(STATE_TABLE);
    this.metricsTable = this.tableFor(METRICS_TABLE);
    this.auditTable = this.tableFor(AUDIT_TABLE);
    this.rotationQueue = this.queueFor(ROTATION_QUEUE).queue;
    this.webhookQueue = this.queueFor(WEBHOOK_QUEUE).queue;
    this.auditExportQueue = this.queueFor(AUDIT_EXPORT_QUEUE).queue;

    const retention = props.auditRetention ?? Duration.days(365);

    // S3 delivers access logs only to a bucket encrypted with S3-managed keys and without
    // object lock default retention, so the logs cannot live in the audit bucket itself.
    this.accessLogBucket = new s3.Bucket(this, 'AuditAccessLogs', {
      ...PRIVATE_S3_MANAGED_BUCKET,
      // Kept as long as the audit objects they describe.
      lifecycleRules: [{ expiration: retention, noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'The access-log destination of the audit bucket: logging it into itself would log every log delivery, and another bucket would only move this finding there.',
    });

    this.auditBucket = new s3.Bucket(this, AUDIT_BUCKET.id, {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      // One KMS call per bucket key rather than per object.
      bucketKeyEnabled: true,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        props.auditRetentionMode === 'compliance' ? s3.ObjectLockRetention.compliance(retention) : s3.ObjectLockRetention.governance(retention),
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: `${AUDIT_BUCKET.id}/`,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An anchor is written once: a put without If-None-Match (which could add a new
    // version over it, even in governance mode) is refused for everyone.
    this.auditBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AuditAnchorsWriteOnce',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.auditBucket.arnForObjects(`${AUDIT_ANCHOR_PREFIX}*`)],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );

    this.rootTokenSecret = new secretsmanager.Secret(this, 'RootTokenSecret', {
      description: 'ScaiVault bootstrap root token (admin on tenant "default"); read once, then create narrower tokens',
      encryptionKey: this.key,
      // The api prefixes `svt_`: Secrets Manager cannot generate a fixed prefix.
      generateSecretString: { passwordLength: 43, excludePunctuation: true, includeSpace: false },
    });

    this.metricsTokenSecret = new secretsmanager.Secret(this, 'MetricsTokenSecret', {
      description: 'ScaiVault /v1/metrics bearer token for Prometheus and the ADOT collector; rotated every 30 days, the api re-reads it every minute',
      encryptionKey: this.key,
      generateSecretString: { passwordLength: 48, excludePunctuation: true, includeSpace: false },
    });
    // The root token is not a credential Secrets Manager could rotate: nothing it changes would reach the vault.
    Validations.of(this.rootTokenSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'A bootstrap value: the api stores the hash of whatever it reads here as a non-expiring root token, so a rotation would add a second root token rather than replace the first.',
    });
    // The api accepts the previous token for a day after each rotation, while scrapers' token files are updated.
    this.metricsTokenRotation = new VaultFunction(this, 'MetricsTokenRotation', {
      name: METRICS_TOKEN_ROTATION_FUNCTION.name,
      description: METRICS_TOKEN_ROTATION_FUNCTION.description,
      timeout: Duration.seconds(METRICS_TOKEN_ROTATION_FUNCTION.timeoutSeconds),
      memorySize: METRICS_TOKEN_ROTATION_FUNCTION.memoryMb,
      bundleDir: props.bundleDir,
      logLevel: props.logLevel,
    });
    this.metricsTokenRotationSchedule = this.metricsTokenRotation.bindSecretRotation(
      this.metricsTokenSecret,
      Duration.days(METRICS_TOKEN_ROTATION_FUNCTION.trigger.everyDays),
    );

    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'ScaiVault alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    allowAlarmDelivery(this.key);
    subscribeAlarmTopic(this, this.alarmTopic, props.alarmSubscribers ?? {});

    // A failed step leaves the new token pending and the old one current: scrapes keep working, so only this alarm tells.
    this.metricsTokenRotationAlarm = new cloudwatch.Alarm(this, 'MetricsTokenRotationErrors', {
      alarmDescription: 'The metrics token rotation function failed a step; the token was not rotated. See its log group.',
      metric: this.metricsTokenRotation.function.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.metricsTokenRotationAlarm.addAlarmAction(new actions.SnsAction(this.alarmTopic));

    this.prometheus = new PrometheusWorkspace(this, 'Prometheus', {
      alias: 'scaivault',
      rules: props.prometheusRules,
      alarmTopic: this.alarmTopic,
    });

    this.backups = new VaultBackups(this, 'Backups', {
      tables: [...this.tables.values()],
      key: this.key,
      alarmTopic: this.alarmTopic,
      accessLogBucket: this.accessLogBucket,
      vaultLockMinRetentionDays: props.backupVaultLockDays,
    });
  }

  /** Dead-letter queues by definition id, e.g. `scaivault-rotation-dlq`. */
  get deadLetterQueues(): Readonly<Record<string, sqs.Queue>> {
    return Object.fromEntries(QUEUES.map((definition) => [deadLetterQueueId(definition), this.queueFor(definition).deadLetterQueue]));
  }

  tableFor(definition: TableDefinition): dynamodb.TableV2 {
    const table = this.tables.get(definition.id);
    if (!table) throw new Error(`table ${definition.id} is not in TABLES`);
    return table;
  }

  queueFor(definition: QueueDefinition): VaultQueue {
    const queue = this.queues.get(definition.id);
    if (!queue) throw new Error(`queue ${definition.id} is not in QUEUES`);
    return queue;
  }

  private createTable(definition: TableDefinition): dynamodb.TableV2 {
    // The audit table shares its id with the audit bucket, whose construct id (and so
    // its logical id) predates it and must not change: the table takes a suffix instead.
    const id = definition.id === AUDIT_BUCKET.id ? `${definition.id}-table` : definition.id;
    return new dynamodb.TableV2(this, id, {
      partitionKey: attribute(definition.partitionKey),
      sortKey: definition.sortKey && attribute(definition.sortKey),
      timeToLiveAttribute: definition.timeToLiveAttribute,
      globalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey && attribute(index.sortKey),
      })),
      billing: dynamodb.Billing.onDemand(),
      encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.key),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  private createQueue(definition: QueueDefinition): VaultQueue {
    const encryption = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      // Reuse a data key for 5 minutes instead of calling KMS per message.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
    };
    const deadLetterQueue = new sqs.Queue(this, deadLetterQueueId(definition), {
      ...encryption,
      retentionPeriod: Duration.days(14),
    });
    const queue = new sqs.Queue(this, definition.id, {
      ...encryption,
      visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(definition.retentionDays),
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: definition.maxReceiveCount },
    });
    return { queue, deadLetterQueue };
  }
}

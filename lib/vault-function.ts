import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  AUDIT_ANCHOR_PREFIX,
  AUDIT_BUCKET,
  AUDIT_EXPORT_PREFIX,
  PKI_CRL_PREFIX,
  PKI_KMS_KEY_TAG,
  AUDIT_TABLE,
  ENV,
  LAMBDA_NODE_MAJOR,
  STATE_TABLE,
  TABLES,
  type QueueDefinition,
} from '../functions/runtime/definitions.js';
import { WILDCARD_PERMISSION_RULE, acknowledgeWildcardResources } from './nag.js';
import type { VaultBackups } from './backups.js';
import { METRICS_NAMESPACE, type PrometheusWorkspaceRef } from './observability.js';

/** Where `scripts/build.ts` writes one bundle directory per handler. */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../dist/functions', import.meta.url));

/** Every DynamoDB call the vault makes on its state table; nothing table-administrative. */
export const STATE_TABLE_ACTIONS: readonly string[] = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchWriteItem',
];

/**
 * The audit table is append-only: items are put and read back, never updated or
 * deleted. IAM cannot stop a PutItem or a batch from replacing or deleting an
 * existing item (BatchWriteItem carries deletes under its own action); the hash
 * chain and its S3 anchors make that evident instead.
 */
export const AUDIT_TABLE_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem', 'dynamodb:Query'];

/** Job records: an export reads its job and marks it finished. */
export const JOB_RECORD_ACTIONS: readonly string[] = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];

/** The encryption context the audit HMAC key is generated and unwrapped under (functions/domain/audit/audit-log.ts). */
export const AUDIT_HMAC_CONTEXT = { purpose: 'audit-hmac' } as const;

/** Envelope encryption: wrap new data keys, unwrap stored ones, report key state. */
/** The one wildcard action granted: only through DynamoDB, on the table key. */
export const TABLE_KEY_DATA_KEY_ACTION = 'kms:GenerateDataKey*';

export const ENVELOPE_KEY_ACTIONS: readonly string[] = ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:DescribeKey'];

/**
 * `administer` is the api's: the envelope actions plus RotateKeyOnDemand
 * (`POST /v1/admin/keys/master/rotate`). `envelope` is the scheduler's: it
 * checks the key's state with every readiness run, makes data keys on the
 * rotation schedule, re-seals under them and seals ACME certificate keys.
 * `unwrap` is a worker's: it only opens and seals under data keys that already
 * exist, so it needs Decrypt alone. `describe` checks the key's state only.
 * `none` only names the key, which the shared core's config requires, for a
 * function that never opens a secret.
 */
export type KeyAccess = 'administer' | 'envelope' | 'unwrap' | 'describe' | 'none';

const KEY_ACTIONS: Record<KeyAccess, readonly string[]> = {
  administer: [...ENVELOPE_KEY_ACTIONS, 'kms:RotateKeyOnDemand'],
  envelope: ENVELOPE_KEY_ACTIONS,
  unwrap: ['kms:Decrypt'],
  describe: ['kms:DescribeKey'],
  none: [],
};

/** `probe` only reads attributes (readiness, queue depth); `send` enqueues; `consume` is a worker's. */
export type QueueAccess = 'probe' | 'send' | 'consume';

/**
 * What a function does in the audit bucket. Each may list it: that is HeadBucket
 * (readiness), and lets a missing object read as 404 rather than 403.
 * `verify` (the api) reads anchors and export manifests; `seal` (the scheduler)
 * writes and reads anchors; `export` (audit-export) writes exports as multipart
 * uploads and reads its manifests back.
 */
export type AuditBucketAccess = 'verify' | 'seal' | 'export';

interface ObjectGrant {
  readonly actions: readonly string[];
  readonly prefixes: readonly string[];
}

const AUDIT_OBJECT_GRANTS: Record<AuditBucketAccess, ObjectGrant> = {
  verify: { actions: ['s3:GetObject'], prefixes: [AUDIT_ANCHOR_PREFIX, AUDIT_EXPORT_PREFIX] },
  // HeadObject is authorised by s3:GetObject.
  seal: { actions: ['s3:GetObject', 's3:PutObject'], prefixes: [AUDIT_ANCHOR_PREFIX] },
  // s3:PutObject also covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload.
  export: { actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'], prefixes: [AUDIT_EXPORT_PREFIX] },
};

/** The audit trail every function writes to. */
export interface AuditTrailProps {
  readonly table: dynamodb.ITable;
  /** The envelope key: generates and unwraps the audit HMAC key, under AUDIT_HMAC_CONTEXT only. */
  readonly key: kms.IKey;
  /** SCAIVAULT_SYSLOG_URL: an RFC 5424 relay (udp://, tcp:// or tls://) that gets a copy of every event. @default none */
  readonly syslogUrl?: string;
  /** The rest of the audit settings as environment variables (lib/audit-settings.ts). @default none */
  readonly environment?: Readonly<Record<string, string>>;
}

const QUEUE_ACTIONS: Record<QueueAccess, readonly string[]> = {
  probe: ['sqs:GetQueueAttributes'],
  send: ['sqs:GetQueueAttributes', 'sqs:SendMessage'],
  consume: ['sqs:GetQueueAttributes', 'sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
};

const QUEUE_KEY_ACTIONS: Record<QueueAccess, readonly string[]> = {
  probe: [],
  send: ['kms:GenerateDataKey', 'kms:Decrypt'],
  consume: ['kms:Decrypt'],
};

/** How a worker's event source mapping reads its queue. */
export interface QueueSourceOptions {
  /** Messages per invocation, 1..10. */
  readonly batchSize: number;
  /** How long the poller may wait to fill a batch. @default no wait */
  readonly maxBatchingWindow?: Duration;
  /** Concurrent invocations this mapping may start, 2..1000: a backlog cannot take the account's concurrency. */
  readonly maxConcurrency: number;
}

/** Where the ADOT collector reads its config: `scripts/build.ts` puts ops/adot/lambda-collector.yaml there. */
export const COLLECTOR_CONFIG_FILE = 'collector.yaml';

export interface TelemetryProps {
  /** ADOT collector layer (arm64), e.g. `adotCollectorLayerArn(region)`; pin the release here. */
  readonly collectorLayerArn: string;
  /** Where the scheduler remote-writes the fleet's metrics (SigV4, `aps:RemoteWrite` on this workspace only). */
  readonly prometheus: PrometheusWorkspaceRef;
  /** `deployment.environment` resource attribute on every span, and the `instance` label of pushed series. */
  readonly stage: string;
  /** OTEL_TRACES_SAMPLER_ARG, 0..1, for root spans (parent-based below). @default 1 */
  readonly tracesSampleRatio?: number;
  /** Powertools Metrics (EMF) namespace. @default METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  /** @default `scaivault-<name>` */
  readonly serviceName?: string;
}

export interface VaultFunctionProps {
  /** Handler name: the bundle `dist/functions/<name>/index.mjs` built from `functions/handlers/<name>.ts`. */
  readonly name: string;
  readonly description?: string;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default 10 seconds */
  readonly timeout?: Duration;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  readonly environment?: Readonly<Record<string, string>>;
  /** Directory holding `<name>/index.mjs`. @default DEFAULT_BUNDLE_DIR */
  readonly bundleDir?: string;
}

const NODE_RUNTIMES: Readonly<Record<typeof LAMBDA_NODE_MAJOR, lambda.Runtime>> = { 24: lambda.Runtime.NODEJS_24_X };

/**
 * A ScaiVault Lambda: Node.js 24 (LAMBDA_NODE_MAJOR) on arm64, active tracing, its own log group,
 * code from the prebuilt bundle. Access is added only through the `bind*`
 * helpers, which grant the IAM actions and set the env var the code reads in
 * one call, so a function never has a permission without its configuration
 * or the reverse.
 */
export class VaultFunction extends Construct {
  /** Handler name, as in `functions/handlers/<name>.ts`. */
  readonly name: string;
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;
  /** The queues this function is invoked from, in the order bound. */
  readonly eventSourceMappings: lambda.EventSourceMapping[] = [];
  private readonly codeDir: string;

  constructor(scope: Construct, id: string, props: VaultFunctionProps) {
    super(scope, id);
    this.name = props.name;
    const codeDir = join(props.bundleDir ?? DEFAULT_BUNDLE_DIR, props.name);
    this.codeDir = codeDir;
    if (!existsSync(join(codeDir, 'index.mjs'))) {
      throw new Error(`no bundle for function "${props.name}" at ${codeDir}: run \`npm run build\` first`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    // A role of its own rather than Lambda's default with AWSLambdaBasicExecutionRole,
    // which may create any log group and write to all of them.
    const role = new iam.Role(this, 'ServiceRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });

    this.function = new lambda.Function(this, 'Function', {
      role,
      description: props.description,
      runtime: NODE_RUNTIMES[LAMBDA_NODE_MAJOR],
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(codeDir),
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        [ENV.logLevel]: props.logLevel ?? 'info',
        [ENV.logFormat]: 'json',
        ...props.environment,
      },
    });
    // The log group exists before the function runs: streams and events in it, nothing else.
    this.allow('Logs', ['logs:CreateLogStream', 'logs:PutLogEvents'], [this.logGroup.logGroupArn]);
    Validations.of(this).acknowledge({
      id: `${WILDCARD_PERMISSION_RULE}[Resource::*]`,
      reason:
        'Active tracing grants xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; every other statement names its resources, which the infra tests check.',
    });
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /**
   * Item-level read/write on a table, queries of each index its definition names
   * (the one in TABLES with this env var), plus the table key through DynamoDB only.
   */
  bindStateTable(table: dynamodb.ITable, envVar: string = STATE_TABLE.envVar, actions: readonly string[] = STATE_TABLE_ACTIONS): this {
    const definition = TABLES.find((candidate) => candidate.envVar === envVar);
    if (!definition) throw new Error(`no table in TABLES is named by ${envVar}`);
    this.allow(`Table${this.sidSuffix(envVar)}`, actions, [table.tableArn]);
    // Of the item actions, only Query applies to an index.
    const indexArns = definition.globalSecondaryIndexes.map((index) => `${table.tableArn}/index/${index.indexName}`);
    if (actions.includes('dynamodb:Query') && indexArns.length > 0) this.allow(`TableIndexes${this.sidSuffix(envVar)}`, ['dynamodb:Query'], indexArns);
    if (table.encryptionKey) {
      // The actions aws-cdk-lib's own table grants give a customer-managed table key (DynamoDB calls KMS for the caller).
      this.allowKeyViaService(`TableKey${this.sidSuffix(envVar)}`, table.encryptionKey, 'dynamodb', [
        'kms:Decrypt',
        'kms:Encrypt',
        TABLE_KEY_DATA_KEY_ACTION,
        'kms:DescribeKey',
      ]);
      Validations.of(this).acknowledge({
        id: `${WILDCARD_PERMISSION_RULE}[Action::${TABLE_KEY_DATA_KEY_ACTION}]`,
        reason:
          "DynamoDB generates data keys under the table key on the caller's behalf, and only through DynamoDB (kms:ViaService); the variant it calls is not documented, so the grant matches aws-cdk-lib's table grants.",
      });
    }
    return this.env(envVar, table.tableName);
  }

  /** The envelope key that wraps data keys for secret values. */
  bindKey(key: kms.IKey, mode: KeyAccess = 'envelope'): this {
    if (KEY_ACTIONS[mode].length > 0) this.allow('EnvelopeKey', KEY_ACTIONS[mode], [key.keyArn]);
    this.env(ENV.keyProvider, 'aws-kms');
    return this.env(ENV.kmsKeyId, key.keyArn);
  }

  bindQueue(queue: sqs.IQueue, envVar: string, mode: QueueAccess): this {
    this.allow(`Queue${this.sidSuffix(envVar)}`, QUEUE_ACTIONS[mode], [queue.queueArn]);
    const keyActions = QUEUE_KEY_ACTIONS[mode];
    if (queue.encryptionMasterKey && keyActions.length > 0) {
      this.allowKeyViaService(`QueueKey${this.sidSuffix(envVar)}`, queue.encryptionMasterKey, 'sqs', keyActions);
    }
    return this.env(envVar, queue.queueUrl);
  }

  /**
   * Invokes this function with batches from `queue`: consume access (which the
   * mapping's poller uses), the queue URL for the code, and a mapping with
   * partial batch responses, so only the messages the handler names in
   * `batchItemFailures` come back. The function must finish inside the queue's
   * visibility timeout, or a batch still running reappears to another invocation.
   */
  bindQueueSource(queue: sqs.IQueue, definition: QueueDefinition, options: QueueSourceOptions): this {
    const timeout = this.function.timeout ?? Duration.seconds(3);
    if (timeout.toSeconds() >= definition.visibilityTimeoutSeconds) {
      throw new Error(
        `function "${this.name}" times out after ${timeout.toSeconds()} s, not inside the ${definition.visibilityTimeoutSeconds} s visibility timeout of queue ${definition.id}`,
      );
    }
    this.bindQueue(queue, definition.envVar, 'consume');
    this.eventSourceMappings.push(
      this.function.addEventSourceMapping(`${this.sidSuffix(definition.id)}Source`, {
        eventSourceArn: queue.queueArn,
        batchSize: options.batchSize,
        maxBatchingWindow: options.maxBatchingWindow,
        maxConcurrency: options.maxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    return this;
  }

  /**
   * Writes audit events: puts and reads items of the audit table (never updates
   * or deletes them), and generates then unwraps the deployment's HMAC key with
   * the envelope key, but only under the audit-hmac encryption context, so a
   * worker that may not create tenant data keys still can on its first event.
   */
  bindAuditTrail(trail: AuditTrailProps): this {
    this.bindStateTable(trail.table, AUDIT_TABLE.envVar, AUDIT_TABLE_ACTIONS);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'AuditHmacKey',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [trail.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': AUDIT_HMAC_CONTEXT.purpose } },
      }),
    );
    for (const [name, value] of Object.entries(trail.environment ?? {})) this.env(name, value);
    return trail.syslogUrl ? this.env(ENV.syslogUrl, trail.syslogUrl) : this;
  }

  /** Sealed-chain anchors and exports in the audit bucket, by prefix (see AuditBucketAccess). */
  bindAuditBucket(bucket: s3.IBucket, mode: AuditBucketAccess, envVar: string = AUDIT_BUCKET.envVar): this {
    // HeadBucket is authorised by s3:ListBucket.
    this.allow('AuditBucket', ['s3:ListBucket'], [bucket.bucketArn]);
    const { actions, prefixes } = AUDIT_OBJECT_GRANTS[mode];
    const objects = prefixes.map((prefix) => bucket.arnForObjects(`${prefix}*`));
    this.allow('AuditObjects', actions, objects);
    acknowledgeWildcardResources(
      this,
      objects,
      'Anchors are keyed by block sequence number and exports by export id, both made at run time: the grant is confined to the prefix of the objects this function reads or writes.',
    );
    if (bucket.encryptionKey) {
      const writes = actions.includes('s3:PutObject');
      this.allowKeyViaService('AuditBucketKey', bucket.encryptionKey, 's3', writes ? ['kms:GenerateDataKey', 'kms:Decrypt'] : ['kms:Decrypt']);
    }
    return this.env(envVar, bucket.bucketName);
  }

  /**
   * The PKI: signed CRLs published under `pki/` of the audit bucket, and CA keys in
   * KMS (`key_backend: "kms"`): created only with ScaiVault's CA tag, and only keys
   * carrying that tag may sign or give their public key. The envelope key is not one.
   */
  bindPki(bucket: s3.IBucket): this {
    const crls = [bucket.arnForObjects(`${PKI_CRL_PREFIX}*`)];
    this.allow('PkiCrls', ['s3:PutObject'], crls);
    if (bucket.encryptionKey) this.allowKeyViaService('PkiCrlsKey', bucket.encryptionKey, 's3', ['kms:GenerateDataKey']);
    const tagged = { [`aws:RequestTag/${PKI_KMS_KEY_TAG.key}`]: PKI_KMS_KEY_TAG.value };
    const keys = Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' });
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'PkiCaKeyCreate', actions: ['kms:CreateKey', 'kms:TagResource'], resources: ['*'], conditions: { StringEquals: tagged } }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PkiCaKeyUse',
        actions: ['kms:GetPublicKey', 'kms:Sign'],
        resources: [keys],
        conditions: { StringEquals: { [`aws:ResourceTag/${PKI_KMS_KEY_TAG.key}`]: PKI_KMS_KEY_TAG.value } },
      }),
    );
    acknowledgeWildcardResources(
      this,
      [...crls, '*', keys],
      'CRL objects are keyed by tenant and CA id and CA keys are created at run time: creation requires, and signing is confined to, the ScaiVault CA tag.',
    );
    return this;
  }

  /**
   * ACME dns-01 through Route 53: the TXT records of the hosted zones tenants name
   * on their managed certificates, and the state of those changes.
   */
  bindAcmeDns(): this {
    const zones = [Stack.of(this).formatArn({ service: 'route53', region: '', account: '', resource: 'hostedzone', resourceName: '*' })];
    const changes = [Stack.of(this).formatArn({ service: 'route53', region: '', account: '', resource: 'change', resourceName: '*' })];
    this.allow('AcmeDnsRecords', ['route53:ChangeResourceRecordSets'], zones);
    this.allow('AcmeDnsChanges', ['route53:GetChange'], changes);
    acknowledgeWildcardResources(
      this,
      [...zones, ...changes],
      "Each managed certificate names its own hosted zone at run time and change ids are Route 53's; the grant is the two dns-01 actions only (no zone listing or deletion).",
    );
    return this;
  }

  /** Point-in-time exports of `tables` into the backup export bucket, every SCAIVAULT_BACKUP_EXPORT_INTERVAL_HOURS. */
  bindBackupExports(backups: VaultBackups, tables: readonly dynamodb.ITable[]): this {
    const statements = backups.exportStatements(tables);
    for (const statement of statements) this.function.addToRolePolicy(statement);
    acknowledgeWildcardResources(
      this,
      statements.slice(1).flatMap((statement) => statement.resources),
      'Export ids and export object keys are made by DynamoDB at run time: the grants are confined to the exports of these tables and the exports/ prefix of the export bucket.',
    );
    return this.env(ENV.backupExportBucket, backups.exportBucket.bucketName);
  }

  /** Read-only access to the bootstrap root token, which the api hashes on first use. */
  bindRootTokenSecret(secret: secretsmanager.ISecret, envVar: string = ENV.rootTokenSecretArn): this {
    this.allow('RootTokenSecret', ['secretsmanager:GetSecretValue'], [secret.secretArn]);
    if (secret.encryptionKey) {
      this.allowKeyViaService('RootTokenSecretKey', secret.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    }
    return this.env(envVar, secret.secretArn);
  }

  /** Read-only access to the token that guards /v1/metrics; the api reads it on the first scrape. */
  bindMetricsTokenSecret(secret: secretsmanager.ISecret, envVar: string = ENV.metricsTokenSecretArn): this {
    this.allow('MetricsTokenSecret', ['secretsmanager:GetSecretValue'], [secret.secretArn]);
    if (secret.encryptionKey) {
      this.allowKeyViaService('MetricsTokenSecretKey', secret.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    }
    return this.env(envVar, secret.secretArn);
  }

  /** What a rotation function does to the one secret it rotates: read its stages and versions, store the pending one, move AWSCURRENT. */
  static readonly SECRET_ROTATION_ACTIONS: readonly string[] = [
    'secretsmanager:DescribeSecret',
    'secretsmanager:GetSecretValue',
    'secretsmanager:PutSecretValue',
    'secretsmanager:UpdateSecretVersionStage',
  ];

  /**
   * Makes this function the rotation function of `secret`, every `every`: the
   * secret's rotation actions on that secret alone, its key through Secrets
   * Manager only, and an invoke permission for Secrets Manager on behalf of that
   * secret only. Not aws-cdk-lib's RotationSchedule, which also grants
   * secretsmanager:GetRandomPassword on `*`: the function makes its own token.
   * The schedule waits for the function and its permissions, and does not rotate
   * at deploy time: the first rotation comes one period after the schedule is made.
   */
  bindSecretRotation(secret: secretsmanager.ISecret, every: Duration): secretsmanager.CfnRotationSchedule {
    this.allow('RotatedSecret', VaultFunction.SECRET_ROTATION_ACTIONS, [secret.secretArn]);
    if (secret.encryptionKey) {
      this.allowKeyViaService('RotatedSecretKey', secret.encryptionKey, 'secretsmanager', ['kms:Decrypt', 'kms:GenerateDataKey']);
    }
    this.function.addPermission('SecretsManagerInvoke', {
      principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
      sourceArn: secret.secretArn,
    });
    const schedule = new secretsmanager.CfnRotationSchedule(Stack.of(secret), `${this.node.id}Schedule`, {
      secretId: secret.secretArn,
      rotationLambdaArn: this.function.functionArn,
      rotationRules: { scheduleExpression: `rate(${every.toDays()} days)` },
      rotateImmediatelyOnUpdate: false,
    });
    schedule.node.addDependency(this);
    return schedule;
  }

  /**
   * The ADOT collector as a Lambda extension: the code sends OTLP to it on
   * localhost, it exports traces to X-Ray and metrics to the Prometheus
   * workspace (ops/adot/lambda-collector.yaml). Also turns on EMF metrics.
   */
  bindTelemetry(props: TelemetryProps): this {
    if (!existsSync(join(this.codeDir, COLLECTOR_CONFIG_FILE))) {
      throw new Error(`no collector config for function "${this.name}" at ${join(this.codeDir, COLLECTOR_CONFIG_FILE)}: run \`npm run build\` first`);
    }
    const ratio = props.tracesSampleRatio ?? 1;
    if (!(ratio >= 0 && ratio <= 1)) throw new Error(`tracesSampleRatio must be between 0 and 1, got ${ratio}`);
    // OTEL_RESOURCE_ATTRIBUTES values are percent-encoded; keep the stage to characters that need none.
    if (!/^[A-Za-z0-9._-]+$/.test(props.stage)) throw new Error(`stage must be letters, digits, '.', '_' or '-', got "${props.stage}"`);

    this.function.addLayers(lambda.LayerVersion.fromLayerVersionArn(this, 'AdotCollectorLayer', props.collectorLayerArn));
    this.allow('PrometheusRemoteWrite', ['aps:RemoteWrite'], [props.prometheus.workspaceArn]);
    // The awsxray exporter needs xray:PutTraceSegments and PutTelemetryRecords (on *: X-Ray has no
    // resource-level permissions for them); the constructor's active tracing already grants exactly those.
    return this.env(ENV.collectorConfigUri, `/var/task/${COLLECTOR_CONFIG_FILE}`)
      .env(ENV.otelExporterEndpoint, 'http://localhost:4318')
      .env(ENV.otelServiceName, props.serviceName ?? `scaivault-${this.name}`)
      .env(ENV.otelResourceAttributes, `deployment.environment=${props.stage}`)
      .env(ENV.otelTracesSamplerArg, String(ratio))
      .env(ENV.ampRemoteWriteEndpoint, props.prometheus.remoteWriteEndpoint)
      .env(ENV.metricsInstance, props.stage)
      .env(ENV.cloudWatchNamespace, props.metricsNamespace ?? METRICS_NAMESPACE);
  }

  private env(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  private allow(sid: string, actions: readonly string[], resources: string[]): void {
    this.function.addToRolePolicy(new iam.PolicyStatement({ sid, actions: [...actions], resources }));
  }

  /** Key use that only counts when the named service makes the call on the function's behalf. */
  private allowKeyViaService(sid: string, key: kms.IKey, service: string, actions: readonly string[]): void {
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid,
        actions: [...actions],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `${service}.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  private sidSuffix(envVar: string): string {
    return envVar
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter(Boolean)
      .map((part) => part[0]!.toUpperCase() + part.slice(1))
      .join('');
  }
}

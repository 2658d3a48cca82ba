import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AUDIT_BUCKET, STATE_TABLE } from './definitions.js';

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

/** Envelope encryption: wrap new data keys, unwrap stored ones, report key state. */
export const ENVELOPE_KEY_ACTIONS: readonly string[] = ['kms:GenerateDataKey', 'kms:Decrypt', 'kms:DescribeKey'];

/** `probe` only reads attributes (readiness, queue depth); `send` enqueues; `consume` is a worker's. */
export type QueueAccess = 'probe' | 'send' | 'consume';

/** `probe` is HeadBucket for readiness; `write` also puts objects (audit export, anchors). */
export type BucketAccess = 'probe' | 'write';

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

/**
 * A ScaiVault Lambda: Node.js 22 on arm64, active tracing, its own log group,
 * code from the prebuilt bundle. Access is added only through the `bind*`
 * helpers, which grant the IAM actions and set the env var the code reads in
 * one call, so a function never has a permission without its configuration
 * or the reverse.
 */
export class VaultFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: VaultFunctionProps) {
    super(scope, id);
    const codeDir = join(props.bundleDir ?? DEFAULT_BUNDLE_DIR, props.name);
    if (!existsSync(join(codeDir, 'index.mjs'))) {
      throw new Error(`no bundle for function "${props.name}" at ${codeDir}: run \`npm run build\` first`);
    }

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });

    this.function = new lambda.Function(this, 'Function', {
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(codeDir),
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      environment: {
        LOG_LEVEL: props.logLevel ?? 'info',
        LOG_FORMAT: 'json',
        ...props.environment,
      },
    });
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /** Item-level read/write on a table and its indexes, plus the table key through DynamoDB only. */
  bindStateTable(table: dynamodb.ITable, envVar: string = STATE_TABLE.envVar, actions: readonly string[] = STATE_TABLE_ACTIONS): this {
    this.allow(`Table${this.sidSuffix(envVar)}`, actions, [table.tableArn, `${table.tableArn}/index/*`]);
    if (table.encryptionKey) {
      this.allowKeyViaService(`TableKey${this.sidSuffix(envVar)}`, table.encryptionKey, 'dynamodb', [
        'kms:Decrypt',
        'kms:Encrypt',
        'kms:GenerateDataKey*',
        'kms:DescribeKey',
      ]);
    }
    return this.env(envVar, table.tableName);
  }

  /** The envelope key that wraps data keys for secret values. */
  bindKey(key: kms.IKey): this {
    this.allow('EnvelopeKey', ENVELOPE_KEY_ACTIONS, [key.keyArn]);
    this.env('SCAIVAULT_KEY_PROVIDER', 'aws-kms');
    return this.env('SCAIVAULT_KMS_KEY_ID', key.keyArn);
  }

  bindQueue(queue: sqs.IQueue, envVar: string, mode: QueueAccess): this {
    this.allow(`Queue${this.sidSuffix(envVar)}`, QUEUE_ACTIONS[mode], [queue.queueArn]);
    const keyActions = QUEUE_KEY_ACTIONS[mode];
    if (queue.encryptionMasterKey && keyActions.length > 0) {
      this.allowKeyViaService(`QueueKey${this.sidSuffix(envVar)}`, queue.encryptionMasterKey, 'sqs', keyActions);
    }
    return this.env(envVar, queue.queueUrl);
  }

  bindAuditBucket(bucket: s3.IBucket, mode: BucketAccess = 'probe', envVar: string = AUDIT_BUCKET.envVar): this {
    // HeadBucket is authorised by s3:ListBucket.
    this.allow('AuditBucket', ['s3:ListBucket'], [bucket.bucketArn]);
    if (mode === 'write') {
      this.allow('AuditObjects', ['s3:PutObject'], [bucket.arnForObjects('*')]);
      if (bucket.encryptionKey) {
        this.allowKeyViaService('AuditBucketKey', bucket.encryptionKey, 's3', ['kms:GenerateDataKey', 'kms:Decrypt']);
      }
    }
    return this.env(envVar, bucket.bucketName);
  }

  /** Read-only access to the bootstrap root token, which the api hashes on first use. */
  bindRootTokenSecret(secret: secretsmanager.ISecret, envVar = 'SCAIVAULT_ROOT_TOKEN_SECRET_ARN'): this {
    this.allow('RootTokenSecret', ['secretsmanager:GetSecretValue'], [secret.secretArn]);
    if (secret.encryptionKey) {
      this.allowKeyViaService('RootTokenSecretKey', secret.encryptionKey, 'secretsmanager', ['kms:Decrypt']);
    }
    return this.env(envVar, secret.secretArn);
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

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  AUDIT_BUCKET,
  AUDIT_EXPORT_QUEUE,
  AUDIT_TABLE,
  METRICS_TABLE,
  QUEUES,
  ROTATION_QUEUE,
  STATE_TABLE,
  TABLES,
  WEBHOOK_QUEUE,
  deadLetterQueueId,
  type TableDefinition,
} from '../../functions/runtime/definitions.js';
import { StatefulStack } from '../../lib/stateful-stack.js';
import { type AlarmSubscribers, alarmSubscribersFromContext } from '../../lib/alarm-subscribers.js';
import type { StatelessStack } from '../../lib/stateless-stack.js';
import {
  ENV,
  actionsByResource,
  allPolicyStatements,
  allowsAction,
  arnOf,
  asArray,
  forService,
  logicalId,
  objectArn,
  refOf,
  resolveImports as resolveWith,
  roleStatements,
  PKI_SIDS,
  withoutPki,
  synthesize,
  indexArns,
  type Json,
  type Synthesized,
} from './support/synth.js';

// Written out here, not imported: widening the grant in lib/ must fail this test.
const API_DYNAMODB_ACTIONS = [
  'dynamodb:BatchWriteItem',
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:Query',
  'dynamodb:UpdateItem',
];
const ENVELOPE_KMS_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey', 'kms:RotateKeyOnDemand'];
const AUDIT_DYNAMODB_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];

let synth: Synthesized;
let statefulStack: StatefulStack;
let statelessStack: StatelessStack;
let stateful: Template;
let stateless: Template;
let statefulJson: Json;
let statelessJson: Json;

/** Replaces the stateless stack's cross-stack reads with the stateful expression they publish. */
const resolveImports = (value: Json): Json => resolveWith(statefulJson, value);

const apiFunctionId = () => logicalId(statelessStack, statelessStack.api.function);
const apiFunction = () => statelessJson.Resources[apiFunctionId()];

/** Every statement in the identity policies attached to the api function's role, cross-stack refs resolved. */
const apiStatements = () => withoutPki(roleStatements(synth, statelessStack.api));
const pkiStatements = (fn: Parameters<typeof roleStatements>[1]) => roleStatements(synth, fn).filter((s) => PKI_SIDS.has(s.sid ?? ''));

beforeAll(async () => {
  synth = await synthesize();
  ({ statefulStack, statelessStack, stateful, stateless, statefulJson, statelessJson } = synth);
});

afterAll(async () => {
  await synth?.dispose();
});

describe('stateful stack', () => {
  const keyArn = () => arnOf(logicalId(statefulStack, statefulStack.key));

  it('has one retained customer-managed key with rotation and the scaivault alias', () => {
    stateful.resourceCountIs('AWS::KMS::Key', 1);
    const key = Object.values(stateful.findResources('AWS::KMS::Key'))[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('Retain');
    stateful.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/scaivault',
      TargetKeyId: arnOf(logicalId(statefulStack, statefulStack.key)),
    });
  });

  it('builds exactly the tables in functions/runtime/definitions.ts', () => {
    expect(Object.keys(stateful.findResources('AWS::DynamoDB::GlobalTable'))).toHaveLength(TABLES.length);
    expect(statefulStack.tableFor(STATE_TABLE)).toBe(statefulStack.stateTable);
    expect(statefulStack.tableFor(AUDIT_TABLE)).toBe(statefulStack.auditTable);
    expect(statefulStack.queueFor(AUDIT_EXPORT_QUEUE).queue).toBe(statefulStack.auditExportQueue);
  });

  it('keeps the audit trail forever: pk/sk items, blocks by end through byEnd, no TTL', () => {
    const table = statefulJson.Resources[logicalId(statefulStack, statefulStack.auditTable)];
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table.Properties.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: 'byEnd',
        KeySchema: [
          { AttributeName: 'gpk', KeyType: 'HASH' },
          { AttributeName: 'gsk', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      }),
    ]);
    expect(table.Properties).not.toHaveProperty('TimeToLiveSpecification');
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    expect(table.Properties.Replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(table.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
  });

  describe.each(TABLES.map((t) => [t.id, t] as const))('table %s', (_id, definition) => {
    const table = () => statefulJson.Resources[logicalId(statefulStack, statefulStack.tableFor(definition))];

    it('has the key schema, TTL attribute and GSIs of its definition', () => {
      const props = table().Properties;
      const keySchema = [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }];
      if (definition.sortKey) keySchema.push({ AttributeName: definition.sortKey.name, KeyType: 'RANGE' });
      expect(props.KeySchema).toEqual(keySchema);
      if (definition.timeToLiveAttribute) {
        expect(props.TimeToLiveSpecification).toEqual({ AttributeName: definition.timeToLiveAttribute, Enabled: true });
      }
      expect(props.GlobalSecondaryIndexes ?? []).toHaveLength(definition.globalSecondaryIndexes.length);
      for (const index of definition.globalSecondaryIndexes) {
        const gsi = props.GlobalSecondaryIndexes.find((g: Json) => g.IndexName === index.indexName);
        const gsiKeys = [{ AttributeName: index.partitionKey.name, KeyType: 'HASH' }];
        if (index.sortKey) gsiKeys.push({ AttributeName: index.sortKey.name, KeyType: 'RANGE' });
        expect(gsi?.KeySchema).toEqual(gsiKeys);
        for (const attr of [index.partitionKey, index.sortKey].filter((a) => a !== undefined)) {
          expect(props.AttributeDefinitions).toContainEqual({ AttributeName: attr.name, AttributeType: attr.type });
        }
      }
    });

    it('is on-demand, point-in-time recoverable, deletion protected and retained', () => {
      expect(table().Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table().DeletionPolicy).toBe('Retain');
      const replicas = table().Properties.Replicas;
      expect(replicas).toHaveLength(1);
      expect(replicas[0].PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(replicas[0].DeletionProtectionEnabled).toBe(true);
    });

    it('is encrypted with the customer-managed key', () => {
      expect(table().Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      expect(table().Properties.Replicas[0].SSESpecification).toEqual({ KMSMasterKeyId: keyArn() });
    });
  });

  describe.each(QUEUES.map((q) => [q.id, q] as const))('queue %s', (_id, definition) => {
    const ids = () => {
      const { queue, deadLetterQueue } = statefulStack.queueFor(definition);
      return { queue: logicalId(statefulStack, queue), dlq: logicalId(statefulStack, deadLetterQueue) };
    };

    it('redrives to its own DLQ after the definition maxReceiveCount', () => {
      const { queue, dlq } = ids();
      expect(dlq).toMatch(new RegExp(`^${deadLetterQueueId(definition).replace(/[^A-Za-z0-9]/g, '')}`));
      const props = statefulJson.Resources[queue].Properties;
      expect(props.RedrivePolicy).toEqual({ deadLetterTargetArn: arnOf(dlq), maxReceiveCount: definition.maxReceiveCount });
      expect(props.VisibilityTimeout).toBe(definition.visibilityTimeoutSeconds);
      expect(props.MessageRetentionPeriod).toBe(definition.retentionDays * 86_400);
      expect(statefulJson.Resources[dlq].Properties.MessageRetentionPeriod).toBe(14 * 86_400);
    });

    it('encrypts the queue and its DLQ with the customer-managed key', () => {
      const { queue, dlq } = ids();
      for (const id of [queue, dlq]) {
        expect(statefulJson.Resources[id].Properties.KmsMasterKeyId).toEqual(keyArn());
      }
    });

    it('denies any non-TLS access to the queue and its DLQ', () => {
      const { queue, dlq } = ids();
      for (const id of [queue, dlq]) {
        const policies = Object.values(stateful.findResources('AWS::SQS::QueuePolicy')).filter((p) => p.Properties.Queues.some((q: Json) => q.Ref === id));
        const statements = policies.flatMap((p) => asArray(p.Properties.PolicyDocument.Statement));
        expect(statements).toContainEqual({
          Action: 'sqs:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Resource: arnOf(id),
        });
      }
    });
  });

  describe('audit bucket', () => {
    const bucketId = () => logicalId(statefulStack, statefulStack.auditBucket);
    const bucket = () => statefulJson.Resources[bucketId()];

    it('blocks all public access, is versioned, KMS-encrypted with the key and retained', () => {
      const props = bucket().Properties;
      expect(props.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({
        SSEAlgorithm: 'aws:kms',
        KMSMasterKeyID: keyArn(),
      });
      expect(bucket().DeletionPolicy).toBe('Retain');
    });

    it('has object lock with a governance default retention of a year', () => {
      const props = bucket().Properties;
      expect(props.ObjectLockEnabled).toBe(true);
      expect(props.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      });
    });

    it('takes compliance mode and the retention period from its props', () => {
      const stack = new StatefulStack(new App(), 'Compliance', {
        env: ENV,
        auditRetention: Duration.days(2555),
        auditRetentionMode: 'compliance',
        bundleDir: synth.bundleDir,
      });
      const [lockedBucket, ...others] = Object.values(Template.fromStack(stack).findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: true } }));
      expect(others).toEqual([]);
      expect(lockedBucket!.Properties.ObjectLockConfiguration).toEqual({
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } },
      });
      expect(lockedBucket!.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    });

    it('pages the alarm topic to e-mail and a Slack channel when given them, and refuses ids that are not ones', () => {
      const subscribed = (alarmSubscribers: AlarmSubscribers) => {
        const stack = new StatefulStack(new App(), 'Paged', { env: ENV, bundleDir: synth.bundleDir, alarmSubscribers });
        return { stack, template: Template.fromStack(stack) };
      };
      const { stack, template } = subscribed({ emails: ['oncall@example.org'], slack: { workspaceId: 'T0123ABCD', channelId: 'C0456EFGH' } });
      const topic = { Ref: logicalId(stack, stack.alarmTopic) };
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.org', TopicArn: topic });
      template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
        SlackWorkspaceId: 'T0123ABCD',
        SlackChannelId: 'C0456EFGH',
        SnsTopicArns: [topic],
      });
      // cdk-nag's AwsSolutions pack finds nothing in what the subscribers add.
      const findings = new AwsSolutionsChecks()
        .validateScope(stack)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}`));
      expect(findings.filter((finding) => /AlarmSlackChannel|AlarmTopic/.test(finding))).toEqual([]);
      // The default stack pages nobody on its own.
      expect(Object.keys(stateful.findResources('AWS::SNS::Subscription'))).toEqual([]);
      expect(() => subscribed({ emails: ['oncall'] })).toThrow('is not an e-mail address');
      expect(() => subscribed({ slack: { workspaceId: 'acme', channelId: 'C0456EFGH' } })).toThrow('Slack workspace id');
      // From `cdk deploy -c scaivault:...`: addresses split on commas, and the Slack ids only as a pair.
      const context = (values: Record<string, string>) => (key: string) => values[key];
      expect(alarmSubscribersFromContext(context({ alarmEmails: 'a@example.org, b@example.org' }))).toEqual({ emails: ['a@example.org', 'b@example.org'] });
      expect(() => alarmSubscribersFromContext(context({ alarmSlackWorkspace: 'T0123ABCD' }))).toThrow('go together');
      expect(() => alarmSubscribersFromContext(context({ alarmSlackWorkspace: ' ', alarmSlackChannel: 'C0456EFGH' }))).toThrow('go together');
      // cdk.json may hold a list.
      expect(alarmSubscribersFromContext((key) => (key === 'alarmEmails' ? ['a@example.org'] : undefined))).toEqual({ emails: ['a@example.org'] });
    });

    it('keeps the logical id it had before the audit table took the same definition id', () => {
      expect(bucketId()).toMatch(/^scaivaultaudit[0-9A-F]{8}$/);
      expect(logicalId(statefulStack, statefulStack.auditTable)).not.toBe(bucketId());
    });

    it('denies requests without TLS', () => {
      const policy = Object.values(stateful.findResources('AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === bucketId());
      const deny = asArray(policy?.Properties.PolicyDocument.Statement).find(
        (s: Json) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
      );
      expect(deny).toMatchObject({ Action: 's3:*', Principal: { AWS: '*' } });
      expect(deny.Resource).toEqual([arnOf(bucketId()), { 'Fn::Join': ['', [arnOf(bucketId()), '/*']] }]);
    });

    it('writes server access logs to a bucket of their own: private, TLS-only, encrypted, retained as long as the audit objects', () => {
      const logBucketId = logicalId(statefulStack, statefulStack.accessLogBucket);
      expect(bucket().Properties.LoggingConfiguration).toEqual({ DestinationBucketName: refOf(logBucketId), LogFilePrefix: 'scaivault-audit/' });
      const logBucket = statefulJson.Resources[logBucketId];
      expect(logBucket.Properties.PublicAccessBlockConfiguration).toEqual(bucket().Properties.PublicAccessBlockConfiguration);
      // S3 delivers access logs only to a bucket with S3-managed encryption.
      expect(logBucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
      expect(logBucket.Properties.LifecycleConfiguration.Rules).toContainEqual(expect.objectContaining({ ExpirationInDays: 365, Status: 'Enabled' }));
      expect(logBucket.DeletionPolicy).toBe('Retain');
      const statements = Object.values(stateful.findResources('AWS::S3::BucketPolicy'))
        .filter((p) => p.Properties.Bucket.Ref === logBucketId)
        .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement));
      expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
      // Only the S3 logging service writes there, and only logs of the audit bucket (and the backup export bucket) in this account.
      const delivery = statements.filter((s: Json) => s.Effect === 'Allow');
      const exportBucketId = logicalId(statefulStack, statefulStack.backups.exportBucket);
      expect(delivery.map((s: Json) => s.Condition.ArnLike['aws:SourceArn'])).toEqual([arnOf(bucketId()), arnOf(exportBucketId)]);
      for (const statement of delivery) {
        expect(statement).toMatchObject({
          Action: 's3:PutObject',
          Principal: { Service: 'logging.s3.amazonaws.com' },
          Condition: { StringEquals: { 'aws:SourceAccount': ENV.account } },
        });
      }
    });

    it('refuses any anchor write without If-None-Match, so an anchor is written once', () => {
      const policy = Object.values(stateful.findResources('AWS::S3::BucketPolicy')).find((p) => p.Properties.Bucket.Ref === bucketId());
      const deny = asArray(policy?.Properties.PolicyDocument.Statement).find((s: Json) => s.Sid === 'AuditAnchorsWriteOnce');
      expect(deny).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject', Principal: { AWS: '*' }, Condition: { Null: { 's3:if-none-match': 'true' } } });
      expect(deny.Resource).toEqual({ 'Fn::Join': ['', [arnOf(bucketId()), '/audit/blocks/*']] });
    });
  });

  it.each([
    ['root token', 43, () => statefulStack.rootTokenSecret],
    ['metrics token', 48, () => statefulStack.metricsTokenSecret],
  ] as const)('generates the %s secret (%i alphanumerics) encrypted with the key', (_name, length, secretOf) => {
    const secret = statefulJson.Resources[logicalId(statefulStack, secretOf())];
    expect(secret.Type).toBe('AWS::SecretsManager::Secret');
    expect(secret.Properties.KmsKeyId).toEqual(keyArn());
    expect(secret.Properties.GenerateSecretString).toEqual({
      PasswordLength: length,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
  });
});

describe('stateless stack', () => {
  const statefulIds = () => ({
    key: logicalId(statefulStack, statefulStack.key),
    table: logicalId(statefulStack, statefulStack.stateTable),
    metrics: logicalId(statefulStack, statefulStack.metricsTable),
    audit: logicalId(statefulStack, statefulStack.auditTable),
    rotation: logicalId(statefulStack, statefulStack.rotationQueue),
    webhook: logicalId(statefulStack, statefulStack.webhookQueue),
    auditExport: logicalId(statefulStack, statefulStack.auditExportQueue),
    bucket: logicalId(statefulStack, statefulStack.auditBucket),
    secret: logicalId(statefulStack, statefulStack.rootTokenSecret),
    metricsSecret: logicalId(statefulStack, statefulStack.metricsTokenSecret),
  });

  it('runs the api on nodejs24.x, arm64, with active tracing and its own log group', () => {
    const props = apiFunction().Properties;
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.Handler).toBe('index.handler');
    const logGroupId = logicalId(statelessStack, statelessStack.api.logGroup);
    expect(props.LoggingConfig.LogGroup).toEqual(refOf(logGroupId));
    expect(statelessJson.Resources[logGroupId].Properties.RetentionInDays).toBe(30);
  });

  it('lets every function write logs to its own log group only, with no managed policy', () => {
    const functions = [statelessStack.api, statelessStack.rotationWorker, statelessStack.webhookWorker, statelessStack.scheduler, statelessStack.auditExport];
    for (const fn of functions) {
      const role = statelessJson.Resources[logicalId(statelessStack, fn.function.role!)];
      expect(role.Properties.ManagedPolicyArns, fn.name).toBeUndefined();
      const logs = forService(roleStatements(synth, fn), 'logs');
      expect(actionsByResource(logs), fn.name).toEqual(
        new Map([[JSON.stringify(arnOf(logicalId(statelessStack, fn.logGroup))), ['logs:CreateLogStream', 'logs:PutLogEvents']]]),
      );
    }
  });

  it('points every env var the api reads at the stateful resource it was granted', () => {
    const vars = resolveImports(apiFunction().Properties.Environment.Variables);
    const ids = statefulIds();
    expect(vars).toMatchObject({
      [STATE_TABLE.envVar]: refOf(ids.table),
      [METRICS_TABLE.envVar]: refOf(ids.metrics),
      // Scrapes serve the scheduler's fleet view while it is under two ticks old.
      SCAIVAULT_METRICS_VIEW_MAX_AGE_SECONDS: '120',
      SCAIVAULT_KEY_PROVIDER: 'aws-kms',
      SCAIVAULT_KMS_KEY_ID: arnOf(ids.key),
      [AUDIT_TABLE.envVar]: refOf(ids.audit),
      [ROTATION_QUEUE.envVar]: refOf(ids.rotation),
      [WEBHOOK_QUEUE.envVar]: refOf(ids.webhook),
      [AUDIT_EXPORT_QUEUE.envVar]: refOf(ids.auditExport),
      [AUDIT_BUCKET.envVar]: refOf(ids.bucket),
      SCAIVAULT_ROOT_TOKEN_SECRET_ARN: refOf(ids.secret),
      SCAIVAULT_METRICS_TOKEN_SECRET_ARN: refOf(ids.metricsSecret),
      LOG_FORMAT: 'json',
    });
  });

  describe('api IAM policy', () => {
    it('has no wildcard actions and no Resource "*" for data services', () => {
      const statements = apiStatements();
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.effect).toBe('Allow');
        // No partial wildcard either, but the table key's data-key action through DynamoDB.
        const viaDynamoDb = s.condition?.StringEquals?.['kms:ViaService']?.startsWith('dynamodb.');
        for (const action of s.actions) if (!(viaDynamoDb && action === 'kms:GenerateDataKey*')) expect(action).not.toContain('*');
      }
      for (const service of ['dynamodb', 'kms', 's3', 'sqs', 'secretsmanager']) {
        for (const s of forService(statements, service)) expect(s.resources).not.toContain('*');
      }
    });

    it('grants exactly the item-level DynamoDB actions on the state and metrics tables, only puts and reads on the audit table, and queries of their named indexes', () => {
      const byResource = actionsByResource(forService(apiStatements(), 'dynamodb'));
      const ids = statefulIds();
      const grants: [string, string[], TableDefinition][] = [
        [ids.table, API_DYNAMODB_ACTIONS, STATE_TABLE],
        [ids.metrics, API_DYNAMODB_ACTIONS, METRICS_TABLE],
        [ids.audit, AUDIT_DYNAMODB_ACTIONS, AUDIT_TABLE],
      ];
      const expected = new Map<string, string[]>(
        grants.flatMap(([id, actions, definition]): [string, string[]][] => [
          [JSON.stringify(arnOf(id)), actions],
          ...indexArns(id, definition).map((arn): [string, string[]] => [JSON.stringify(arn), ['dynamodb:Query']]),
        ]),
      );
      expect(byResource).toEqual(expected);
    });

    it('limits KMS to the key ARN: envelope actions directly, the audit HMAC key by its context, anything else only via a named service', () => {
      const statements = forService(apiStatements(), 'kms');
      const keyArn = arnOf(statefulIds().key);
      for (const s of statements) expect(s.resources).toEqual([keyArn]);
      const direct = statements.filter((s) => !s.condition);
      expect([...new Set(direct.flatMap((s) => s.actions))].sort()).toEqual(ENVELOPE_KMS_ACTIONS);
      const hmac = statements.filter((s) => s.condition?.StringEquals?.['kms:EncryptionContext:purpose']);
      expect(hmac.map((s) => [s.condition, [...s.actions].sort()])).toEqual([
        [{ StringEquals: { 'kms:EncryptionContext:purpose': 'audit-hmac' } }, ['kms:Decrypt', 'kms:GenerateDataKey']],
      ]);
      for (const s of statements.filter((s) => s.condition && !hmac.includes(s))) {
        expect(Object.keys(s.condition)).toEqual(['StringEquals']);
        expect(s.condition.StringEquals['kms:ViaService']).toMatch(/^(dynamodb|secretsmanager|sqs|s3)\.eu-west-1\.amazonaws\.com$/);
      }
      // Reading anchors and manifests needs Decrypt through S3; the api writes no object.
      const viaS3 = statements.filter((s) => s.condition?.StringEquals?.['kms:ViaService']?.startsWith('s3.'));
      expect(viaS3.flatMap((s) => s.actions)).toEqual(['kms:Decrypt']);
    });

    it('sends jobs to every job queue (never consumes them), reads anchors and export manifests and the root and metrics token secrets', () => {
      const statements = apiStatements();
      const ids = statefulIds();
      const sqs = forService(statements, 'sqs');
      // The api submits rotation jobs, webhook deliveries and audit exports through the outbox, and probes each queue.
      expect([...new Set(sqs.flatMap((s) => s.actions))].sort()).toEqual(['sqs:GetQueueAttributes', 'sqs:SendMessage']);
      expect(sqs.flatMap((s) => s.resources)).toEqual(expect.arrayContaining([arnOf(ids.rotation), arnOf(ids.webhook), arnOf(ids.auditExport)]));
      expect(sqs.flatMap((s) => s.resources)).toHaveLength(3);
      // HeadBucket (readiness) is ListBucket; verification reads anchors, export status reads manifests; it writes nothing.
      expect(actionsByResource(forService(statements, 's3'))).toEqual(
        new Map([
          [JSON.stringify(arnOf(ids.bucket)), ['s3:ListBucket']],
          [JSON.stringify(objectArn(ids.bucket, 'audit/blocks/*')), ['s3:GetObject']],
          [JSON.stringify(objectArn(ids.bucket, 'audit/exports/*')), ['s3:GetObject']],
        ]),
      );
      const secrets = forService(statements, 'secretsmanager');
      expect([...new Set(secrets.flatMap((s) => s.actions))]).toEqual(['secretsmanager:GetSecretValue']);
      expect(secrets.flatMap((s) => s.resources)).toEqual(expect.arrayContaining([refOf(ids.secret), refOf(ids.metricsSecret)]));
      expect(secrets.flatMap((s) => s.resources)).toHaveLength(2);
    });

    it('publishes CRLs under pki/ and creates and uses only KMS keys tagged as ScaiVault CA keys (api and scheduler)', () => {
      for (const fn of [statelessStack.api, statelessStack.scheduler]) {
        const bySid = new Map(pkiStatements(fn).map((s) => [s.sid, s]));
        expect(bySid.get('PkiCrls')?.actions).toEqual(['s3:PutObject']);
        expect(bySid.get('PkiCrls')?.resources).toEqual([objectArn(statefulIds().bucket, 'pki/*')]);
        const create = bySid.get('PkiCaKeyCreate');
        expect([...(create?.actions ?? [])].sort()).toEqual(['kms:CreateKey', 'kms:TagResource']);
        // CreateKey has no resource to name: the request must carry the CA tag.
        expect(create?.condition).toEqual({ StringEquals: { 'aws:RequestTag/scaivault:purpose': 'pki-ca' } });
        const use = bySid.get('PkiCaKeyUse');
        expect([...(use?.actions ?? [])].sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
        expect(use?.condition).toEqual({ StringEquals: { 'aws:ResourceTag/scaivault:purpose': 'pki-ca' } });
      }
    });
  });

  describe('HTTP API', () => {
    it('routes ANY / and ANY /{proxy+} to the api function with payload format 2.0', () => {
      const integrations = stateless.findResources('AWS::ApiGatewayV2::Integration');
      const [integrationId, integration] = Object.entries(integrations)[0]!;
      expect(Object.keys(integrations)).toHaveLength(1);
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        IntegrationUri: arnOf(apiFunctionId()),
        PayloadFormatVersion: '2.0',
      });
      const routes = Object.values(stateless.findResources('AWS::ApiGatewayV2::Route'));
      expect(routes.map((r) => r.Properties.RouteKey).sort()).toEqual(['ANY /', 'ANY /{proxy+}']);
      for (const route of routes) {
        expect(route.Properties.Target).toEqual({ 'Fn::Join': ['', ['integrations/', refOf(integrationId)]] });
      }
      stateless.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(apiFunctionId()),
        Principal: 'apigateway.amazonaws.com',
      });
    });

    it('has a throttled default stage that writes JSON access logs to a log group', () => {
      const stages = Object.values(stateless.findResources('AWS::ApiGatewayV2::Stage'));
      expect(stages).toHaveLength(1);
      const props = stages[0]!.Properties;
      expect(props.StageName).toBe('$default');
      expect(props.AutoDeploy).toBe(true);
      expect(props.DefaultRouteSettings.ThrottlingRateLimit).toBeGreaterThan(0);
      expect(props.DefaultRouteSettings.ThrottlingBurstLimit).toBeGreaterThan(0);
      expect(props.AccessLogSettings.DestinationArn).toEqual(arnOf(logicalId(statelessStack, statelessStack.accessLogGroup)));
      const format = JSON.parse(props.AccessLogSettings.Format);
      expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', routeKey: '$context.routeKey' });
    });
  });

  describe('audit table', () => {
    const auditTableArn = () => JSON.stringify(arnOf(statefulIds().audit));
    const auditIndexArns = () => indexArns(statefulIds().audit, AUDIT_TABLE).map((arn) => JSON.stringify(arn));
    /** Could this resource pattern name the audit table or one of its indexes? */
    const coversAudit = (resource: Json) =>
      JSON.stringify(resource) === auditTableArn() ||
      JSON.stringify(resource?.['Fn::Join']?.[1]?.[0]) === auditTableArn() ||
      (typeof resource === 'string' && /^\*$|^arn:[^:]*:dynamodb:[^:]*:[^:]*:(\*|table\/\*)/.test(resource));
    const auditStatements = () =>
      [...allPolicyStatements(synth, statelessJson), ...allPolicyStatements(synth, statefulJson)].filter(
        (s) => s.effect === 'Allow' && s.resources.some(coversAudit),
      );

    it('is written by every function, and stays append-only: no role may update or delete its items', () => {
      const functions = [statelessStack.api, statelessStack.rotationWorker, statelessStack.webhookWorker, statelessStack.scheduler, statelessStack.auditExport];
      for (const fn of functions) {
        // The scheduler's point-in-time export of the table reads it whole, and changes no item (backups.test.ts).
        const own = roleStatements(synth, fn).filter((s) => !s.sid?.startsWith('BackupExport'));
        const granted = actionsByResource(forService(own, 'dynamodb'));
        expect(granted.get(auditTableArn()), fn.name).toEqual(AUDIT_DYNAMODB_ACTIONS);
        for (const index of auditIndexArns()) expect(granted.get(index), fn.name).toEqual(['dynamodb:Query']);
      }
      expect(auditStatements().length).toBeGreaterThanOrEqual(functions.length);
      for (const s of auditStatements()) {
        for (const forbidden of [
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:DeleteTable',
          'dynamodb:UpdateTable',
          'dynamodb:PartiQLUpdate',
          'dynamodb:PartiQLDelete',
        ]) {
          expect(
            s.actions.filter((a) => allowsAction(a, forbidden)),
            `${s.sid ?? 'statement'} allows ${forbidden}`,
          ).toEqual([]);
        }
      }
    });
  });

  it('outputs the API URL and the root token secret ARN with how to read it', () => {
    const outputs = statelessJson.Outputs;
    expect(outputs.HttpApiUrl.Value['Fn::Join'][1]).toContainEqual(refOf(logicalId(statelessStack, statelessStack.httpApi)));
    expect(resolveImports(outputs.RootTokenSecretArn.Value)).toEqual(refOf(statefulIds().secret));
    expect(outputs.RootTokenSecretArn.Description).toContain('aws secretsmanager get-secret-value');
  });
});

import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AUDIT_BUCKET,
  AUDIT_EXPORT_QUEUE,
  AUDIT_TABLE,
  METRICS_TABLE,
  QUEUES,
  ROTATION_QUEUE,
  STATE_TABLE,
  WEBHOOK_QUEUE,
  type TableDefinition,
} from '../../functions/runtime/definitions.js';
import type { StatelessStack } from '../../lib/stateless-stack.js';
import { VaultFunction } from '../../lib/vault-function.js';
import {
  ENV,
  actionsByResource,
  arnOf,
  asArray,
  dashboardBody,
  forService,
  handlerBundleDir,
  logicalId,
  objectArn,
  refOf,
  resolveImports as resolveWith,
  roleStatements,
  withoutPki,
  rowsFor,
  synthesize,
  indexArns,
  type Json,
  type Statement,
  type Synthesized,
} from './support/synth.js';

// Written out here, not imported from lib/: widening a grant must fail this test.
const ITEM_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
// Append-only: never UpdateItem or DeleteItem.
const AUDIT_ITEM_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'];
const JOB_RECORD_ACTIONS = ['dynamodb:GetItem', 'dynamodb:UpdateItem'];
const AUDIT_HMAC_ACTIONS = ['kms:Decrypt', 'kms:GenerateDataKey'];
const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'];
const SEND = ['sqs:GetQueueAttributes', 'sqs:SendMessage'];
const DATA_SERVICES = ['dynamodb', 'kms', 's3', 'sqs', 'secretsmanager'];
const QUEUE_AGE_ALARM_SECONDS = 900;
const AUDIT_EXPORT_AGE_ALARM_SECONDS = 3600;

type WorkerName = 'rotation-worker' | 'webhook-worker' | 'scheduler' | 'audit-export';
type QueueName = 'rotation' | 'webhook' | 'auditExport';
type TableName = 'state' | 'metrics' | 'audit';

interface WorkerExpectation {
  readonly name: WorkerName;
  readonly of: (stack: StatelessStack) => VaultFunction;
  /** Seconds. */
  readonly minTimeout: number;
  /** MB. */
  readonly minMemory: number;
  /** The queue it is invoked from, if any, and the batch sizes that suit its jobs. */
  readonly source?: { readonly queue: QueueName; readonly batchSize: readonly [min: number, max: number] };
  /** DynamoDB actions by table: exactly these, nothing on any other table. */
  readonly dynamodb: Record<TableName, string[]>;
  /** SQS actions by queue: exactly these, nothing on any other queue. */
  readonly sqs: Partial<Record<QueueName, string[]>>;
  /** KMS actions on the envelope key without any condition. */
  readonly directKms: string[];
  /** S3 actions by object ARN pattern of the audit bucket (`` for the bucket itself); none: no bucket at all. */
  readonly s3?: Readonly<Record<string, string[]>>;
}

// What each handler's composition root calls (functions/workers/compose-*.ts):
// only tenant creation (the api) generates data keys; rotation seals under the secret's existing key.
// Every function writes audit events; only the scheduler (anchors) and audit-export (exports) touch the bucket.
const WORKERS: readonly WorkerExpectation[] = [
  {
    name: 'rotation-worker',
    of: (stack) => stack.rotationWorker,
    minTimeout: 60,
    minMemory: 512,
    source: { queue: 'rotation', batchSize: [5, 10] },
    dynamodb: { state: ITEM_ACTIONS, metrics: ITEM_ACTIONS, audit: AUDIT_ITEM_ACTIONS },
    sqs: { rotation: CONSUME, webhook: SEND },
    directKms: ['kms:Decrypt'],
  },
  {
    name: 'webhook-worker',
    of: (stack) => stack.webhookWorker,
    minTimeout: 30,
    minMemory: 512,
    source: { queue: 'webhook', batchSize: [5, 10] },
    dynamodb: { state: ITEM_ACTIONS, metrics: ITEM_ACTIONS, audit: AUDIT_ITEM_ACTIONS },
    sqs: { webhook: CONSUME },
    directKms: ['kms:Decrypt'],
  },
  {
    name: 'scheduler',
    of: (stack) => stack.scheduler,
    minTimeout: 60,
    minMemory: 512,
    // Detection state (AUDITREAD#, AUDITREADER#) lives in the state table.
    dynamodb: { state: ITEM_ACTIONS, metrics: ITEM_ACTIONS, audit: AUDIT_ITEM_ACTIONS },
    // The outbox re-sends pending jobs of every queue.
    sqs: { rotation: SEND, webhook: SEND, auditExport: SEND },
    // Readiness reads the key's state; data-key rotation makes keys on schedule and re-seals under them; ACME seals certificate keys.
    directKms: ['kms:Decrypt', 'kms:DescribeKey', 'kms:GenerateDataKey'],
    s3: { '': ['s3:ListBucket'], 'audit/blocks/*': ['s3:GetObject', 's3:PutObject'] },
  },
  {
    name: 'audit-export',
    of: (stack) => stack.auditExport,
    minTimeout: 300,
    minMemory: 1024,
    // One export per invocation: a job may take minutes.
    source: { queue: 'auditExport', batchSize: [1, 1] },
    dynamodb: { state: JOB_RECORD_ACTIONS, metrics: ITEM_ACTIONS, audit: AUDIT_ITEM_ACTIONS },
    sqs: { auditExport: CONSUME },
    directKms: [],
    s3: { '': ['s3:ListBucket'], 'audit/exports/*': ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'] },
  },
];

let synth: Synthesized;
let statefulJson: Json;
let statelessJson: Json;

const resolveImports = (value: Json): Json => resolveWith(statefulJson, value);
const statefulId = (construct: Parameters<typeof logicalId>[1]) => logicalId(synth.statefulStack, construct);
const statelessId = (construct: Parameters<typeof logicalId>[1]) => logicalId(synth.statelessStack, construct);
const functionOf = (worker: WorkerExpectation) => worker.of(synth.statelessStack);
const functionId = (worker: WorkerExpectation) => statelessId(functionOf(worker).function);
const functionResource = (worker: WorkerExpectation) => statelessJson.Resources[functionId(worker)];
/** The worker's own statements; the scheduler's backup exports (VaultBackups.exportStatements) are asserted in backups.test.ts. */
const statementsOf = (worker: WorkerExpectation): Statement[] =>
  withoutPki(roleStatements(synth, functionOf(worker))).filter((s) => !s.sid?.startsWith('BackupExport'));
const alarms = (): Json[] => Object.values(synth.stateless.findResources('AWS::CloudWatch::Alarm'));

const queueIds = (): Record<QueueName, string> => ({
  rotation: statefulId(synth.statefulStack.rotationQueue),
  webhook: statefulId(synth.statefulStack.webhookQueue),
  auditExport: statefulId(synth.statefulStack.auditExportQueue),
});
const tableIds = (): Record<TableName, string> => ({
  state: statefulId(synth.statefulStack.stateTable),
  metrics: statefulId(synth.statefulStack.metricsTable),
  audit: statefulId(synth.statefulStack.auditTable),
});
const bucketId = () => statefulId(synth.statefulStack.auditBucket);
const dlqIds = () => QUEUES.map((q) => statefulId(synth.statefulStack.queueFor(q).deadLetterQueue));
const keyArn = () => arnOf(statefulId(synth.statefulStack.key));

const TABLE_DEFINITIONS: Record<TableName, TableDefinition> = { state: STATE_TABLE, metrics: METRICS_TABLE, audit: AUDIT_TABLE };

/** DynamoDB actions the worker may take, by table; a grant on anything but a table or its named indexes fails. */
const dynamodbGrants = (worker: WorkerExpectation): Partial<Record<TableName, string[]>> => {
  const byResource = actionsByResource(forService(statementsOf(worker), 'dynamodb'));
  const grants: Partial<Record<TableName, string[]>> = {};
  for (const [table, id] of Object.entries(tableIds()) as [TableName, string][]) {
    const tableArn = JSON.stringify(arnOf(id));
    const onTable = byResource.get(tableArn);
    if (!onTable) continue;
    // Each index the table's definition names may be queried by whoever may query the table; nothing else applies to an index.
    for (const indexArn of indexArns(id, TABLE_DEFINITIONS[table]).map((arn) => JSON.stringify(arn))) {
      expect(byResource.get(indexArn), `${worker.name} ${table} index ${indexArn}`).toEqual(
        onTable.includes('dynamodb:Query') ? ['dynamodb:Query'] : undefined,
      );
      byResource.delete(indexArn);
    }
    byResource.delete(tableArn);
    grants[table] = onTable;
  }
  expect([...byResource.keys()], `${worker.name} DynamoDB access to something else`).toEqual([]);
  return grants;
};

/** S3 actions the worker may take, by object pattern of the audit bucket ('' for the bucket). */
const s3Grants = (worker: WorkerExpectation): Record<string, string[]> => {
  const byResource = actionsByResource(forService(statementsOf(worker), 's3'));
  const patterns = [...byResource.keys()].map((resource): [string, string[]] => {
    const parsed = JSON.parse(resource) as Json;
    if (JSON.stringify(parsed) === JSON.stringify(arnOf(bucketId()))) return ['', byResource.get(resource)!];
    const pattern = parsed['Fn::Join']?.[1]?.[1];
    expect(parsed, `${worker.name} S3 access outside the audit bucket`).toEqual(objectArn(bucketId(), String(pattern).slice(1)));
    return [String(pattern).slice(1), byResource.get(resource)!];
  });
  return Object.fromEntries(patterns);
};

/** SQS actions the worker may take, by the queue they apply to; a grant on any other resource fails. */
const sqsGrants = (worker: WorkerExpectation): Partial<Record<QueueName, string[]>> => {
  const byArn = new Map(Object.entries(queueIds()).map(([name, id]) => [JSON.stringify(arnOf(id)), name as QueueName]));
  const grants: Partial<Record<QueueName, Set<string>>> = {};
  for (const s of forService(statementsOf(worker), 'sqs')) {
    for (const resource of s.resources) {
      const queue = byArn.get(JSON.stringify(resource));
      if (!queue) throw new Error(`${worker.name} has SQS access to ${JSON.stringify(resource)}, which is no job queue`);
      for (const action of s.actions) (grants[queue] ??= new Set()).add(action);
    }
  }
  return Object.fromEntries(Object.entries(grants).map(([queue, actions]) => [queue, [...actions].sort()]));
};

const eventSourceMappings = (): Json[] => Object.values(synth.stateless.findResources('AWS::Lambda::EventSourceMapping'));

beforeAll(async () => {
  synth = await synthesize();
  ({ statefulJson, statelessJson } = synth);
});

afterAll(async () => {
  await synth?.dispose();
});

describe.each(WORKERS.map((w) => [w.name, w] as const))('%s function', (name, worker) => {
  it('runs the bundle of its handler on nodejs24.x, arm64, with active tracing and its own log group', () => {
    const props = functionResource(worker).Properties;
    expect(functionOf(worker).name).toBe(name);
    expect(props.Runtime).toBe('nodejs24.x');
    expect(props.Architectures).toEqual(['arm64']);
    expect(props.TracingConfig).toEqual({ Mode: 'Active' });
    expect(props.Handler).toBe('index.handler');
    const logGroupId = statelessId(functionOf(worker).logGroup);
    expect(props.LoggingConfig.LogGroup).toEqual(refOf(logGroupId));
    expect(statelessJson.Resources[logGroupId].Properties.RetentionInDays).toBe(30);
    // Each function its own group: no two share one.
    const groups = Object.values(synth.stateless.findResources('AWS::Lambda::Function')).map((f) => JSON.stringify(f.Properties.LoggingConfig?.LogGroup));
    expect(groups.filter((g) => g === JSON.stringify(refOf(logGroupId)))).toHaveLength(1);
  });

  it('has time and memory for its work, and finishes inside its queue visibility timeout', () => {
    const { Timeout: timeout, MemorySize: memory } = functionResource(worker).Properties as { Timeout: number; MemorySize: number };
    expect(timeout).toBeGreaterThanOrEqual(worker.minTimeout);
    expect(memory).toBeGreaterThanOrEqual(worker.minMemory);
    if (worker.source) {
      const visibility: number = statefulJson.Resources[queueIds()[worker.source.queue]].Properties.VisibilityTimeout;
      expect(timeout).toBeLessThan(visibility);
    }
  });

  it('is configured with every resource its code reads, and nothing it does not use', () => {
    const vars = resolveImports(functionResource(worker).Properties.Environment.Variables);
    const ids = queueIds();
    expect(vars).toMatchObject({
      [STATE_TABLE.envVar]: refOf(statefulId(synth.statefulStack.stateTable)),
      [METRICS_TABLE.envVar]: refOf(statefulId(synth.statefulStack.metricsTable)),
      [AUDIT_TABLE.envVar]: refOf(tableIds().audit),
      SCAIVAULT_KEY_PROVIDER: 'aws-kms',
      SCAIVAULT_KMS_KEY_ID: keyArn(),
      OTEL_SERVICE_NAME: `scaivault-${name}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault',
      LOG_FORMAT: 'json',
    });
    const queueVars = { rotation: ROTATION_QUEUE.envVar, webhook: WEBHOOK_QUEUE.envVar, auditExport: AUDIT_EXPORT_QUEUE.envVar } as const;
    for (const queue of Object.keys(queueVars) as QueueName[]) {
      if (worker.sqs[queue]) expect(vars[queueVars[queue]], queue).toEqual(refOf(ids[queue]));
      else expect(vars, queue).not.toHaveProperty(queueVars[queue]);
    }
    if (worker.s3) expect(vars[AUDIT_BUCKET.envVar]).toEqual(refOf(bucketId()));
    else expect(vars).not.toHaveProperty(AUDIT_BUCKET.envVar);
    for (const absent of ['SCAIVAULT_ROOT_TOKEN_SECRET_ARN', 'SCAIVAULT_METRICS_TOKEN_SECRET_ARN', 'SCAIVAULT_SYSLOG_URL']) {
      expect(vars, absent).not.toHaveProperty(absent);
    }
  });

  describe('IAM policy', () => {
    it('has no wildcard actions and no Resource "*" for data services', () => {
      const statements = statementsOf(worker);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.effect).toBe('Allow');
        // No partial wildcard either, but the table key's data-key action through DynamoDB.
        const viaDynamoDb = s.condition?.StringEquals?.['kms:ViaService']?.startsWith('dynamodb.');
        for (const action of s.actions) if (!(viaDynamoDb && action === 'kms:GenerateDataKey*')) expect(action).not.toContain('*');
      }
      for (const service of DATA_SERVICES) {
        for (const s of forService(statements, service)) expect(s.resources, service).not.toContain('*');
      }
    });

    it('has exactly the item-level DynamoDB actions its code needs, on each table and its indexes', () => {
      expect(dynamodbGrants(worker)).toEqual(worker.dynamodb);
    });

    it('has exactly the SQS actions its code and event source need, on those queues only', () => {
      expect(sqsGrants(worker)).toEqual(worker.sqs);
    });

    it('never generates tenant data keys: direct key use is at most Decrypt, the rest through a service or for the audit HMAC key', () => {
      const statements = forService(statementsOf(worker), 'kms');
      for (const s of statements) expect(s.resources).toEqual([keyArn()]);
      const direct = statements.filter((s) => !s.condition);
      expect([...new Set(direct.flatMap((s) => s.actions))].sort()).toEqual(worker.directKms);
      const hmac = statements.filter((s) => s.condition?.StringEquals?.['kms:EncryptionContext:purpose'] !== undefined);
      expect(hmac, 'audit HMAC key statement').toHaveLength(1);
      expect(hmac[0]!.condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': 'audit-hmac' } });
      expect([...hmac[0]!.actions].sort()).toEqual(AUDIT_HMAC_ACTIONS);
      const services = worker.s3 ? /^(dynamodb|sqs|s3)\.eu-west-1\.amazonaws\.com$/ : /^(dynamodb|sqs)\.eu-west-1\.amazonaws\.com$/;
      for (const s of statements.filter((s) => s.condition && !hmac.includes(s))) {
        expect(Object.keys(s.condition)).toEqual(['StringEquals']);
        expect(Object.keys(s.condition.StringEquals)).toEqual(['kms:ViaService']);
        expect(s.condition.StringEquals['kms:ViaService']).toMatch(services);
      }
      // SQS encrypts what is sent with the key: only a sender may have SQS generate data keys.
      const viaSqs = statements.filter((s) => s.condition?.StringEquals?.['kms:ViaService']?.startsWith('sqs.'));
      const sends = Object.values(worker.sqs).some((actions) => actions.includes('sqs:SendMessage'));
      expect(viaSqs.some((s) => s.actions.some((a) => a.startsWith('kms:GenerateDataKey')))).toBe(sends);
    });

    it('has exactly its S3 access to the audit bucket, by prefix', () => {
      expect(s3Grants(worker)).toEqual(worker.s3 ?? {});
    });

    it('has no Secrets Manager access and remote-writes only to the Prometheus workspace', () => {
      const statements = statementsOf(worker);
      expect(forService(statements, 'secretsmanager')).toEqual([]);
      const aps = forService(statements, 'aps');
      expect(aps.flatMap((s) => s.actions)).toEqual(['aps:RemoteWrite']);
      expect(aps.flatMap((s) => s.resources)).toEqual([arnOf(statefulId(synth.statefulStack.prometheus.workspace))]);
    });
  });
});

describe('least privilege across the workers', () => {
  const worker = (name: WorkerName) => WORKERS.find((w) => w.name === name)!;
  const queuesWith = (name: WorkerName, action: string) =>
    Object.entries(sqsGrants(worker(name)))
      .filter(([, actions]) => actions!.includes(action))
      .map(([queue]) => queue)
      .sort();

  it('lets the webhook worker change message visibility on the webhook queue only', () => {
    expect(queuesWith('webhook-worker', 'sqs:ChangeMessageVisibility')).toEqual(['webhook']);
  });

  it('lets the scheduler send to every job queue, but never receive or delete', () => {
    expect(queuesWith('scheduler', 'sqs:SendMessage')).toEqual(['auditExport', 'rotation', 'webhook']);
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
      expect(queuesWith('scheduler', action), action).toEqual([]);
    }
  });

  it('lets the rotation worker send webhook jobs, but not put rotation jobs back on its own queue', () => {
    expect(queuesWith('rotation-worker', 'sqs:SendMessage')).toEqual(['webhook']);
  });

  it('gives no worker kms:GenerateDataKey on its own account (the api creates tenants; the scheduler, rotated data keys)', () => {
    for (const w of WORKERS.filter((worker) => worker.name !== 'scheduler')) {
      const direct = forService(statementsOf(w), 'kms').filter((s) => !s.condition);
      expect(
        direct.flatMap((s) => s.actions).filter((a) => a.startsWith('kms:GenerateDataKey')),
        w.name,
      ).toEqual([]);
    }
  });

  it('lets only the scheduler write anchors and only audit-export write exports', () => {
    const writers = (pattern: string) =>
      WORKERS.filter((w) => s3Grants(w)[pattern]?.includes('s3:PutObject'))
        .map((w) => w.name)
        .sort();
    expect(writers('audit/blocks/*')).toEqual(['scheduler']);
    expect(writers('audit/exports/*')).toEqual(['audit-export']);
  });
});

describe('event source mappings', () => {
  const mappingFor = (worker: WorkerExpectation): Json => {
    const matching = eventSourceMappings().filter((m) => JSON.stringify(m.Properties.FunctionName) === JSON.stringify(refOf(functionId(worker))));
    expect(matching, worker.name).toHaveLength(1);
    return matching[0]!.Properties;
  };
  const consumers = WORKERS.filter((w) => w.source).map((w) => [w.name, w] as const);

  it('are exactly one per job queue, and none reads a dead-letter queue', () => {
    expect(eventSourceMappings()).toHaveLength(QUEUES.length);
    const sources = eventSourceMappings().map((m) => resolveImports(m.Properties.EventSourceArn));
    for (const dlq of dlqIds()) expect(sources).not.toContainEqual(arnOf(dlq));
  });

  it.each(consumers)('feed %s from its queue with partial batch responses', (_name, worker) => {
    const props = mappingFor(worker);
    expect(resolveImports(props.EventSourceArn)).toEqual(arnOf(queueIds()[worker.source!.queue]));
    expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(props.Enabled).not.toBe(false);
  });

  it.each(consumers)('give %s small batches, little wait, and a concurrency cap', (_name, worker) => {
    const props = mappingFor(worker);
    const [min, max] = worker.source!.batchSize;
    expect(props.BatchSize).toBeGreaterThanOrEqual(min);
    expect(props.BatchSize).toBeLessThanOrEqual(max);
    expect(props.MaximumBatchingWindowInSeconds ?? 0).toBeLessThanOrEqual(5);
    // A backlog cannot take the account's concurrency from the api.
    expect(props.ScalingConfig?.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(props.ScalingConfig?.MaximumConcurrency).toBeLessThanOrEqual(10);
  });

  it.each(consumers)('take %s messages that exhaust their retries to a dead-letter queue with a depth alarm', (_name, worker) => {
    const queue = statefulJson.Resources[queueIds()[worker.source!.queue]];
    const dlqId = queue.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0];
    expect(dlqIds()).toContain(dlqId);
    const depth = alarms().filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depth.map((a) => resolveImports(a.Properties.Dimensions))).toContainEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }]);
  });
});

describe('scheduler rule', () => {
  const scheduler = () => WORKERS.find((w) => w.name === 'scheduler')!;
  const rules = () => Object.entries(synth.stateless.findResources('AWS::Events::Rule'));

  it('invokes the scheduler every minute, with bounded retries and event age', () => {
    expect(rules()).toHaveLength(1);
    const [, rule] = rules()[0]!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.State).toBe('ENABLED');
    const targets = asArray(rule.Properties.Targets) as Json[];
    expect(targets).toHaveLength(1);
    expect(targets[0].Arn).toEqual(arnOf(functionId(scheduler())));
    expect(targets[0].RetryPolicy.MaximumRetryAttempts).toBeLessThanOrEqual(3);
    expect(targets[0].RetryPolicy.MaximumEventAgeInSeconds).toBeLessThanOrEqual(120);
  });

  it('may invoke only the scheduler, and only from this rule', () => {
    const [ruleId] = rules()[0]!;
    const fromEvents = Object.values(synth.stateless.findResources('AWS::Lambda::Permission')).filter((p) => p.Properties.Principal === 'events.amazonaws.com');
    expect(fromEvents).toHaveLength(1);
    expect(fromEvents[0]!.Properties).toMatchObject({
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(functionId(scheduler())),
      SourceArn: arnOf(ruleId),
    });
  });

  it('does not retry a failed tick: the next one a minute later redoes its work', () => {
    const configs = Object.values(synth.stateless.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(1);
    expect(configs[0]!.Properties).toMatchObject({ FunctionName: refOf(functionId(scheduler())), MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  });
});

describe('worker alarms and dashboard', () => {
  const lambdaAlarm = (metricName: string, worker: WorkerExpectation) =>
    alarms().filter(
      (a) =>
        a.Properties.Namespace === 'AWS/Lambda' &&
        a.Properties.MetricName === metricName &&
        JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: refOf(functionId(worker)) }]),
    );

  it.each(WORKERS.map((w) => [w.name, w] as const))('alarm on any failed or throttled invocation of %s', (_name, worker) => {
    for (const metric of ['Errors', 'Throttles']) {
      const found = lambdaAlarm(metric, worker);
      expect(found, metric).toHaveLength(1);
      expect(found[0].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Period: 300 });
    }
  });

  it('alarm when the oldest message of a job queue is overdue: 15 minutes, or an hour for audit exports', () => {
    const age = alarms().filter((a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(age).toHaveLength(QUEUES.length);
    const alarmOf = (queue: QueueName) => {
      const dimensions = [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueIds()[queue], 'QueueName'] } }];
      const found = age.filter((a) => JSON.stringify(resolveImports(a.Properties.Dimensions)) === JSON.stringify(dimensions));
      expect(found, queue).toHaveLength(1);
      return found[0].Properties;
    };
    for (const [queue, threshold] of [
      ['rotation', QUEUE_AGE_ALARM_SECONDS],
      ['webhook', QUEUE_AGE_ALARM_SECONDS],
      ['auditExport', AUDIT_EXPORT_AGE_ALARM_SECONDS],
    ] as const) {
      expect(alarmOf(queue), queue).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    // A retried export reappears 15 minutes (its visibility timeout) after it was sent.
    expect(AUDIT_EXPORT_AGE_ALARM_SECONDS).toBeGreaterThan(AUDIT_EXPORT_QUEUE.visibilityTimeoutSeconds);
    expect(alarmOf('rotation').AlarmDescription).toMatch(/runbook: ScaiVaultRotationQueueStale/);
    expect(alarmOf('webhook').AlarmDescription).toMatch(/runbook: ScaiVaultWebhookQueueStale/);
  });

  it('graph every worker’s errors, throttles, duration and concurrency', () => {
    const { widgets, token } = dashboardBody(synth);
    for (const worker of WORKERS) {
      for (const metric of ['Errors', 'Throttles', 'Duration', 'ConcurrentExecutions']) {
        const rows = rowsFor(widgets, 'AWS/Lambda', metric);
        expect(
          rows.map((row) => token(row[3])),
          `${worker.name} ${metric}`,
        ).toContainEqual(refOf(functionId(worker)));
      }
    }
  });

  it('graph the age of the oldest message of each job queue', () => {
    const { widgets, token } = dashboardBody(synth);
    const rows = rowsFor(widgets, 'AWS/SQS', 'ApproximateAgeOfOldestMessage');
    expect(rows.map((row) => token(row[3])).sort()).toEqual(
      Object.values(queueIds())
        .map((id) => ({ 'Fn::GetAtt': [id, 'QueueName'] }))
        .sort(),
    );
  });
});

describe('a worker on its own', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await handlerBundleDir('worker', 'export const handler = async () => ({ batchItemFailures: [] });\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const definition = { id: 'jobs', envVar: 'JOBS_QUEUE_URL', visibilityTimeoutSeconds: 60, maxReceiveCount: 3, retentionDays: 1 };

  it('refuses a function that could outlast its queue visibility timeout', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const queue = new sqs.Queue(stack, 'Jobs', { visibilityTimeout: Duration.seconds(definition.visibilityTimeoutSeconds) });
    const fn = new VaultFunction(stack, 'Worker', { name: 'worker', bundleDir: dir, timeout: Duration.seconds(60) });
    expect(() => fn.bindQueueSource(queue, definition, { batchSize: 5, maxConcurrency: 2 })).toThrow(/visibility timeout/);
  });

  it('copies audit events to the syslog relay it is given', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const table = new dynamodb.TableV2(stack, 'Audit', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    const key = new kms.Key(stack, 'Key');
    new VaultFunction(stack, 'Worker', { name: 'worker', bundleDir: dir }).bindAuditTrail({ table, key, syslogUrl: 'tls://siem.example.com:6514' });
    const [fn] = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'));
    expect(fn!.Properties.Environment.Variables).toMatchObject({
      SCAIVAULT_SYSLOG_URL: 'tls://siem.example.com:6514',
      [AUDIT_TABLE.envVar]: { Ref: stack.getLogicalId(table.node.defaultChild as dynamodb.CfnGlobalTable) },
    });
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { METRICS_TABLE, QUEUES, ROTATION_QUEUE, STATE_TABLE, WEBHOOK_QUEUE } from '../../lib/definitions.js';
import type { StatelessStack } from '../../lib/stateless-stack.js';
import { VaultFunction } from '../../lib/vault-function.js';
import {
  ENV,
  arnOf,
  asArray,
  dashboardBody,
  forService,
  logicalId,
  refOf,
  resolveImports as resolveWith,
  roleStatements,
  rowsFor,
  synthesize,
  type Json,
  type Statement,
  type Synthesized,
} from './support/synth.js';

// Written out here, not imported from lib/: widening a grant must fail this test.
const ITEM_ACTIONS = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'];
const CONSUME = ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'];
const SEND = ['sqs:GetQueueAttributes', 'sqs:SendMessage'];
const DATA_SERVICES = ['dynamodb', 'kms', 's3', 'sqs', 'secretsmanager'];
const QUEUE_AGE_ALARM_SECONDS = 900;

type WorkerName = 'rotation-worker' | 'webhook-worker' | 'scheduler';
type QueueName = 'rotation' | 'webhook';

interface WorkerExpectation {
  readonly name: WorkerName;
  readonly of: (stack: StatelessStack) => VaultFunction;
  /** Seconds. */
  readonly minTimeout: number;
  /** The queue it is invoked from, if any. */
  readonly source?: QueueName;
  /** SQS actions by queue: exactly these, nothing on any other queue. */
  readonly sqs: Partial<Record<QueueName, string[]>>;
  /** KMS actions on the envelope key without a kms:ViaService condition. */
  readonly directKms: string[];
}

// What each handler's composition root calls (functions/workers/compose-*.ts):
// only tenant creation (the api) generates data keys; rotation seals under the secret's existing key.
const WORKERS: readonly WorkerExpectation[] = [
  {
    name: 'rotation-worker',
    of: (stack) => stack.rotationWorker,
    minTimeout: 60,
    source: 'rotation',
    sqs: { rotation: CONSUME, webhook: SEND },
    directKms: ['kms:Decrypt'],
  },
  {
    name: 'webhook-worker',
    of: (stack) => stack.webhookWorker,
    minTimeout: 30,
    source: 'webhook',
    sqs: { webhook: CONSUME },
    directKms: ['kms:Decrypt'],
  },
  {
    name: 'scheduler',
    of: (stack) => stack.scheduler,
    minTimeout: 60,
    sqs: { rotation: SEND, webhook: SEND },
    directKms: [],
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
const statementsOf = (worker: WorkerExpectation): Statement[] => roleStatements(synth, functionOf(worker));
const alarms = (): Json[] => Object.values(synth.stateless.findResources('AWS::CloudWatch::Alarm'));

const queueIds = (): Record<QueueName, string> => ({
  rotation: statefulId(synth.statefulStack.rotationQueue),
  webhook: statefulId(synth.statefulStack.webhookQueue),
});
const dlqIds = () => QUEUES.map((q) => statefulId(synth.statefulStack.queueFor(q).deadLetterQueue));
const keyArn = () => arnOf(statefulId(synth.statefulStack.key));
const tableResources = () =>
  [synth.statefulStack.stateTable, synth.statefulStack.metricsTable].flatMap((table) => {
    const arn = arnOf(statefulId(table));
    return [arn, { 'Fn::Join': ['', [arn, '/index/*']] }];
  });

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
  it('runs the bundle of its handler on nodejs22.x, arm64, with active tracing and its own log group', () => {
    const props = functionResource(worker).Properties;
    expect(functionOf(worker).name).toBe(name);
    expect(props.Runtime).toBe('nodejs22.x');
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

  it('has time for its work, and finishes inside its queue visibility timeout', () => {
    const timeout: number = functionResource(worker).Properties.Timeout;
    expect(timeout).toBeGreaterThanOrEqual(worker.minTimeout);
    if (worker.source) {
      const visibility: number = statefulJson.Resources[queueIds()[worker.source]].Properties.VisibilityTimeout;
      expect(timeout).toBeLessThan(visibility);
    }
  });

  it('is configured with every resource its code reads, and nothing it does not use', () => {
    const vars = resolveImports(functionResource(worker).Properties.Environment.Variables);
    const ids = queueIds();
    expect(vars).toMatchObject({
      [STATE_TABLE.envVar]: refOf(statefulId(synth.statefulStack.stateTable)),
      [METRICS_TABLE.envVar]: refOf(statefulId(synth.statefulStack.metricsTable)),
      SCAIVAULT_KEY_PROVIDER: 'aws-kms',
      SCAIVAULT_KMS_KEY_ID: keyArn(),
      OTEL_SERVICE_NAME: `scaivault-${name}`,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault',
      LOG_FORMAT: 'json',
    });
    const queueVars = { rotation: ROTATION_QUEUE.envVar, webhook: WEBHOOK_QUEUE.envVar } as const;
    for (const queue of Object.keys(worker.sqs) as QueueName[]) expect(vars[queueVars[queue]], queue).toEqual(refOf(ids[queue]));
    for (const absent of ['SCAIVAULT_AUDIT_BUCKET', 'SCAIVAULT_ROOT_TOKEN_SECRET_ARN', 'SCAIVAULT_METRICS_TOKEN_SECRET_ARN']) {
      expect(vars, absent).not.toHaveProperty(absent);
    }
  });

  describe('IAM policy', () => {
    it('has no wildcard actions and no Resource "*" for data services', () => {
      const statements = statementsOf(worker);
      expect(statements.length).toBeGreaterThan(0);
      for (const s of statements) {
        expect(s.effect).toBe('Allow');
        for (const action of s.actions) expect(action).not.toMatch(/(^\*$|:\*$)/);
      }
      for (const service of DATA_SERVICES) {
        for (const s of forService(statements, service)) expect(s.resources, service).not.toContain('*');
      }
    });

    it('reads and writes items of the state and metrics tables and their indexes only', () => {
      const statements = forService(statementsOf(worker), 'dynamodb');
      expect([...new Set(statements.flatMap((s) => s.actions))].sort()).toEqual(ITEM_ACTIONS);
      const resources = statements.flatMap((s) => s.resources);
      expect(resources).toEqual(expect.arrayContaining(tableResources()));
      expect(resources).toHaveLength(4);
    });

    it('has exactly the SQS actions its code and event source need, on those queues only', () => {
      expect(sqsGrants(worker)).toEqual(worker.sqs);
    });

    it('never generates data keys itself: direct key use is at most Decrypt, the rest only through DynamoDB or SQS', () => {
      const statements = forService(statementsOf(worker), 'kms');
      for (const s of statements) expect(s.resources).toEqual([keyArn()]);
      const direct = statements.filter((s) => !s.condition);
      expect([...new Set(direct.flatMap((s) => s.actions))].sort()).toEqual(worker.directKms);
      for (const s of statements.filter((s) => s.condition)) {
        expect(Object.keys(s.condition)).toEqual(['StringEquals']);
        expect(s.condition.StringEquals['kms:ViaService']).toMatch(/^(dynamodb|sqs)\.eu-west-1\.amazonaws\.com$/);
      }
      // SQS encrypts what is sent with the key: only a sender may have SQS generate data keys.
      const viaSqs = statements.filter((s) => s.condition?.StringEquals?.['kms:ViaService']?.startsWith('sqs.'));
      const sends = Object.values(worker.sqs).some((actions) => actions.includes('sqs:SendMessage'));
      expect(viaSqs.some((s) => s.actions.some((a) => a.startsWith('kms:GenerateDataKey')))).toBe(sends);
    });

    it('has no Secrets Manager or S3 access and remote-writes only to the Prometheus workspace', () => {
      const statements = statementsOf(worker);
      expect(forService(statements, 'secretsmanager')).toEqual([]);
      expect(forService(statements, 's3')).toEqual([]);
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

  it('lets the scheduler send to both queues, but never receive or delete', () => {
    expect(queuesWith('scheduler', 'sqs:SendMessage')).toEqual(['rotation', 'webhook']);
    for (const action of ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']) {
      expect(queuesWith('scheduler', action), action).toEqual([]);
    }
  });

  it('lets the rotation worker send webhook jobs, but not put rotation jobs back on its own queue', () => {
    expect(queuesWith('rotation-worker', 'sqs:SendMessage')).toEqual(['webhook']);
  });

  it('gives no worker kms:GenerateDataKey on its own account (only the api creates tenants)', () => {
    for (const w of WORKERS) {
      const direct = forService(statementsOf(w), 'kms').filter((s) => !s.condition);
      expect(direct.flatMap((s) => s.actions).filter((a) => a.startsWith('kms:GenerateDataKey')), w.name).toEqual([]);
    }
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
    expect(resolveImports(props.EventSourceArn)).toEqual(arnOf(queueIds()[worker.source!]));
    expect(props.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(props.Enabled).not.toBe(false);
  });

  it.each(consumers)('give %s small batches, little wait, and a concurrency cap', (_name, worker) => {
    const props = mappingFor(worker);
    expect(props.BatchSize).toBeGreaterThanOrEqual(5);
    expect(props.BatchSize).toBeLessThanOrEqual(10);
    expect(props.MaximumBatchingWindowInSeconds ?? 0).toBeLessThanOrEqual(5);
    // A backlog cannot take the account's concurrency from the api.
    expect(props.ScalingConfig?.MaximumConcurrency).toBeGreaterThanOrEqual(2);
    expect(props.ScalingConfig?.MaximumConcurrency).toBeLessThanOrEqual(10);
  });

  it.each(consumers)('take %s messages that exhaust their retries to a dead-letter queue with a depth alarm', (_name, worker) => {
    const queue = statefulJson.Resources[queueIds()[worker.source!]];
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

  it('alarm when the oldest message of either job queue is over 15 minutes old', () => {
    const age = alarms().filter((a) => a.Properties.MetricName === 'ApproximateAgeOfOldestMessage');
    expect(age).toHaveLength(QUEUES.length);
    const queues = age.map((a) => resolveImports(a.Properties.Dimensions));
    for (const id of Object.values(queueIds())) expect(queues).toContainEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }]);
    for (const alarm of age) {
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: QUEUE_AGE_ALARM_SECONDS,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(alarm.Properties.AlarmDescription).toMatch(/runbook: ScaiVault(Rotation|Webhook)QueueStale/);
    }
  });

  it('graph every worker’s errors, throttles, duration and concurrency', () => {
    const { widgets, token } = dashboardBody(synth);
    for (const worker of WORKERS) {
      for (const metric of ['Errors', 'Throttles', 'Duration', 'ConcurrentExecutions']) {
        const rows = rowsFor(widgets, 'AWS/Lambda', metric);
        expect(rows.map((row) => token(row[3])), `${worker.name} ${metric}`).toContainEqual(refOf(functionId(worker)));
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

describe('a queue source on its own', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'scaivault-worker-bundle-'));
    await mkdir(join(dir, 'worker'));
    await writeFile(join(dir, 'worker', 'index.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
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
});

import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { parse } from 'yaml';
import { QUEUES, deadLetterQueueId } from '../../functions/runtime/definitions.js';
import { VaultObservability, mergePrometheusRuleFiles } from '../../lib/observability.js';
import { VaultFunction } from '../../lib/vault-function.js';
import { opsPath } from '../ops/support/ops-files.js';
import {
  ENV,
  allRows,
  arnOf,
  asArray,
  dashboardBody as dashboardWidgets,
  forService,
  handlerBundleDir,
  logicalId,
  readRuleFiles,
  refOf,
  resolveImports as resolveWith,
  roleStatements,
  rowsFor,
  synthesize,
  type Json,
  type Synthesized,
} from './support/synth.js';

// Written out, not imported from lib/: the api emits these (functions/observability/cloudwatch-metrics.ts).
const NAMESPACE = 'ScaiVault';
const SERVICE = 'scaivault-api';
const ADOT_LAYER = `arn:aws:lambda:${ENV.region}:901920570463:layer:aws-otel-collector-arm64-ver-0-115-0:3`;

let synth: Synthesized;
let statefulJson: Json;
let statelessJson: Json;

const resolveImports = (value: Json): Json => resolveWith(statefulJson, value);
const statefulId = (construct: Parameters<typeof logicalId>[1]) => logicalId(synth.statefulStack, construct);
const statelessId = (construct: Parameters<typeof logicalId>[1]) => logicalId(synth.statelessStack, construct);
const workspaceId = () => statefulId(synth.statefulStack.prometheus.workspace);
const apiFunction = () => statelessJson.Resources[statelessId(synth.statelessStack.api.function)];
const alarms = (): Json[] => Object.values(synth.stateless.findResources('AWS::CloudWatch::Alarm'));
const dlqIds = () => QUEUES.map((q) => statefulId(synth.statefulStack.queueFor(q).deadLetterQueue));

interface Rules {
  groups: { name: string; rules: { alert?: string; record?: string }[] }[];
}
const ruleNames = (rules: Rules, kind: 'alert' | 'record') =>
  rules.groups.flatMap((g) => g.rules.map((r) => r[kind])).filter((n): n is string => n !== undefined);

const dashboardBody = () => dashboardWidgets(synth);

beforeAll(async () => {
  synth = await synthesize();
  ({ statefulJson, statelessJson } = synth);
});

afterAll(async () => {
  await synth?.dispose();
});

describe('CloudWatch dashboard', () => {
  it('is named ScaiVault', () => {
    synth.stateless.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'ScaiVault' });
  });

  it.each(['Requests', 'Errors5xx', 'Errors4xx', 'Throttles'])('graphs the EMF %s sum under namespace ScaiVault, service scaivault-api', (name) => {
    const rows = rowsFor(dashboardBody().widgets, NAMESPACE, name);
    expect(rows.length, name).toBeGreaterThan(0);
    for (const row of rows) expect(row.slice(2, 4)).toEqual(['service', SERVICE]);
    expect(rows.some((row) => row[4]?.stat === 'Sum')).toBe(true);
  });

  it('graphs p50, p95 and p99 of the EMF Latency', () => {
    const rows = rowsFor(dashboardBody().widgets, NAMESPACE, 'Latency');
    expect(rows.map((row) => row[4]?.stat)).toEqual(expect.arrayContaining(['p50', 'p95', 'p99']));
    for (const row of rows) expect(row.slice(2, 4)).toEqual(['service', SERVICE]);
  });

  it('graphs the 5xx rate as a percentage of requests', () => {
    const expressions = allRows(dashboardBody().widgets).flatMap((row) => row.filter((cell: Json) => cell?.expression));
    expect(expressions.map((e: Json) => e.expression)).toContain('100 * errors / requests');
  });

  it('graphs the depth of every dead-letter queue and job queue, once each', () => {
    const { widgets, token } = dashboardBody();
    const rows = rowsFor(widgets, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible');
    const queues = rows.map((row) => token(row[3]));
    const jobQueueIds = QUEUES.map((q) => statefulId(synth.statefulStack.queueFor(q).queue));
    for (const id of [...dlqIds(), ...jobQueueIds]) expect(queues).toContainEqual({ 'Fn::GetAtt': [id, 'QueueName'] });
    expect(rows).toHaveLength(2 * QUEUES.length);
  });

  it('graphs the api Lambda errors, throttles, duration and concurrency', () => {
    const { widgets, token } = dashboardBody();
    const fn = refOf(statelessId(synth.statelessStack.api.function));
    for (const metric of ['Errors', 'Throttles', 'Duration', 'ConcurrentExecutions']) {
      const rows = rowsFor(widgets, 'AWS/Lambda', metric);
      expect(
        rows.map((row) => token(row[3])),
        metric,
      ).toContainEqual(fn);
    }
  });

  it('graphs the HTTP API stage and shows the state of every alarm', () => {
    const { widgets } = dashboardBody();
    expect(rowsFor(widgets, 'AWS/ApiGateway', '5xx').length).toBeGreaterThan(0);
    const status = widgets.find((w) => w.type === 'alarm');
    expect(status.properties.alarms).toHaveLength(alarms().length);
  });
});

describe('CloudWatch alarms', () => {
  const topicArn = () => refOf(statefulId(synth.statefulStack.alarmTopic));

  it('alarm when more than 1% of requests answer 5xx over 5 minutes, and stay quiet without traffic', () => {
    const alarm = alarms().find((a) => asArray(a.Properties.Metrics).some((m: Json) => m.Expression === '100 * errors / requests'));
    expect(alarm).toBeDefined();
    const props = alarm.Properties;
    expect(props).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', EvaluationPeriods: 1 });
    const byId = Object.fromEntries(props.Metrics.map((m: Json) => [m.Id, m]));
    expect(props.Metrics.find((m: Json) => m.Expression)).toMatchObject({ ReturnData: true });
    for (const [id, name] of [
      ['errors', 'Errors5xx'],
      ['requests', 'Requests'],
    ] as const) {
      expect(byId[id].MetricStat).toEqual({
        Metric: { Namespace: NAMESPACE, MetricName: name, Dimensions: [{ Name: 'service', Value: SERVICE }] },
        Period: 300,
        Stat: 'Sum',
      });
      expect(byId[id].ReturnData).toBe(false);
    }
  });

  it('alarm when the p95 latency is above 1000 ms', () => {
    synth.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: 'Latency',
      Dimensions: [{ Name: 'service', Value: SERVICE }],
      ExtendedStatistic: 'p95',
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: 300,
    });
  });

  it('alarm on any message in each dead-letter queue', () => {
    const depth = alarms().filter((a) => a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depth).toHaveLength(QUEUES.length);
    const queues = depth.map((a) => resolveImports(a.Properties.Dimensions));
    for (const id of dlqIds()) expect(queues).toContainEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }]);
    for (const alarm of depth) {
      expect(alarm.Properties).toMatchObject({ Namespace: 'AWS/SQS', Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', Statistic: 'Maximum' });
    }
    expect(QUEUES.map(deadLetterQueueId).sort()).toEqual([...synth.statelessStack.observability.deadLetterAlarms.keys()].sort());
  });

  it('alarm on requests refused with 429 and, separately, on Lambda throttling', () => {
    synth.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: NAMESPACE,
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'service', Value: SERVICE }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
    });
    synth.stateless.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Throttles',
      Dimensions: [{ Name: 'FunctionName', Value: refOf(statelessId(synth.statelessStack.api.function)) }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('notify the stateful alarm topic on alarm and on recovery', () => {
    expect(alarms().length).toBeGreaterThanOrEqual(4 + QUEUES.length);
    for (const alarm of alarms()) {
      expect(resolveImports(alarm.Properties.AlarmActions)).toEqual([topicArn()]);
      expect(resolveImports(alarm.Properties.OKActions)).toEqual([topicArn()]);
    }
  });

  it('the alarm topic is encrypted with the key, which CloudWatch and AMP may use only for this account', () => {
    const topic = statefulJson.Resources[statefulId(synth.statefulStack.alarmTopic)];
    const keyId = statefulId(synth.statefulStack.key);
    expect(topic.Properties.KmsMasterKeyId).toEqual(arnOf(keyId));
    const statements: Json[] = statefulJson.Resources[keyId].Properties.KeyPolicy.Statement;
    const delivery = statements.filter((s) => asArray(s.Principal?.Service).includes('cloudwatch.amazonaws.com'));
    expect(delivery).toHaveLength(1);
    expect(delivery[0]).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Condition: { StringEquals: { 'aws:SourceAccount': ENV.account } },
    });
    expect(asArray(delivery[0].Principal.Service).sort()).toEqual(['aps.amazonaws.com', 'cloudwatch.amazonaws.com']);
  });
});

// Written out too: what the workers and the scheduler emit (functions/observability/cloudwatch-signals.ts),
// each with the runbook of the Prometheus alert it mirrors.
const SIGNALS_SERVICE = 'scaivault';
const SIGNALS: [metric: string, runbook: string][] = [
  ['AuditChainDivergence', 'ScaiVaultAuditChainDivergence'],
  ['AuditWriteFailures', 'ScaiVaultAuditWriteFailures'],
  ['KmsErrors', 'ScaiVaultKMSErrors'],
  ['AuditDetections', 'ScaiVaultAuditDetection'],
  ['RotationsFailed', 'ScaiVaultRotationFailing'],
  ['JobsDeadLettered', 'ScaiVaultJobsDeadLettered'],
  ['AuditSealAgeSeconds', 'ScaiVaultAuditSealDelayed'],
  ['MetricsPublishFailures', 'ScaiVaultMetricsPublishFailing'],
  ['LeasesIrrevocable', 'ScaiVaultLeasesIrrevocable'],
  ['DynamicEnginesDown', 'ScaiVaultEngineDown'],
  ['AuditAnchorFailures', 'ScaiVaultAuditAnchorFailure'],
];

describe('CloudWatch signals from the workers and the scheduler', () => {
  const topicArn = () => refOf(statefulId(synth.statefulStack.alarmTopic));
  const alarmIdOf = (metric: string) => {
    const found = Object.entries(synth.stateless.findResources('AWS::CloudWatch::Alarm')).filter(
      ([, a]) => a.Properties.Namespace === NAMESPACE && a.Properties.MetricName === metric,
    );
    expect(found, metric).toHaveLength(1);
    return found[0]!;
  };

  it.each(SIGNALS)('%s has one alarm on the alarm topic, over the fleet-wide service dimension', (metric, runbook) => {
    const [, alarm] = alarmIdOf(metric);
    expect(alarm.Properties).toMatchObject({
      Dimensions: [{ Name: 'service', Value: SIGNALS_SERVICE }],
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm.Properties.Threshold).toBeGreaterThanOrEqual(1);
    expect(alarm.Properties.AlarmDescription).toContain(`(runbook: ${runbook})`);
    expect(resolveImports(alarm.Properties.AlarmActions)).toEqual([topicArn()]);
    expect(resolveImports(alarm.Properties.OKActions)).toEqual([topicArn()]);
  });

  it.each(SIGNALS)('%s has a dashboard widget showing the metric against its alarm', (metric) => {
    const [alarmId] = alarmIdOf(metric);
    const { widgets, token } = dashboardBody();
    const mine = widgets.filter((w) => w.properties?.title === metric);
    expect(mine).toHaveLength(1);
    expect(mine[0].properties.annotations.alarms.map(token)).toEqual([{ 'Fn::GetAtt': [alarmId, 'Arn'] }]);
  });

  it('pages on any divergence, lost audit write, detection, failed rotation or dead letter, and on seal age past 15 minutes', () => {
    const [, divergence] = alarmIdOf('AuditChainDivergence');
    expect(divergence.Properties).toMatchObject({ Statistic: 'Maximum', Threshold: 1, Period: 60, EvaluationPeriods: 1 });
    for (const metric of ['AuditWriteFailures', 'AuditDetections', 'RotationsFailed', 'JobsDeadLettered']) {
      expect(alarmIdOf(metric)[1].Properties, metric).toMatchObject({ Statistic: 'Sum', Threshold: 1, EvaluationPeriods: 1 });
    }
    expect(alarmIdOf('KmsErrors')[1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 1, Period: 300, EvaluationPeriods: 2 });
    expect(alarmIdOf('MetricsPublishFailures')[1].Properties).toMatchObject({ Statistic: 'Sum', Threshold: 2, Period: 900 });
    expect(alarmIdOf('AuditSealAgeSeconds')[1].Properties).toMatchObject({ Statistic: 'Maximum', Threshold: 900, TreatMissingData: 'breaching' });
    for (const [metric] of SIGNALS.filter(([m]) => m !== 'AuditSealAgeSeconds')) {
      expect(alarmIdOf(metric)[1].Properties.TreatMissingData, metric).toBe('notBreaching');
    }
  });

  it('the functions that emit them print EMF under namespace ScaiVault', () => {
    const { rotationWorker, webhookWorker, scheduler, auditExport } = synth.statelessStack;
    for (const fn of [rotationWorker, webhookWorker, scheduler, auditExport]) {
      const vars = statelessJson.Resources[statelessId(fn.function)].Properties.Environment.Variables;
      expect(vars.POWERTOOLS_METRICS_NAMESPACE, fn.name).toBe(NAMESPACE);
    }
  });
});

describe('Amazon Managed Prometheus', () => {
  const workspace = () => statefulJson.Resources[workspaceId()];

  it('has one retained workspace with alias scaivault', () => {
    synth.stateful.resourceCountIs('AWS::APS::Workspace', 1);
    expect(workspace().Properties.Alias).toBe('scaivault');
    expect(workspace().DeletionPolicy).toBe('Retain');
  });

  it('loads every alert and recording rule of ops/prometheus into the workspace, unchanged', async () => {
    const namespaces = Object.values(synth.stateful.findResources('AWS::APS::RuleGroupsNamespace'));
    expect(namespaces).toHaveLength(1);
    const props = namespaces[0]!.Properties;
    expect(props.Workspace).toEqual(arnOf(workspaceId()));
    const loaded = parse(props.Data) as Rules;
    const [alerts, recording] = (await readRuleFiles()).map((text) => parse(text) as Rules);
    expect(ruleNames(loaded, 'alert')).toEqual(ruleNames(alerts!, 'alert'));
    expect(ruleNames(loaded, 'alert').length).toBeGreaterThanOrEqual(7);
    expect(ruleNames(loaded, 'record')).toEqual(ruleNames(recording!, 'record'));
    expect(loaded.groups).toEqual([...alerts!.groups, ...recording!.groups]);
  });

  it('routes firing alerts to the alarm topic, which lets only this workspace publish', () => {
    const topicId = statefulId(synth.statefulStack.alarmTopic);
    const definition = workspace().Properties.AlertManagerDefinition['Fn::Join'][1];
    expect(definition).toContainEqual(refOf(topicId));
    const text = definition.map((part: Json) => (typeof part === 'string' ? part : '<topic>')).join('');
    expect(parse(parse(text).alertmanager_config)).toMatchObject({
      route: { receiver: 'sns' },
      receivers: [{ name: 'sns', sns_configs: [{ topic_arn: '<topic>', sigv4: { region: ENV.region } }] }],
    });
    const policy = Object.values(synth.stateful.findResources('AWS::SNS::TopicPolicy')).find((p) => p.Properties.Topics.some((t: Json) => t.Ref === topicId));
    const aps = asArray(policy?.Properties.PolicyDocument.Statement).find((s: Json) => s.Principal?.Service === 'aps.amazonaws.com');
    expect(aps.Condition.ArnEquals['aws:SourceArn']).toEqual(arnOf(workspaceId()));
  });

  it('outputs the remote-write endpoint and the metrics token secret ARN', () => {
    const outputs = statelessJson.Outputs;
    expect(resolveImports(outputs.PrometheusRemoteWriteEndpoint.Value)).toEqual({
      'Fn::Join': ['', [{ 'Fn::GetAtt': [workspaceId(), 'PrometheusEndpoint'] }, 'api/v1/remote_write']],
    });
    expect(resolveImports(outputs.MetricsTokenSecretArn.Value)).toEqual(refOf(statefulId(synth.statefulStack.metricsTokenSecret)));
  });
});

describe('ADOT on the api function', () => {
  it('adds the arm64 ADOT collector layer', () => {
    expect(apiFunction().Properties.Layers).toEqual([ADOT_LAYER]);
  });

  it('is wired into every function of the stateless stack, each under its own service name', () => {
    const functions = Object.values(synth.stateless.findResources('AWS::Lambda::Function'));
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      expect(fn.Properties.Layers).toEqual([ADOT_LAYER]);
      expect(fn.Properties.Environment.Variables).toMatchObject({
        OPENTELEMETRY_COLLECTOR_CONFIG_URI: '/var/task/collector.yaml',
        OTEL_SERVICE_NAME: expect.stringMatching(/^scaivault-[a-z0-9-]+$/),
      });
    }
  });

  it('points the collector at its config and the code at the collector, with EMF on', () => {
    const vars = resolveImports(apiFunction().Properties.Environment.Variables);
    expect(vars).toMatchObject({
      OPENTELEMETRY_COLLECTOR_CONFIG_URI: '/var/task/collector.yaml',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      OTEL_SERVICE_NAME: SERVICE,
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      OTEL_TRACES_SAMPLER_ARG: '1',
      POWERTOOLS_METRICS_NAMESPACE: NAMESPACE,
      AMP_REMOTE_WRITE_ENDPOINT: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [workspaceId(), 'PrometheusEndpoint'] }, 'api/v1/remote_write']] },
    });
  });

  it('ships ops/adot/lambda-collector.yaml in the bundle as collector.yaml', async () => {
    const shipped = await readFile(join(synth.bundleDir, 'api', 'collector.yaml'), 'utf8');
    expect(shipped).toBe(await readFile(opsPath('adot', 'lambda-collector.yaml'), 'utf8'));
  });

  it('sets every variable the collector config reads (AWS_REGION comes from Lambda)', async () => {
    const text = await readFile(opsPath('adot', 'lambda-collector.yaml'), 'utf8');
    const names = [...text.matchAll(/\$\{env:([A-Z0-9_]+)\}/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    const vars = apiFunction().Properties.Environment.Variables;
    for (const name of names.filter((n) => n !== 'AWS_REGION')) expect(vars, name).toHaveProperty(name);
  });

  it('may remote-write to exactly the workspace and export traces to X-Ray', () => {
    const statements = roleStatements(synth, synth.statelessStack.api);
    const aps = forService(statements, 'aps');
    expect(aps).toHaveLength(1);
    expect(aps[0]!.actions).toEqual(['aps:RemoteWrite']);
    expect(aps[0]!.resources).toEqual([arnOf(workspaceId())]);
    const xray = forService(statements, 'xray');
    expect(xray.flatMap((s) => s.actions).sort()).toEqual(['xray:PutTelemetryRecords', 'xray:PutTraceSegments']);
  });
  it('gives the scheduler what its push to the workspace needs: the remote-write URL, the stage as instance, aps:RemoteWrite on the workspace, the key state', () => {
    const scheduler = statelessJson.Resources[statelessId(synth.statelessStack.scheduler.function)];
    expect(resolveImports(scheduler.Properties.Environment.Variables)).toMatchObject({
      AMP_REMOTE_WRITE_ENDPOINT: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [workspaceId(), 'PrometheusEndpoint'] }, 'api/v1/remote_write']] },
      SCAIVAULT_METRICS_INSTANCE: 'test',
    });
    // Without a SCAIVAULT_REMOTE_WRITE_URL the AMP endpoint is the target, signed.
    expect(scheduler.Properties.Environment.Variables).not.toHaveProperty('SCAIVAULT_REMOTE_WRITE_URL');
    const statements = roleStatements(synth, synth.statelessStack.scheduler);
    expect(forService(statements, 'aps')).toEqual([expect.objectContaining({ actions: ['aps:RemoteWrite'], resources: [arnOf(workspaceId())] })]);
    expect(forService(statements, 'kms').flatMap((s) => s.actions)).toContain('kms:DescribeKey');
  });
});

describe('constructs on their own', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await handlerBundleDir('api', 'export const handler = async () => ({});\n');
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const telemetry = {
    collectorLayerArn: ADOT_LAYER,
    prometheus: { workspaceArn: 'arn:aws:aps:eu-west-1:123456789012:workspace/ws-1', remoteWriteEndpoint: 'https://x/api/v1/remote_write' },
  };

  it('refuses telemetry for a bundle built without the collector config', () => {
    const fn = new VaultFunction(new Stack(new App(), 'S', { env: ENV }), 'Api', { name: 'api', bundleDir: dir });
    expect(() => fn.bindTelemetry({ ...telemetry, stage: 'test' })).toThrow(/no collector config/);
  });

  it('refuses a stage that would need encoding in OTEL_RESOURCE_ATTRIBUTES', async () => {
    await writeFile(join(dir, 'api', 'collector.yaml'), 'receivers: {}\n');
    const fn = new VaultFunction(new Stack(new App(), 'S', { env: ENV }), 'Api', { name: 'api', bundleDir: dir });
    expect(() => fn.bindTelemetry({ ...telemetry, stage: 'prod,x=y' })).toThrow(/stage/);
  });

  it('creates its own key-encrypted topic when given none', () => {
    const stack = new Stack(new App(), 'S', { env: ENV });
    const key = new kms.Key(stack, 'Key');
    const fn = new VaultFunction(stack, 'Api', { name: 'api', bundleDir: synth.bundleDir });
    new VaultObservability(stack, 'Obs', { functions: [fn], deadLetterQueues: { dlq: new sqs.Queue(stack, 'Dlq') }, encryptionKey: key });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] } });
    // 5xx rate, latency, 429s, the function's Lambda throttles and errors, the DLQ's depth, and one per
    // signal (whoever emits them); no job queues given.
    expect(Object.keys(template.findResources('AWS::CloudWatch::Alarm'))).toHaveLength(6 + SIGNALS.length);
  });

  it('refuses rule files that define a group twice', async () => {
    const [alerts] = await readRuleFiles();
    expect(() => mergePrometheusRuleFiles([alerts!, alerts!])).toThrow(/defined twice/);
    expect(() => mergePrometheusRuleFiles(['rules: []'])).toThrow(/groups/);
  });
});

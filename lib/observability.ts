import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as aps from 'aws-cdk-lib/aws-aps';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { readFileSync } from 'node:fs';
import { Construct } from 'constructs';
import { parse, stringify } from 'yaml';
import { CLOUDWATCH_SIGNALS, SIGNALS_SERVICE, type CloudWatchSignal } from '../functions/observability/cloudwatch-signals.js';
import type { VaultFunction } from './vault-function.js';

/** Powertools Metrics namespace the api's EMF goes to (functions/observability/cloudwatch-metrics.ts). */
export const METRICS_NAMESPACE = 'ScaiVault';
/** Powertools' `service` dimension on the api's EMF metrics. */
export const API_METRICS_SERVICE = 'scaivault-api';

/** Publisher of the AWS Distro for OpenTelemetry Lambda layers. */
export const ADOT_LAYER_ACCOUNT = '901920570463';
/** ADOT collector release and layer version pinned by default; operators override either. */
export const DEFAULT_ADOT_COLLECTOR_RELEASE = '0-115-0';
export const DEFAULT_ADOT_COLLECTOR_LAYER_VERSION = 3;

/**
 * The ADOT collector-only Lambda layer (arm64, as every ScaiVault function):
 * `arn:aws:lambda:<region>:901920570463:layer:aws-otel-collector-arm64-ver-<release>:<version>`.
 * Layers are regional; check the release exists in the target region.
 */
export const adotCollectorLayerArn = (
  region: string,
  release: string = DEFAULT_ADOT_COLLECTOR_RELEASE,
  layerVersion: number = DEFAULT_ADOT_COLLECTOR_LAYER_VERSION,
): string => `arn:aws:lambda:${region}:${ADOT_LAYER_ACCOUNT}:layer:aws-otel-collector-arm64-ver-${release}:${layerVersion}`;

/** What a function needs to remote-write into the workspace. */
export interface PrometheusWorkspaceRef {
  readonly workspaceArn: string;
  /** `https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/api/v1/remote_write` */
  readonly remoteWriteEndpoint: string;
}

/**
 * One Prometheus rules file from several (alerts and recording rules): their
 * groups concatenated, for an AMP rule groups namespace. Group names must be
 * unique across the files, as Prometheus requires within one namespace.
 */
export const mergePrometheusRuleFiles = (texts: readonly string[]): string => {
  const groups: { name: string }[] = [];
  for (const text of texts) {
    const file = parse(text) as { groups?: { name: string }[] } | null;
    if (!file || !Array.isArray(file.groups)) throw new Error('a Prometheus rules file must have a top-level `groups` list');
    groups.push(...file.groups);
  }
  const names = groups.map((g) => g.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new Error(`rule group "${duplicate}" is defined twice`);
  return stringify({ groups }, { lineWidth: 0 });
};

/**
 * Lets CloudWatch alarms and AMP's alert manager publish to an SNS topic
 * encrypted with `key` (SNS needs the publishing service to be able to use
 * the key), for this account's alarms and workspaces only.
 */
export const allowAlarmDelivery = (key: kms.IKey): void => {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AlarmDeliveryToEncryptedTopic',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com'), new iam.ServicePrincipal('aps.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(key).account } },
    }),
  );
};

export interface PrometheusWorkspaceProps {
  /** @default 'scaivault' */
  readonly alias?: string;
  /** A Prometheus rules file (`groups:`), loaded as rule groups namespace `scaivault`. @default no rules */
  readonly rules?: string;
  /** Where AMP's alert manager sends firing alerts (SNS, SigV4). @default alerts are evaluated but not routed */
  readonly alarmTopic?: sns.ITopic;
  /** Metric history outlives the stack by default. */
  readonly removalPolicy?: RemovalPolicy;
}

/** An Amazon Managed Service for Prometheus workspace with ScaiVault's rules and alert routing. */
export class PrometheusWorkspace extends Construct implements PrometheusWorkspaceRef {
  readonly workspace: aps.CfnWorkspace;
  readonly ruleGroups?: aps.CfnRuleGroupsNamespace;
  readonly workspaceArn: string;
  readonly remoteWriteEndpoint: string;
  readonly queryEndpoint: string;

  constructor(scope: Construct, id: string, props: PrometheusWorkspaceProps = {}) {
    super(scope, id);
    const region = Stack.of(this).region;

    this.workspace = new aps.CfnWorkspace(this, 'Workspace', {
      alias: props.alias ?? 'scaivault',
      alertManagerDefinition: props.alarmTopic && alertManagerDefinition(props.alarmTopic.topicArn, region),
    });
    this.workspace.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);
    this.workspaceArn = this.workspace.attrArn;
    // The endpoint attribute ends in a slash: .../workspaces/ws-.../
    this.remoteWriteEndpoint = `${this.workspace.attrPrometheusEndpoint}api/v1/remote_write`;
    this.queryEndpoint = `${this.workspace.attrPrometheusEndpoint}api/v1/query`;

    if (props.rules !== undefined) {
      this.ruleGroups = new aps.CfnRuleGroupsNamespace(this, 'Rules', {
        workspace: this.workspace.attrArn,
        name: 'scaivault',
        data: props.rules,
      });
    }

    if (props.alarmTopic) {
      props.alarmTopic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AmpAlertManagerPublish',
          principals: [new iam.ServicePrincipal('aps.amazonaws.com')],
          actions: ['sns:Publish', 'sns:GetTopicAttributes'],
          resources: [props.alarmTopic.topicArn],
          conditions: {
            ArnEquals: { 'aws:SourceArn': this.workspace.attrArn },
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          },
        }),
      );
    }
  }
}

/** The SNS receiver's subject and message templates: AWS Chatbot custom notifications (see the file). */
export const AMP_SNS_TEMPLATE = 'sns-chatbot.tmpl';
const snsTemplate = (): string => readFileSync(new URL(`../ops/alertmanager/${AMP_SNS_TEMPLATE}`, import.meta.url), 'utf8');

/**
 * Every alert to one SNS receiver, grouped by alert name, each group as one
 * message Chatbot can post: AMP's default SNS message is a plain-text list that
 * Chatbot does not post at all.
 */
export const alertManagerDefinition = (topicArn: string, region: string): string =>
  [
    'template_files:',
    `  ${AMP_SNS_TEMPLATE}: |`,
    ...snsTemplate()
      .trimEnd()
      .split('\n')
      .map((line) => (line ? `    ${line}` : '')),
    'alertmanager_config: |',
    '  templates:',
    `    - '${AMP_SNS_TEMPLATE}'`,
    '  route:',
    '    receiver: sns',
    '    group_by: [alertname]',
    '    group_wait: 30s',
    '    group_interval: 5m',
    '    repeat_interval: 4h',
    '  receivers:',
    '    - name: sns',
    '      sns_configs:',
    `        - topic_arn: ${topicArn}`,
    '          sigv4:',
    `            region: ${region}`,
    `          subject: '{{ template "scaivault.sns.subject" . }}'`,
    `          message: '{{ template "scaivault.sns.message" . }}'`,
    '',
  ].join('\n');

/** How one CloudWatch signal (functions/observability/cloudwatch-signals.ts) pages. */
export interface SignalAlarm {
  readonly statistic: string;
  readonly periodMinutes: number;
  /** Consecutive periods at or above the threshold. */
  readonly evaluationPeriods: number;
  readonly threshold: number;
  /** The Prometheus alert it mirrors, whose runbook section applies. */
  readonly runbook: string;
  readonly description: string;
  /** Emitted on every scheduler run: no data means the scheduler stopped, which pages too. */
  readonly missingBreaches?: boolean;
}

/** One alarm per signal, each as close to its Prometheus alert as CloudWatch periods allow. */
export const SIGNAL_ALARMS: Readonly<Record<CloudWatchSignal, SignalAlarm>> = {
  auditChainDivergence: {
    statistic: cloudwatch.Stats.MAXIMUM,
    periodMinutes: 1,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultAuditChainDivergence',
    description: 'audit chain verification found a block that no longer matches its anchor: possible tampering',
  },
  auditWriteFailures: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 5,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultAuditWriteFailures',
    description: 'audit writes failed in 5 minutes: requests refused with 503, or outcome records lost after a change',
  },
  kmsErrors: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 5,
    evaluationPeriods: 2,
    threshold: 1,
    runbook: 'ScaiVaultKMSErrors',
    description: 'key-provider calls failed in each of two 5-minute periods',
  },
  auditDetections: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 10,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultAuditDetection',
    description: 'the audit sealer raised a detection in 10 minutes',
  },
  rotationsFailed: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 15,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultRotationFailing',
    description: 'secret rotations gave up in 15 minutes; those secrets keep their old value',
  },
  jobsDeadLettered: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 15,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultJobsDeadLettered',
    description: 'jobs exhausted their retries and were dead-lettered in 15 minutes',
  },
  auditSealAge: {
    statistic: cloudwatch.Stats.MAXIMUM,
    periodMinutes: 5,
    evaluationPeriods: 1,
    threshold: 900,
    runbook: 'ScaiVaultAuditSealDelayed',
    description: 'the audit log was last sealed over 15 minutes ago, or the scheduler reported no seal age for 5 minutes',
    missingBreaches: true,
  },
  metricsPublishFailures: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 15,
    evaluationPeriods: 1,
    threshold: 2,
    runbook: 'ScaiVaultMetricsPublishFailing',
    description: 'remote-write pushes to Prometheus failed twice in 15 minutes; the workspace sees stale data',
  },
  leasesIrrevocable: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 5,
    evaluationPeriods: 1,
    threshold: 1,
    runbook: 'ScaiVaultLeasesIrrevocable',
    description: 'dynamic-secret leases exhausted their revocation attempts: their database users may still exist',
  },
  enginesDown: {
    statistic: cloudwatch.Stats.MAXIMUM,
    periodMinutes: 1,
    evaluationPeriods: 5,
    threshold: 1,
    runbook: 'ScaiVaultEngineDown',
    description: "a dynamic-secret engine failed the scheduler's probe for 5 minutes: no credentials, no revocations there",
  },
  auditAnchorFailures: {
    statistic: cloudwatch.Stats.SUM,
    periodMinutes: 15,
    evaluationPeriods: 1,
    threshold: 2,
    runbook: 'ScaiVaultAuditAnchorFailure',
    description: 'audit blocks could not be anchored to the audit bucket in two sealer runs within 15 minutes; new events are not tamper-evident',
  },
};

export interface AlarmThresholds {
  /** Percent of requests answering 5xx over 5 minutes. @default 1 */
  readonly errorRatePercent?: number;
  /** p95 request latency in milliseconds, for 10 minutes. @default 1000 */
  readonly p95LatencyMs?: number;
  /** Requests the api refused with 429 in 5 minutes. @default 100 */
  readonly throttledRequests?: number;
  /** Lambda invocations throttled in 5 minutes, per function. @default 0 */
  readonly lambdaThrottles?: number;
  /** Failed Lambda invocations (crash, timeout, a worker's whole batch) in 5 minutes, per function. @default 0 */
  readonly lambdaErrors?: number;
  /** Age in seconds of the oldest message in a job queue. @default 900 */
  readonly queueAgeSeconds?: number;
}

/** A job queue whose backlog is graphed and whose oldest message's age is alarmed. */
export interface WatchedQueue {
  readonly queue: sqs.IQueue;
  /** Runbook section named in the age alarm's description. */
  readonly runbook?: string;
  /** Age of the oldest message that alarms, for a queue whose retries are slow. @default thresholds.queueAgeSeconds */
  readonly ageThresholdSeconds?: number;
}

export interface VaultObservabilityProps {
  /** Functions whose Lambda errors, throttles, duration and concurrency are shown and alarmed. */
  readonly functions: readonly VaultFunction[];
  /** The HTTP API stage whose request, error and latency metrics join the dashboard. */
  readonly stage?: apigwv2.IHttpStage;
  /** Dead-letter queues by label; each gets a depth widget line and an alarm. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** Job queues by label; each gets depth and age widget lines and an age alarm. @default none */
  readonly jobQueues?: Readonly<Record<string, WatchedQueue>>;
  /** Alarm and OK actions go here. @default a new topic */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Encrypts the topic created when `alarmTopic` is absent. Its policy must let
   * cloudwatch.amazonaws.com use it (`allowAlarmDelivery`), or no alarm is delivered.
   */
  readonly encryptionKey?: kms.IKey;
  /** @default METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  /** @default API_METRICS_SERVICE */
  readonly metricsService?: string;
  /** @default 'ScaiVault' */
  readonly dashboardName?: string;
  readonly thresholds?: AlarmThresholds;
}

/**
 * CloudWatch side of ScaiVault's observability: a dashboard over the api's EMF
 * metrics, the Lambda functions, HTTP API, job queues and dead-letter queues,
 * and alarms for 5xx rate, p95 latency, Lambda errors and throttling, DLQ depth
 * and job queue age, and one alarm and widget per signal the workers and the
 * scheduler emit (SIGNAL_ALARMS), all sent to one topic.
 */
export class VaultObservability extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarmTopic: sns.ITopic;
  readonly errorRateAlarm: cloudwatch.Alarm;
  readonly latencyAlarm: cloudwatch.Alarm;
  readonly throttledRequestsAlarm: cloudwatch.Alarm;
  /** Lambda Throttles alarms by function name (VaultFunction.name). */
  readonly lambdaThrottleAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** Lambda Errors alarms by function name (VaultFunction.name). */
  readonly lambdaErrorAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** DLQ depth alarms by the labels of `deadLetterQueues`. */
  readonly deadLetterAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** Oldest-message age alarms by the labels of `jobQueues`. */
  readonly queueAgeAlarms: ReadonlyMap<string, cloudwatch.Alarm>;
  /** One alarm per CloudWatch signal (SIGNAL_ALARMS), each also on the dashboard. */
  readonly signalAlarms: ReadonlyMap<CloudWatchSignal, cloudwatch.Alarm>;

  constructor(scope: Construct, id: string, props: VaultObservabilityProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? METRICS_NAMESPACE;
    const service = props.metricsService ?? API_METRICS_SERVICE;
    const thresholds = props.thresholds ?? {};

    this.alarmTopic = props.alarmTopic ?? new sns.Topic(this, 'AlarmTopic', { displayName: 'ScaiVault alarms', masterKey: props.encryptionKey });
    const alarmAction = new actions.SnsAction(this.alarmTopic);

    const emf = (metricName: string, statistic: string, label?: string, period = Duration.minutes(1)) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service }, statistic, period, label });

    const fiveMinutes = Duration.minutes(5);
    const errorRate = new cloudwatch.MathExpression({
      expression: '100 * errors / requests',
      usingMetrics: {
        errors: emf('Errors5xx', cloudwatch.Stats.SUM, undefined, fiveMinutes),
        requests: emf('Requests', cloudwatch.Stats.SUM, undefined, fiveMinutes),
      },
      period: fiveMinutes,
      label: '5xx rate (%)',
    });

    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps): cloudwatch.Alarm => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(alarmAction);
      created.addOkAction(alarmAction);
      alarms.push(created);
      return created;
    };

    // No requests means no rate: missing data stays OK.
    this.errorRateAlarm = alarm('ErrorRateAlarm', {
      metric: errorRate,
      alarmDescription: `ScaiVault: more than ${thresholds.errorRatePercent ?? 1}% of requests answered 5xx over 5 minutes (runbook: ScaiVaultErrorRate)`,
      threshold: thresholds.errorRatePercent ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    // Two 5-minute periods: the Prometheus alert's `for: 10m`.
    this.latencyAlarm = alarm('LatencyAlarm', {
      // No label on alarm metrics: a label turns the alarm into metric-math form (no ExtendedStatistic).
      metric: emf('Latency', cloudwatch.Stats.p(95), undefined, fiveMinutes),
      alarmDescription: `ScaiVault: p95 request latency above ${thresholds.p95LatencyMs ?? 1000} ms for 10 minutes (runbook: ScaiVaultHighLatency)`,
      threshold: thresholds.p95LatencyMs ?? 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
    });

    // 429s from the api's own rate limiter: a level, where the Prometheus rule watches for spikes.
    this.throttledRequestsAlarm = alarm('ThrottledRequestsAlarm', {
      metric: emf('Throttles', cloudwatch.Stats.SUM, undefined, fiveMinutes),
      alarmDescription: `ScaiVault: more than ${thresholds.throttledRequests ?? 100} requests refused with 429 in 5 minutes (runbook: ScaiVaultRateLimitSpike)`,
      threshold: thresholds.throttledRequests ?? 100,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });

    this.lambdaThrottleAlarms = new Map(
      props.functions.map((fn) => [
        fn.name,
        alarm(`${pascal(fn.name)}LambdaThrottlesAlarm`, {
          metric: fn.function.metricThrottles({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          alarmDescription: `ScaiVault: Lambda throttled invocations of the ${fn.name} function (concurrency limit reached)`,
          threshold: thresholds.lambdaThrottles ?? 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        }),
      ]),
    );

    // Errors counts invocations that failed as a whole: an api crash or timeout (which its own 5xx
    // metric never sees), a worker batch that threw or timed out, a failed scheduler tick.
    // A worker's partial batch failures are not errors; they end in the DLQ alarms.
    this.lambdaErrorAlarms = new Map(
      props.functions.map((fn) => [
        fn.name,
        alarm(`${pascal(fn.name)}LambdaErrorsAlarm`, {
          metric: fn.function.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
          alarmDescription: `ScaiVault: failed invocations of the ${fn.name} function (unhandled error or timeout) in 5 minutes`,
          threshold: thresholds.lambdaErrors ?? 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        }),
      ]),
    );

    const dlqDepth = (queue: sqs.IQueue, label?: string, period = Duration.minutes(1)) =>
      queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period, label });
    this.deadLetterAlarms = new Map(
      Object.entries(props.deadLetterQueues).map(([label, queue]) => [
        label,
        alarm(`${pascal(label)}DepthAlarm`, {
          metric: dlqDepth(queue, undefined, fiveMinutes),
          alarmDescription: `ScaiVault: messages waiting in dead-letter queue ${label} (runbook: ScaiVaultJobsDeadLettered)`,
          threshold: 0,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        }),
      ]),
    );

    // SQS leaves a message received three or more times out of this age, so retries
    // backing off do not trip it: an old message means the worker is not draining the queue.
    const jobQueues = Object.entries(props.jobQueues ?? {});
    const queueAgeSeconds = thresholds.queueAgeSeconds ?? 900;
    const oldestAge = (queue: sqs.IQueue, label?: string, period = Duration.minutes(1)) =>
      queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period, label });
    this.queueAgeAlarms = new Map(
      jobQueues.map(([label, { queue, runbook, ageThresholdSeconds = queueAgeSeconds }]) => [
        label,
        alarm(`${pascal(label)}AgeAlarm`, {
          metric: oldestAge(queue, undefined, fiveMinutes),
          alarmDescription: `ScaiVault: the oldest message in queue ${label} is over ${ageThresholdSeconds} s old; its worker is not draining it${runbook ? ` (runbook: ${runbook})` : ''}`,
          threshold: ageThresholdSeconds,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
        }),
      ]),
    );

    this.signalAlarms = signalAlarmsOf(alarm, namespace);

    const wide = { width: 12, height: 6 };
    const perFunction = (metric: (fn: VaultFunction) => cloudwatch.IMetric) => props.functions.map(metric);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName ?? 'ScaiVault',
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Requests by outcome (EMF)',
        left: [
          emf('Requests', cloudwatch.Stats.SUM, 'requests'),
          emf('Errors5xx', cloudwatch.Stats.SUM, '5xx'),
          emf('Errors4xx', cloudwatch.Stats.SUM, '4xx'),
          emf('Throttles', cloudwatch.Stats.SUM, '429 throttled'),
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: '5xx rate (%)',
        left: [errorRate],
        leftAnnotations: [{ value: thresholds.errorRatePercent ?? 1, label: 'alarm' }],
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Latency p50 / p95 / p99 (ms)',
        left: [emf('Latency', cloudwatch.Stats.p(50), 'p50'), emf('Latency', cloudwatch.Stats.p(95), 'p95'), emf('Latency', cloudwatch.Stats.p(99), 'p99')],
        leftAnnotations: [{ value: thresholds.p95LatencyMs ?? 1000, label: 'p95 alarm' }],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queue depth',
        left: Object.entries(props.deadLetterQueues).map(([label, queue]) => dlqDepth(queue, label)),
        leftYAxis: { min: 0 },
        ...wide,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda errors and throttles',
        left: perFunction((fn) => fn.function.metricErrors({ statistic: cloudwatch.Stats.SUM, label: `${fn.name} errors` })),
        right: perFunction((fn) => fn.function.metricThrottles({ statistic: cloudwatch.Stats.SUM, label: `${fn.name} throttles` })),
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Lambda duration (ms) and concurrency',
        left: perFunction((fn) => fn.function.metricDuration({ statistic: cloudwatch.Stats.p(95), label: `${fn.name} p95` })),
        right: perFunction((fn) => fn.function.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, label: `${fn.name} concurrency` })),
        ...wide,
      }),
    );
    if (jobQueues.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Job queues: visible messages and age of the oldest (s)',
          left: jobQueues.map(([label, { queue }]) =>
            queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: `${label} visible` }),
          ),
          right: jobQueues.map(([label, { queue }]) => oldestAge(queue, `${label} oldest`)),
          rightAnnotations: [{ value: queueAgeSeconds, label: 'age alarm' }],
          leftYAxis: { min: 0 },
          rightYAxis: { min: 0 },
          width: 24,
          height: 6,
        }),
      );
    }
    if (props.stage) {
      const stage = props.stage;
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'HTTP API requests and errors',
          left: [
            stage.metricCount({ statistic: cloudwatch.Stats.SUM, label: 'requests' }),
            stage.metricClientError({ statistic: cloudwatch.Stats.SUM, label: '4xx' }),
            stage.metricServerError({ statistic: cloudwatch.Stats.SUM, label: '5xx' }),
          ],
          ...wide,
        }),
        new cloudwatch.GraphWidget({
          title: 'HTTP API latency p95 (ms)',
          left: [
            stage.metricLatency({ statistic: cloudwatch.Stats.p(95), label: 'total' }),
            stage.metricIntegrationLatency({ statistic: cloudwatch.Stats.p(95), label: 'integration' }),
          ],
          ...wide,
        }),
      );
    }
    // What must page, from the workers and the scheduler: each signal beside its alarm threshold.
    this.dashboard.addWidgets(
      ...[...this.signalAlarms].map(
        ([signal, signalAlarm]) => new cloudwatch.AlarmWidget({ title: CLOUDWATCH_SIGNALS[signal].name, alarm: signalAlarm, width: 6, height: 5 }),
      ),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }));
  }
}

const signalAlarmsOf = (
  alarm: (alarmId: string, alarmProps: cloudwatch.AlarmProps) => cloudwatch.Alarm,
  namespace: string,
): Map<CloudWatchSignal, cloudwatch.Alarm> =>
  new Map(
    (Object.keys(SIGNAL_ALARMS) as CloudWatchSignal[]).map((signal) => {
      const spec = SIGNAL_ALARMS[signal];
      const created = alarm(`${pascal(signal)}SignalAlarm`, {
        metric: new cloudwatch.Metric({
          namespace,
          metricName: CLOUDWATCH_SIGNALS[signal].name,
          dimensionsMap: { service: SIGNALS_SERVICE },
          statistic: spec.statistic,
          period: Duration.minutes(spec.periodMinutes),
        }),
        alarmDescription: `ScaiVault: ${spec.description} (runbook: ${spec.runbook})`,
        threshold: spec.threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: spec.evaluationPeriods,
        ...(spec.missingBreaches ? { treatMissingData: cloudwatch.TreatMissingData.BREACHING } : {}),
      });
      return [signal, created];
    }),
  );

const pascal = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

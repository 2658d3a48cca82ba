import { SignalDashboards } from './signal-dashboards.js';
import { type AuditSettings, auditSettingsEnvironment } from './audit-settings.js';
import { CfnOutput, Duration, Stack, Validations, type StackProps } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  API_FUNCTION,
  AUDIT_EXPORT_FUNCTION,
  AUDIT_EXPORT_QUEUE,
  ENV,
  METRICS_TABLE,
  ROTATION_QUEUE,
  ROTATION_WORKER_FUNCTION,
  SCHEDULER_FUNCTION,
  STATE_TABLE,
  WEBHOOK_QUEUE,
  WEBHOOK_WORKER_FUNCTION,
  type FunctionDefinition,
  type QueueDefinition,
  type QueueTrigger,
} from '../functions/runtime/definitions.js';
import { METRICS_NAMESPACE, VaultObservability, adotCollectorLayerArn, type AlarmThresholds, type PrometheusWorkspaceRef } from './observability.js';
import { JOB_RECORD_ACTIONS, VaultFunction, type AuditTrailProps, type QueueSourceOptions, type TelemetryProps } from './vault-function.js';
import type { VaultBackups } from './backups.js';

export interface ApiThrottle {
  /** Steady-state requests per second across the stage. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface StatelessStackProps extends StackProps {
  readonly key: kms.IKey;
  readonly stateTable: dynamodb.ITable;
  /** Where api instances flush their metrics for fleet-wide totals. */
  readonly metricsTable: dynamodb.ITable;
  /** Append-only audit events and sealed blocks; every function writes events. */
  readonly auditTable: dynamodb.ITable;
  readonly rotationQueue: sqs.IQueue;
  readonly webhookQueue: sqs.IQueue;
  /** Audit export jobs, run by the audit-export function. */
  readonly auditExportQueue: sqs.IQueue;
  /** Sealed-chain anchors and audit exports (object lock). */
  readonly auditBucket: s3.IBucket;
  readonly rootTokenSecret: secretsmanager.ISecret;
  /** Bearer token for /v1/metrics. */
  readonly metricsTokenSecret: secretsmanager.ISecret;
  /** Dead-letter queues by label, for the dashboard and depth alarms. */
  readonly deadLetterQueues: Readonly<Record<string, sqs.IQueue>>;
  /** The Amazon Managed Prometheus workspace every function remote-writes into. */
  readonly prometheus: PrometheusWorkspaceRef;
  /** Alarm and OK notifications. @default a topic of this stack's own */
  readonly alarmTopic?: sns.ITopic;
  /** `deployment.environment` on traces and metrics. @default 'production' */
  readonly stage?: string;
  /** ADOT collector layer for arm64. @default adotCollectorLayerArn(this.region) */
  readonly adotCollectorLayerArn?: string;
  /** Share of root traces kept, 0..1. @default 1 */
  readonly tracesSampleRatio?: number;
  readonly alarmThresholds?: AlarmThresholds;
  /** @default 100 requests/s, burst 200 */
  readonly apiThrottle?: ApiThrottle;
  /** SCAIVAULT_SYSLOG_URL of every function: an RFC 5424 relay (udp://, tcp:// or tls://) for a copy of each audit event. @default none */
  readonly syslogUrl?: string;
  /** Syslog settings (facility, hostname, app name, buffer, the relay's CA) and sensitive paths; `syslog.url` wins over syslogUrl. @default none */
  readonly auditSettings?: AuditSettings;
  /** SCAIVAULT_RATE_LIMITS for the api, e.g. `read=100/1s,write=20/1s`. @default the api's built-in limits */
  readonly rateLimits?: string;
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /** Directory of prebuilt bundles. @default dist/functions */
  readonly bundleDir?: string;
  /** The tables' backups: the scheduler exports every table into its bucket. @default no exports */
  readonly backups?: VaultBackups;
}

/** The construct props of one entry of the runtime's function table. */
const functionProps = (definition: FunctionDefinition) => ({
  name: definition.name,
  description: definition.description,
  timeout: Duration.seconds(definition.timeoutSeconds),
  memorySize: definition.memoryMb,
});

/** The event source mapping of a queue-triggered function, as the runtime's function table has it. */
const queueSource = ({ trigger }: FunctionDefinition<QueueTrigger>): [QueueDefinition, QueueSourceOptions] => {
  const { queue, batchSize, maxBatchingWindowSeconds, maxConcurrency } = trigger;
  return [
    queue,
    { batchSize, maxConcurrency, maxBatchingWindow: maxBatchingWindowSeconds === undefined ? undefined : Duration.seconds(maxBatchingWindowSeconds) },
  ];
};

// A retried export is already 15 minutes old (the visibility timeout): alarm only once its three attempts are overdue.
const AUDIT_EXPORT_QUEUE_AGE_SECONDS = 3600;

/** Two scheduler ticks: a missed tick still serves the view; past that a scrape merges the fleet itself. */
const FLEET_VIEW_MAX_AGE_SECONDS = 2 * 60 * SCHEDULER_FUNCTION.trigger.rateMinutes;

// HTTP API context variables only; never headers, so no token reaches the log.
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
};

/**
 * The api function and its HTTP API, the rotation, webhook and audit-export
 * workers on their queues, the scheduler on a one-minute rule, all on top of
 * the stateful stack's resources, with ADOT on every function and the
 * CloudWatch dashboard and alarms.
 */
export class StatelessStack extends Stack {
  readonly api: VaultFunction;
  /** Runs rotation jobs from the rotation queue. */
  readonly rotationWorker: VaultFunction;
  /** Delivers webhooks from the webhook queue. */
  readonly webhookWorker: VaultFunction;
  /** Submits due rotations, re-sends lost jobs and seals the audit trail, every minute. */
  readonly scheduler: VaultFunction;
  /** Streams audit exports to the audit bucket, from the audit-export queue. */
  readonly auditExport: VaultFunction;
  readonly schedule: events.Rule;
  readonly httpApi: apigwv2.HttpApi;
  readonly stage: apigwv2.HttpStage;
  readonly accessLogGroup: logs.LogGroup;
  readonly observability: VaultObservability;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    // Every function gets the same collector, workspace and stage.
    const telemetry: TelemetryProps = {
      collectorLayerArn: props.adotCollectorLayerArn ?? adotCollectorLayerArn(this.region),
      prometheus: props.prometheus,
      stage: props.stage ?? 'production',
      tracesSampleRatio: props.tracesSampleRatio,
      metricsNamespace: METRICS_NAMESPACE,
    };
    // Every function records audit events through the same trail.
    const auditTrail: AuditTrailProps = {
      table: props.auditTable,
      key: props.key,
      syslogUrl: props.auditSettings?.syslog?.url ?? props.syslogUrl,
      environment: auditSettingsEnvironment(props.auditSettings ?? {}),
    };

    // Scrapes serve the fleet view the scheduler stores every tick: one item read, whatever the fleet's size.
    const fleetView = { [ENV.metricsViewMaxAgeSeconds]: String(FLEET_VIEW_MAX_AGE_SECONDS) };
    this.api = new VaultFunction(this, 'Api', {
      ...functionProps(API_FUNCTION),
      logLevel: props.logLevel,
      logRetention,
      bundleDir: props.bundleDir,
      environment: { ...fleetView, ...(props.rateLimits ? { [ENV.rateLimits]: props.rateLimits } : {}) },
    })
      .bindStateTable(props.stateTable)
      .bindStateTable(props.metricsTable, METRICS_TABLE.envVar)
      .bindKey(props.key, 'administer')
      .bindQueue(props.rotationQueue, ROTATION_QUEUE.envVar, 'send')
      .bindQueue(props.webhookQueue, WEBHOOK_QUEUE.envVar, 'send')
      .bindQueue(props.auditExportQueue, AUDIT_EXPORT_QUEUE.envVar, 'send')
      .bindAuditTrail(auditTrail)
      .bindAuditBucket(props.auditBucket, 'verify')
      .bindPki(props.auditBucket)
      .bindRootTokenSecret(props.rootTokenSecret)
      .bindMetricsTokenSecret(props.metricsTokenSecret)
      .bindTelemetry(telemetry);

    const workerProps = { logLevel: props.logLevel, logRetention, bundleDir: props.bundleDir };

    // Seals new versions under the secret's existing data key (Decrypt only); its events fan out to webhook jobs.
    this.rotationWorker = new VaultFunction(this, 'RotationWorker', {
      ...workerProps,
      ...functionProps(ROTATION_WORKER_FUNCTION),
    })
      .bindStateTable(props.stateTable)
      .bindStateTable(props.metricsTable, METRICS_TABLE.envVar)
      .bindKey(props.key, 'unwrap')
      .bindQueueSource(props.rotationQueue, ...queueSource(ROTATION_WORKER_FUNCTION))
      .bindQueue(props.webhookQueue, WEBHOOK_QUEUE.envVar, 'send')
      .bindAuditTrail(auditTrail)
      .bindTelemetry(telemetry);

    // Unwraps webhook signing secrets; backs off a failed delivery by changing its own message's visibility.
    this.webhookWorker = new VaultFunction(this, 'WebhookWorker', {
      ...workerProps,
      ...functionProps(WEBHOOK_WORKER_FUNCTION),
    })
      .bindStateTable(props.stateTable)
      .bindStateTable(props.metricsTable, METRICS_TABLE.envVar)
      .bindKey(props.key, 'unwrap')
      .bindQueueSource(props.webhookQueue, ...queueSource(WEBHOOK_WORKER_FUNCTION))
      .bindAuditTrail(auditTrail)
      .bindTelemetry(telemetry);

    // Reads the schedule index, writes job items, re-sends to every job queue, seals audit blocks
    // and anchors them in S3, keeps detection state in the state table, checks every readiness
    // dependency (the key's state included), remote-writes the fleet's metrics, and runs data-key
    // rotations (new keys on schedule, values re-sealed under them).
    this.scheduler = new VaultFunction(this, 'Scheduler', {
      ...workerProps,
      ...functionProps(SCHEDULER_FUNCTION),
      environment: fleetView,
    })
      .bindStateTable(props.stateTable)
      .bindStateTable(props.metricsTable, METRICS_TABLE.envVar)
      .bindAcmeDns()
      // Data-key rotation makes keys on schedule (GenerateDataKey) and re-seals under them (Decrypt); ACME seals certificate keys.
      .bindKey(props.key, 'envelope')
      .bindQueue(props.rotationQueue, ROTATION_QUEUE.envVar, 'send')
      .bindQueue(props.webhookQueue, WEBHOOK_QUEUE.envVar, 'send')
      .bindQueue(props.auditExportQueue, AUDIT_EXPORT_QUEUE.envVar, 'send')
      .bindAuditTrail(auditTrail)
      .bindAuditBucket(props.auditBucket, 'seal')
      .bindPki(props.auditBucket)
      .bindTelemetry(telemetry);
    if (props.backups) this.scheduler.bindBackupExports(props.backups, [props.stateTable, props.metricsTable, props.auditTable]);

    // Reads blocks and events of the trail, writes the export under audit/exports/, finishes its job record.
    this.auditExport = new VaultFunction(this, 'AuditExport', {
      ...workerProps,
      ...functionProps(AUDIT_EXPORT_FUNCTION),
    })
      .bindStateTable(props.stateTable, STATE_TABLE.envVar, JOB_RECORD_ACTIONS)
      .bindStateTable(props.metricsTable, METRICS_TABLE.envVar)
      .bindKey(props.key, 'none')
      .bindQueueSource(props.auditExportQueue, ...queueSource(AUDIT_EXPORT_FUNCTION))
      .bindAuditTrail(auditTrail)
      .bindAuditBucket(props.auditBucket, 'export')
      .bindTelemetry(telemetry);

    // Every tick redoes all due work with deterministic job ids, so a late or failed
    // tick is not worth retrying past the next one: no Lambda retries, events expire in a minute.
    this.scheduler.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    this.schedule = new events.Rule(this, 'SchedulerTick', {
      description: 'ScaiVault scheduler tick',
      schedule: events.Schedule.rate(Duration.minutes(SCHEDULER_FUNCTION.trigger.rateMinutes)),
      targets: [new targets.LambdaFunction(this.scheduler.function, { retryAttempts: 2, maxEventAge: Duration.minutes(1) })],
    });

    this.httpApi = new apigwv2.HttpApi(this, 'HttpApi', {
      apiName: 'scaivault',
      description: 'ScaiVault v1 API',
      createDefaultStage: false,
    });
    const integration = new HttpLambdaIntegration('ApiIntegration', this.api.function, {
      payloadFormatVersion: apigwv2.PayloadFormatVersion.VERSION_2_0,
    });
    this.httpApi.addRoutes({ path: '/', methods: [apigwv2.HttpMethod.ANY], integration });
    this.httpApi.addRoutes({ path: '/{proxy+}', methods: [apigwv2.HttpMethod.ANY], integration });
    Validations.of(this.httpApi).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'The api function authenticates every call itself: bearer tokens against their stored hashes, tenants and policies, /v1/metrics against the metrics token; only the liveness and readiness probes are open, by design.',
    });

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 },
      detailedMetricsEnabled: true,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    this.observability = new VaultObservability(this, 'Observability', {
      functions: [this.api, this.rotationWorker, this.webhookWorker, this.scheduler, this.auditExport],
      stage: this.stage,
      deadLetterQueues: props.deadLetterQueues,
      jobQueues: {
        [ROTATION_QUEUE.id]: { queue: props.rotationQueue, runbook: 'ScaiVaultRotationQueueStale' },
        [WEBHOOK_QUEUE.id]: { queue: props.webhookQueue, runbook: 'ScaiVaultWebhookQueueStale' },
        [AUDIT_EXPORT_QUEUE.id]: { queue: props.auditExportQueue, ageThresholdSeconds: AUDIT_EXPORT_QUEUE_AGE_SECONDS },
      },
      alarmTopic: props.alarmTopic,
      encryptionKey: props.key,
      metricsNamespace: METRICS_NAMESPACE,
      thresholds: props.alarmThresholds,
    });

    new SignalDashboards(this, 'SignalDashboards', {
      api: this.api,
      stage: this.stage,
      jobQueues: { [ROTATION_QUEUE.id]: props.rotationQueue, [WEBHOOK_QUEUE.id]: props.webhookQueue, [AUDIT_EXPORT_QUEUE.id]: props.auditExportQueue },
      metricsNamespace: METRICS_NAMESPACE,
    });

    new CfnOutput(this, 'HttpApiUrl', { value: this.stage.url, description: 'ScaiVault API base URL (paths start with /v1/)' });
    new CfnOutput(this, 'RootTokenSecretArn', {
      value: props.rootTokenSecret.secretArn,
      description:
        'Root token: read it once with `aws secretsmanager get-secret-value --secret-id <this ARN> --query SecretString --output text` (prefix svt_ if absent), then create narrower tokens',
    });
    new CfnOutput(this, 'MetricsTokenSecretArn', {
      value: props.metricsTokenSecret.secretArn,
      description:
        'Bearer token for GET /v1/metrics: write it to ops/prometheus secrets/scaivault-metrics-token, or inject it into the standalone ADOT collector as SCAIVAULT_METRICS_TOKEN; it rotates every 30 days and the previous one is accepted for a day, so refresh copies daily',
    });
    new CfnOutput(this, 'PrometheusRemoteWriteEndpoint', {
      value: props.prometheus.remoteWriteEndpoint,
      description: 'Amazon Managed Prometheus remote-write URL (AMP_REMOTE_WRITE_ENDPOINT of the standalone ADOT collector)',
    });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.observability.alarmTopic.topicArn,
      description: 'Subscribe on-call here: CloudWatch alarms and Prometheus alerts both publish to it',
    });
  }
}

// The security, audit-integrity and system-overview dashboards in CloudWatch,
// beside their Grafana twins in ops/grafana (scripts/signal-dashboards.ts).
// CloudWatch has the EMF signals, the api's request metrics and AWS's own
// metrics; the series only Prometheus has (audit events by type, tokens
// expiring, events unsealed, head block, dependency checks) are named in a
// text widget that points at the Grafana dashboard of the same name.
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CLOUDWATCH_SIGNALS, SIGNALS_SERVICE, type CloudWatchSignal } from '../functions/observability/cloudwatch-signals.js';
import { API_METRICS_SERVICE, METRICS_NAMESPACE } from './observability.js';
import type { VaultFunction } from './vault-function.js';

export interface SignalDashboardsProps {
  readonly api: VaultFunction;
  readonly stage?: apigwv2.IHttpStage;
  /** Job queues by label (rotation, webhook, audit-export, ...). */
  readonly jobQueues: Readonly<Record<string, sqs.IQueue>>;
  /** @default METRICS_NAMESPACE */
  readonly metricsNamespace?: string;
  /** Prefix of the three dashboards' names. @default 'ScaiVault' */
  readonly namePrefix?: string;
}

const wide = { width: 12, height: 6 };
const minute = Duration.minutes(1);

export class SignalDashboards extends Construct {
  readonly security: cloudwatch.Dashboard;
  readonly auditIntegrity: cloudwatch.Dashboard;
  readonly systemOverview: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SignalDashboardsProps) {
    super(scope, id);
    const namespace = props.metricsNamespace ?? METRICS_NAMESPACE;
    const prefix = props.namePrefix ?? 'ScaiVault';
    const request = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace, metricName, dimensionsMap: { service: API_METRICS_SERVICE }, statistic, period: minute, label });
    const signal = (name: CloudWatchSignal, statistic: string = cloudwatch.Stats.SUM) =>
      new cloudwatch.Metric({
        namespace,
        metricName: CLOUDWATCH_SIGNALS[name].name,
        dimensionsMap: { service: SIGNALS_SERVICE },
        statistic,
        period: minute,
        label: CLOUDWATCH_SIGNALS[name].name,
      });
    const board = (suffix: string, grafana: string, prometheusOnly: string) => {
      const dashboard = new cloudwatch.Dashboard(this, suffix.replace(/\W/g, ''), { dashboardName: `${prefix}-${suffix}`, defaultInterval: Duration.hours(6) });
      dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `Prometheus-only signals (Amazon Managed Prometheus, Grafana dashboard \`${grafana}\`): ${prometheusOnly}.`,
          width: 24,
          height: 2,
        }),
      );
      return dashboard;
    };

    this.security = board('Security', 'scaivault-security', 'policy violations and audit event rate by type, tokens expiring within 1h and 24h');
    this.security.addWidgets(
      new cloudwatch.GraphWidget({
        title: '401 and 403',
        left: [request('Unauthorized', cloudwatch.Stats.SUM, '401 unauthenticated'), request('Forbidden', cloudwatch.Stats.SUM, '403 forbidden')],
        ...wide,
      }),
      new cloudwatch.GraphWidget({ title: 'Rate-limit refusals (429)', left: [request('Throttles', cloudwatch.Stats.SUM, '429')], ...wide }),
      new cloudwatch.GraphWidget({ title: 'Audit detections', left: [signal('auditDetections')], ...wide }),
      new cloudwatch.GraphWidget({ title: 'Key-provider errors', left: [signal('kmsErrors')], ...wide }),
    );

    this.auditIntegrity = board('AuditIntegrity', 'scaivault-audit-integrity', 'events unsealed, chain head block, seals by result, seal duration');
    this.auditIntegrity.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Seal age (s)',
        left: [signal('auditSealAge', cloudwatch.Stats.MAXIMUM)],
        leftAnnotations: [
          { value: 900, label: 'delayed' },
          { value: 3600, label: 'critical' },
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({ title: 'Chain divergence', left: [signal('auditChainDivergence', cloudwatch.Stats.MAXIMUM)], ...wide }),
      new cloudwatch.GraphWidget({ title: 'Anchor failures', left: [signal('auditAnchorFailures')], ...wide }),
      new cloudwatch.GraphWidget({ title: 'Audit write failures', left: [signal('auditWriteFailures')], ...wide }),
    );

    this.systemOverview = board('SystemOverview', 'scaivault-system-overview', 'ready and dependency up, jobs by result, requests in flight by route');
    const errorShare = new cloudwatch.MathExpression({
      expression: '100 * errors / requests',
      usingMetrics: { errors: request('Errors5xx', cloudwatch.Stats.SUM, '5xx'), requests: request('Requests', cloudwatch.Stats.SUM, 'requests') },
      label: '5xx share (%)',
      period: minute,
    });
    const queues = Object.entries(props.jobQueues);
    this.systemOverview.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'P95 latency against the KPI (ms)',
        left: [request('Latency', cloudwatch.Stats.p(95), 'p95')],
        leftAnnotations: [
          { value: 200, label: 'target' },
          { value: 500, label: 'critical' },
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Error rate (%)',
        left: [errorShare],
        leftAnnotations: [
          { value: 0.1, label: 'target' },
          { value: 1, label: 'critical' },
        ],
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue depths and oldest age (s)',
        left: queues.map(([label, queue]) => queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, period: minute, label })),
        right: queues.map(([label, queue]) =>
          queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, period: minute, label: `${label} age` }),
        ),
        ...wide,
      }),
      new cloudwatch.GraphWidget({
        title: 'Requests in flight: api concurrency',
        left: [props.api.function.metric('ConcurrentExecutions', { statistic: cloudwatch.Stats.MAXIMUM, period: minute, label: 'api concurrency' })],
        ...wide,
      }),
      new cloudwatch.GraphWidget({ title: 'Publish failures', left: [signal('metricsPublishFailures')], ...wide }),
      ...(props.stage
        ? [
            new cloudwatch.GraphWidget({
              title: 'HTTP API 5xx',
              left: [props.stage.metricServerError({ statistic: cloudwatch.Stats.SUM, period: minute, label: '5xx' })],
              ...wide,
            }),
          ]
        : []),
    );
  }
}

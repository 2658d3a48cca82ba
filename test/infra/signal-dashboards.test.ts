import { rmSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchRequestMetrics } from '../../functions/observability/cloudwatch-metrics.js';
import { CLOUDWATCH_SIGNALS } from '../../functions/observability/cloudwatch-signals.js';
import { SignalDashboards } from '../../lib/signal-dashboards.js';
import { VaultFunction } from '../../lib/vault-function.js';
import { ENV, handlerBundleDir } from './support/synth.js';

// The three CloudWatch dashboards read only metrics the code emits: EMF request
// metrics (captured from a real record), EMF signals, and AWS's own.

/** The EMF metric names one request record writes to stdout. */
const emittedRequestMetrics = (): string[] => {
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stdout.write;
  try {
    new CloudWatchRequestMetrics('ScaiVault', 'scaivault-api').record({ status: 401, latencyMs: 5 });
  } finally {
    process.stdout.write = write;
  }
  return lines.flatMap((line) => (JSON.parse(line)._aws.CloudWatchMetrics[0].Metrics as { Name: string }[]).map((metric) => metric.Name));
};

describe('signal dashboards in CloudWatch', () => {
  let bundleDir: string;
  let bodies: Record<string, string>;

  beforeAll(async () => {
    bundleDir = await handlerBundleDir('api', 'export const handler = async () => undefined;');
    const stack = new Stack(new App(), 'S', { env: ENV });
    const api = new VaultFunction(stack, 'Api', { name: 'api', bundleDir });
    const jobQueues = { rotation: new sqs.Queue(stack, 'Rotation'), webhook: new sqs.Queue(stack, 'Webhook'), 'audit-export': new sqs.Queue(stack, 'Export') };
    new SignalDashboards(stack, 'Dashboards', { api, jobQueues });
    const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
    bodies = Object.fromEntries(
      Object.values(dashboards).map((resource: any) => [resource.Properties.DashboardName, JSON.stringify(resource.Properties.DashboardBody)]),
    );
  });

  afterAll(() => rmSync(bundleDir, { recursive: true, force: true }));

  it('makes the security, audit-integrity and system-overview dashboards', () => {
    expect(Object.keys(bodies).sort()).toEqual(['ScaiVault-AuditIntegrity', 'ScaiVault-Security', 'ScaiVault-SystemOverview']);
  });

  it('reads request metrics the api emits and signals the code defines', () => {
    const emitted = emittedRequestMetrics();
    expect(emitted).toEqual(expect.arrayContaining(['Unauthorized', 'Forbidden', 'Throttles', 'Latency', 'Errors5xx', 'Requests']));
    for (const name of ['Unauthorized', 'Forbidden', 'Throttles']) expect(bodies['ScaiVault-Security']).toContain(`\\"${name}\\"`);
    for (const signal of ['auditSealAge', 'auditChainDivergence', 'auditAnchorFailures', 'auditWriteFailures'] as const) {
      expect(bodies['ScaiVault-AuditIntegrity']).toContain(`\\"${CLOUDWATCH_SIGNALS[signal].name}\\"`);
    }
  });

  it("draws reference 004's latency KPI lines and the api's concurrency as requests in flight", () => {
    const overview = bodies['ScaiVault-SystemOverview']!;
    expect(overview).toMatch(/\\"value\\":200,\\"label\\":\\"target\\"/);
    expect(overview).toMatch(/\\"value\\":500,\\"label\\":\\"critical\\"/);
    expect(overview).toContain('ConcurrentExecutions');
    expect(overview).toContain('ApproximateAgeOfOldestMessage');
  });
});

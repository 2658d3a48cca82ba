// CDK app: builds the Lambda bundles, then defines the stateful and stateless stacks.
// `npx cdk synth` runs this through tsx and needs no network or credentials.
import { alarmSubscribersFromContext } from '../lib/alarm-subscribers.js';
import { auditSettingsFromContext } from '../lib/audit-settings.js';
import { readFileSync } from 'node:fs';
import { App, Duration, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mergePrometheusRuleFiles } from '../lib/observability.js';
import { StatefulStack, type AuditRetentionMode } from '../lib/stateful-stack.js';
import { StatelessStack } from '../lib/stateless-stack.js';
import { buildFunctions } from '../scripts/build.js';

await buildFunctions();

const app = new App();
// cdk-nag's AwsSolutions checks run on every synth: a finding that lib/ neither fixes nor
// acknowledges with its reason is reported and fails the synth.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
// Optional context: `cdk deploy -c scaivault:stage=staging -c scaivault:adotCollectorLayerArn=arn:...`,
// also tracesSampleRatio, syslogUrl (tls://siem.example.com:6514), auditRetentionDays and auditRetentionMode;
// syslogFacility, syslogHostname, syslogAppName, syslogBufferSize, syslogCaFile and auditSensitivePaths (lib/audit-settings.ts);
// alarmEmails, alarmSlackWorkspace and alarmSlackChannel (lib/alarm-subscribers.ts).
const context = (key: string): string | undefined => app.node.tryGetContext(`scaivault:${key}`) as string | undefined;
const numberContext = (key: string): number | undefined => {
  const raw = context(key);
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`context scaivault:${key} must be a number, got "${raw}"`);
  return value;
};
const retentionMode = context('auditRetentionMode');
if (retentionMode !== undefined && retentionMode !== 'governance' && retentionMode !== 'compliance') {
  throw new Error(`context scaivault:auditRetentionMode must be governance or compliance, got "${retentionMode}"`);
}
const retentionDays = numberContext('auditRetentionDays');

// The alert and recording rules Prometheus users load from ops/prometheus, into the AMP workspace.
const prometheusRules = mergePrometheusRuleFiles(
  ['alerts.yml', 'recording-rules.yml'].map((file) => readFileSync(new URL(`../ops/prometheus/${file}`, import.meta.url), 'utf8')),
);

const stateful = new StatefulStack(app, 'ScaiVaultStateful', {
  env,
  description: 'ScaiVault stateful resources: KMS key, tables, queues, audit bucket, tokens, Prometheus workspace, alarm topic',
  terminationProtection: true,
  prometheusRules,
  auditRetention: retentionDays === undefined ? undefined : Duration.days(retentionDays),
  auditRetentionMode: retentionMode as AuditRetentionMode | undefined,
  backupVaultLockDays: numberContext('backupVaultLockDays'),
  alarmSubscribers: alarmSubscribersFromContext((key) => app.node.tryGetContext(`scaivault:${key}`)),
});

new StatelessStack(app, 'ScaiVaultStateless', {
  env,
  description: 'ScaiVault functions, HTTP API, dashboard and alarms',
  key: stateful.key,
  stateTable: stateful.stateTable,
  metricsTable: stateful.metricsTable,
  auditTable: stateful.auditTable,
  rotationQueue: stateful.rotationQueue,
  webhookQueue: stateful.webhookQueue,
  auditExportQueue: stateful.auditExportQueue,
  auditBucket: stateful.auditBucket,
  rootTokenSecret: stateful.rootTokenSecret,
  metricsTokenSecret: stateful.metricsTokenSecret,
  deadLetterQueues: stateful.deadLetterQueues,
  prometheus: stateful.prometheus,
  alarmTopic: stateful.alarmTopic,
  stage: context('stage'),
  adotCollectorLayerArn: context('adotCollectorLayerArn'),
  tracesSampleRatio: numberContext('tracesSampleRatio'),
  syslogUrl: context('syslogUrl'),
  auditSettings: auditSettingsFromContext(context),
  backups: stateful.backups,
});

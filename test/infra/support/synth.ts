import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { TableDefinition } from '../../../functions/runtime/definitions.js';
import { mergePrometheusRuleFiles } from '../../../lib/observability.js';
import { StatefulStack } from '../../../lib/stateful-stack.js';
import { StatelessStack } from '../../../lib/stateless-stack.js';
import type { VaultFunction } from '../../../lib/vault-function.js';
import { buildFunctions } from '../../../scripts/build.js';
import { opsPath } from '../../ops/support/ops-files.js';

// Synthesized CloudFormation is untyped JSON.
export type Json = any;

export const ENV = { account: '123456789012', region: 'eu-west-1' };
export const RULE_FILES = ['alerts.yml', 'recording-rules.yml'] as const;

export interface Synthesized {
  readonly statefulStack: StatefulStack;
  readonly statelessStack: StatelessStack;
  readonly stateful: Template;
  readonly stateless: Template;
  readonly statefulJson: Json;
  readonly statelessJson: Json;
  /** Where the bundles (and their collector.yaml) were built. */
  readonly bundleDir: string;
  /** Removes the bundle directory. */
  readonly dispose: () => Promise<void>;
}

/** A bundle directory holding one function's `index.mjs`, for constructs synthesized without a build. */
export const handlerBundleDir = async (name: string, handlerSource: string): Promise<string> => {
  const dir = await mkdtemp(join(tmpdir(), 'scaivault-bundle-'));
  await mkdir(join(dir, name));
  await writeFile(join(dir, name, 'index.mjs'), handlerSource);
  return dir;
};

export const readRuleFiles = (): Promise<string[]> => Promise.all(RULE_FILES.map((file) => readFile(opsPath('prometheus', file), 'utf8')));

export interface DefinedApp {
  readonly app: App;
  readonly statefulStack: StatefulStack;
  readonly statelessStack: StatelessStack;
  /** Where the bundles (and their collector.yaml) were built. */
  readonly bundleDir: string;
  /** Removes the bundle directory. */
  readonly dispose: () => Promise<void>;
}

/** Both stacks wired as bin/scaivault.ts wires them, from freshly built bundles, with cdk.json's feature flags; not yet synthesized. */
export const defineApp = async (): Promise<DefinedApp> => {
  const bundleDir = await mkdtemp(join(tmpdir(), 'scaivault-infra-'));
  await buildFunctions({ outDir: bundleDir });
  // Same feature flags as `cdk synth`, so the assertions hold for what gets deployed.
  const { context } = JSON.parse(await readFile(new URL('../../../cdk.json', import.meta.url), 'utf8'));
  const app = new App({ context });
  const statefulStack = new StatefulStack(app, 'Stateful', {
    env: ENV,
    prometheusRules: mergePrometheusRuleFiles(await readRuleFiles()),
    bundleDir,
  });
  const statelessStack = new StatelessStack(app, 'Stateless', {
    env: ENV,
    key: statefulStack.key,
    stateTable: statefulStack.stateTable,
    metricsTable: statefulStack.metricsTable,
    auditTable: statefulStack.auditTable,
    rotationQueue: statefulStack.rotationQueue,
    webhookQueue: statefulStack.webhookQueue,
    auditExportQueue: statefulStack.auditExportQueue,
    auditBucket: statefulStack.auditBucket,
    rootTokenSecret: statefulStack.rootTokenSecret,
    metricsTokenSecret: statefulStack.metricsTokenSecret,
    deadLetterQueues: statefulStack.deadLetterQueues,
    prometheus: statefulStack.prometheus,
    alarmTopic: statefulStack.alarmTopic,
    stage: 'test',
    bundleDir,
    backups: statefulStack.backups,
  });
  return { app, statefulStack, statelessStack, bundleDir, dispose: () => rm(bundleDir, { recursive: true, force: true }) };
};

/** Both stacks wired as bin/scaivault.ts wires them, synthesized. */
export const synthesize = async (): Promise<Synthesized> => {
  const { statefulStack, statelessStack, bundleDir, dispose } = await defineApp();
  const stateful = Template.fromStack(statefulStack);
  const stateless = Template.fromStack(statelessStack);
  return {
    statefulStack,
    statelessStack,
    stateful,
    stateless,
    statefulJson: stateful.toJSON(),
    statelessJson: stateless.toJSON(),
    bundleDir,
    dispose,
  };
};

export const logicalId = (stack: Stack, construct: IConstruct): string => {
  const element = (construct.node.defaultChild ?? construct) as CfnElement;
  return stack.getLogicalId(element);
};
export const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
export const refOf = (id: string) => ({ Ref: id });
export const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Replaces cross-stack reads with the expression the stateful stack publishes. */
export const resolveImports = (statefulJson: Json, value: Json): Json => {
  if (Array.isArray(value)) return value.map((v) => resolveImports(statefulJson, v));
  if (value === null || typeof value !== 'object') return value;
  const outputs: Record<string, Json> = statefulJson.Outputs ?? {};
  if ('Fn::GetStackOutput' in value) {
    const output = outputs[value['Fn::GetStackOutput'].OutputName];
    if (!output) throw new Error(`no stateful output ${value['Fn::GetStackOutput'].OutputName}`);
    return output.Value;
  }
  if ('Fn::ImportValue' in value) {
    const output = Object.values(outputs).find((o: Json) => o.Export?.Name === value['Fn::ImportValue']);
    if (!output) throw new Error(`no stateful export ${value['Fn::ImportValue']}`);
    return output.Value;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveImports(statefulJson, v)]));
};

export interface Statement {
  readonly sid: string | undefined;
  readonly actions: string[];
  readonly resources: Json[];
  readonly condition: Json;
  readonly effect: string;
}

/** Every statement in the identity policies attached to a function's role, cross-stack refs resolved. */
export const roleStatements = (synth: Synthesized, fn: VaultFunction): Statement[] => {
  const { statelessStack, statelessJson, statefulJson } = synth;
  const roleId = logicalId(statelessStack, fn.function.role!);
  const policies = Object.values(statelessJson.Resources as Record<string, Json>).filter(
    (r) => r.Type === 'AWS::IAM::Policy' && asArray(r.Properties.Roles).some((role: Json) => role.Ref === roleId),
  );
  const role = statelessJson.Resources[roleId];
  const inline = asArray(role.Properties.Policies).map((p: Json) => p.PolicyDocument);
  return [...policies.map((p) => p.Properties.PolicyDocument), ...inline].flatMap((doc: Json) =>
    asArray(doc.Statement).map((s: Json) => ({
      sid: s.Sid,
      actions: asArray<string>(s.Action),
      resources: resolveImports(statefulJson, asArray(s.Resource)),
      condition: s.Condition,
      effect: s.Effect,
    })),
  );
};

/** The PKI's grants (VaultFunction.bindPki): checked on their own in stacks.test.ts, left out of the data-service checks. */
export const PKI_SIDS: ReadonlySet<string> = new Set(['PkiCrls', 'PkiCrlsKey', 'PkiCaKeyCreate', 'PkiCaKeyUse']);
export const withoutPki = (statements: Statement[]): Statement[] => statements.filter((s) => !PKI_SIDS.has(s.sid ?? ''));

export const forService = (statements: Statement[], service: string) =>
  statements.filter((s) => s.actions.some((a) => a === '*' || a.startsWith(`${service}:`)));

/** Actions granted on each resource (keyed by its JSON) across statements, sorted. */
export const actionsByResource = (statements: Statement[]): Map<string, string[]> => {
  const grants = new Map<string, Set<string>>();
  for (const s of statements) {
    for (const resource of s.resources) {
      const key = JSON.stringify(resource);
      for (const action of s.actions) grants.set(key, (grants.get(key) ?? new Set()).add(action));
    }
  }
  return new Map([...grants].map(([resource, actions]) => [resource, [...actions].sort()]));
};

/** The ARN of each index a table's definition names, as the stateless stack grants them. */
export const indexArns = (tableId: string, definition: TableDefinition): Json[] =>
  definition.globalSecondaryIndexes.map((index) => ({ 'Fn::Join': ['', [arnOf(tableId), `/index/${index.indexName}`]] }));

/** An object ARN pattern of a bucket, as `bucket.arnForObjects(pattern)` writes it. */
export const objectArn = (bucketId: string, pattern: string): Json => ({ 'Fn::Join': ['', [arnOf(bucketId), `/${pattern}`]] });

/** Whether an IAM action pattern (`dynamodb:*`, `dynamodb:Update*`, `*`) allows `action`. */
export const allowsAction = (pattern: string, action: string): boolean =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  ).test(action);

/** Every identity-policy statement of every role and policy in a template, cross-stack refs resolved. */
export const allPolicyStatements = (synth: Synthesized, json: Json): Statement[] =>
  Object.values(json.Resources as Record<string, Json>).flatMap((resource) => {
    const documents =
      resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
        ? [resource.Properties.PolicyDocument]
        : resource.Type === 'AWS::IAM::Role'
          ? asArray(resource.Properties.Policies).map((p: Json) => p.PolicyDocument)
          : [];
    return documents.flatMap((doc: Json) =>
      asArray(doc.Statement).map((s: Json) => ({
        sid: s.Sid,
        actions: asArray<string>(s.Action),
        resources: resolveImports(synth.statefulJson, asArray(s.Resource)),
        condition: s.Condition,
        effect: s.Effect,
      })),
    );
  });

export interface DashboardBody {
  readonly widgets: Json[];
  /** The cross-stack-resolved expression a placeholder stands for; anything else unchanged. */
  readonly token: (placeholder: unknown) => Json;
}

/**
 * The main dashboard's widgets. Its body is a Fn::Join of JSON text and tokens;
 * every token sits inside a JSON string, so swapping each for a placeholder
 * leaves parseable JSON.
 */
export const dashboardBody = (synth: Synthesized): DashboardBody => {
  // The signal dashboards (lib/signal-dashboards.ts) have names of their own.
  const dashboards = Object.values(synth.stateless.findResources('AWS::CloudWatch::Dashboard')).filter(
    (dashboard) => dashboard.Properties.DashboardName === 'ScaiVault',
  );
  if (dashboards.length !== 1) throw new Error(`expected one dashboard, found ${dashboards.length}`);
  const body = dashboards[0]!.Properties.DashboardBody;
  const parts: Json[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const tokens: Json[] = [];
  const text = parts.map((part) => (typeof part === 'string' ? part : `__token_${tokens.push(resolveImports(synth.statefulJson, part)) - 1}__`)).join('');
  const token = (placeholder: unknown) => {
    const match = typeof placeholder === 'string' ? /^__token_(\d+)__$/.exec(placeholder) : null;
    return match ? tokens[Number(match[1])] : placeholder;
  };
  return { widgets: JSON.parse(text).widgets, token };
};

const metricRows = (widget: Json): Json[][] => asArray(widget.properties?.metrics);

/** Rows naming a metric as [namespace, name, dim, value, ..., options?], with "..." shorthand absent (CDK writes full rows). */
export const rowsFor = (widgets: Json[], namespace: string, metricName: string): Json[][] =>
  widgets.flatMap(metricRows).filter((row) => row[0] === namespace && row[1] === metricName);

/** Every metric row of every widget. */
export const allRows = (widgets: Json[]): Json[][] => widgets.flatMap(metricRows);

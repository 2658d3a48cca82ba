import { App, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acknowledgeWildcardResources } from '../../lib/nag.js';
import { ENV, defineApp, type DefinedApp } from './support/synth.js';

/** Every finding the AwsSolutions pack still reports under `scope`, acknowledged ones left out. */
const unacknowledged = (scope: IConstruct): string[] =>
  new AwsSolutionsChecks()
    .validateScope(scope)
    .violations.flatMap((v) => v.violatingResources.map((r) => `${v.severity} ${v.ruleName} at ${r.constructPath}`))
    .sort();

interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
  readonly path: string;
}

const acknowledgements = (scope: IConstruct): Acknowledgement[] =>
  scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          id: id.replace(/^annotation::/i, ''),
          reason,
          path: construct.node.path,
        })),
      ),
  );

describe("cdk-nag's AwsSolutions checks", () => {
  let defined: DefinedApp;
  let synthError: unknown;

  beforeAll(async () => {
    defined = await defineApp();
    // Registered as bin/scaivault.ts registers them: an unacknowledged finding fails the synthesis.
    Validations.of(defined.app).addPlugins(new AwsSolutionsChecks(defined.app));
    try {
      defined.app.synth();
    } catch (error) {
      synthError = error;
    }
  });

  afterAll(async () => {
    await defined?.dispose();
  });

  it('find nothing unacknowledged in either stack, errors and warnings alike, and let the app synthesize', () => {
    // Checked after synthesis: acknowledgements naming the other stack's resources are recorded then.
    expect(unacknowledged(defined.app)).toEqual([]);
    expect(synthError).toBeUndefined();
  });

  it('are acknowledged only where nothing could be fixed, each finding by name and with its reason', () => {
    const acks = acknowledgements(defined.app).filter((ack) => ack.id.startsWith('AwsSolutions-'));
    // Access logs of the audit bucket and scoped log permissions are fixed, not acknowledged.
    expect([...new Set(acks.map((ack) => ack.id.replace(/\[.*$/, '')))].sort()).toEqual([
      'AwsSolutions-APIG4',
      'AwsSolutions-IAM5',
      'AwsSolutions-S1',
      'AwsSolutions-SMG4',
    ]);
    expect(acks.filter((ack) => ack.id === 'AwsSolutions-S1').map((ack) => ack.path)).toEqual([defined.statefulStack.accessLogBucket.node.path]);
    // The metrics token rotates on a schedule; only the bootstrap root token is left unrotated.
    expect(acks.filter((ack) => ack.id === 'AwsSolutions-SMG4').map((ack) => ack.path)).toEqual([defined.statefulStack.rootTokenSecret.node.path]);
    for (const ack of acks) {
      if (ack.id.startsWith('AwsSolutions-IAM5')) expect(ack.id).toMatch(/^AwsSolutions-IAM5\[(Action|Resource)::.+\]$/);
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(60);
    }
  });

  it('acknowledge a wildcard resource of another stack by name, leaving any other wildcard of the same policy reported', () => {
    const app = new App();
    const bucket = new s3.Bucket(new Stack(app, 'Producer', { env: ENV }), 'Bucket');
    const consumer = new Stack(app, 'Consumer', { env: ENV });
    const role = new iam.Role(consumer, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('a/*'), bucket.arnForObjects('b/*')] }));
    acknowledgeWildcardResources(role, [bucket.arnForObjects('a/*')], 'Objects under a/ are named at run time.');
    app.synth();
    const findings = unacknowledged(consumer);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatch(/^error AwsSolutions-IAM5\[Resource::.*\/b\/\*\] at Consumer\/Role\/DefaultPolicy\/Resource$/);
  });

  it('fail a synthesis on a finding nobody acknowledged', () => {
    const app = new App();
    new s3.Bucket(new Stack(app, 'Bare'), 'Bucket');
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    expect(() => app.synth()).toThrow(/AwsSolutions-S1/);
    expect(unacknowledged(app)).toContain('error AwsSolutions-S1 at Bare/Bucket/Resource');
  });
});

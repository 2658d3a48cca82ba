import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV as VARS } from '../../functions/runtime/definitions.js';
import { VaultBackups } from '../../lib/backups.js';
import { asArray, type Json, logicalId, type Synthesized, synthesize } from './support/synth.js';

let synth: Synthesized;
beforeAll(async () => void (synth = await synthesize()), 180_000);
afterAll(() => synth?.dispose());

const tableIds = () => [...synth.statefulStack.tables.values()].map((table) => logicalId(synth.statefulStack, table));

describe('backups of every table', () => {
  it('back up every table in TABLES daily and weekly into a vault encrypted with the stack key, unlocked by default', () => {
    const { stateful, statefulStack } = synth;
    stateful.hasResourceProperties('AWS::Backup::BackupVault', {
      EncryptionKeyArn: { 'Fn::GetAtt': [logicalId(statefulStack, statefulStack.key), 'Arn'] },
      LockConfiguration: Match.absent(),
    });
    const plan = Object.values(stateful.findResources('AWS::Backup::BackupPlan'))[0] as Json;
    const rules = plan.Properties.BackupPlan.BackupPlanRule as Json[];
    expect(rules.map((r) => [r.RuleName, r.ScheduleExpression, r.Lifecycle.DeleteAfterDays])).toEqual([
      ['Daily', 'cron(0 3 * * ? *)', 35],
      ['Weekly', 'cron(0 4 ? * SUN *)', 365],
    ]);
    const selection = Object.values(stateful.findResources('AWS::Backup::BackupSelection'))[0] as Json;
    const resources = asArray(selection.Properties.BackupSelection.Resources).map((r: Json) => r['Fn::GetAtt'][0]);
    expect(resources.sort()).toEqual(tableIds().sort());
    // Its own role, scoped to these tables: no managed policy reaching every table of the account.
    const role = stateful.findResources('AWS::IAM::Role', {
      Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'backup.amazonaws.com' } })] } },
    });
    const [backupRole] = Object.values(role) as Json[];
    expect(backupRole.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = backupRole.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
    expect(statements.flatMap((s: Json) => asArray(s.Action))).not.toContain('dynamodb:RestoreTableFromAwsBackup');
  });

  it('sends failed, aborted or expired backup jobs to the alarm topic', () => {
    const { stateful, statefulStack } = synth;
    stateful.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.backup'], detail: Match.objectLike({ state: ['FAILED', 'ABORTED', 'EXPIRED'] }) }),
      Targets: [Match.objectLike({ Arn: { Ref: logicalId(statefulStack, statefulStack.alarmTopic) } })],
    });
  });

  it('lets the scheduler export every table, point in time, into the export bucket and nothing else', () => {
    const { stateless, statelessStack } = synth;
    const scheduler = stateless.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: Match.objectLike({ [VARS.backupExportBucket]: Match.anyValue() }) } },
    });
    expect(Object.keys(scheduler)).toEqual([logicalId(statelessStack, statelessStack.scheduler.function)]);
    const statements = Object.values(stateless.findResources('AWS::IAM::Policy')).flatMap((p: Json) => asArray(p.Properties.PolicyDocument.Statement));
    const exportTables = statements.find((s: Json) => s.Sid === 'BackupExportTables');
    expect(asArray(exportTables.Action)).toEqual(['dynamodb:DescribeTable', 'dynamodb:ExportTableToPointInTime']);
    expect(asArray(exportTables.Resource)).toHaveLength(3);
    const objects = statements.find((s: Json) => s.Sid === 'BackupExportObjects');
    expect(JSON.stringify(objects.Resource)).toContain('/exports/*');
    // Only the scheduler exports.
    expect(statements.filter((s: Json) => asArray(s.Action).includes('dynamodb:ExportTableToPointInTime'))).toHaveLength(1);
    // Every table has PITR, which ExportTableToPointInTime needs.
    for (const table of Object.values(synth.stateful.findResources('AWS::DynamoDB::GlobalTable')) as Json[]) {
      for (const replica of table.Properties.Replicas) expect(replica.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled).toBe(true);
    }
  });

  it('locks the vault when asked, and keeps recovery points at least as long as the lock', () => {
    const stack = new Stack(new App(), 'Locked');
    const key = new kms.Key(stack, 'Key');
    const table = new dynamodb.TableV2(stack, 'Table', { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    new VaultBackups(stack, 'Backups', {
      tables: [table],
      key,
      alarmTopic: new sns.Topic(stack, 'Topic'),
      accessLogBucket: new s3.Bucket(stack, 'Logs'),
      vaultLockMinRetentionDays: 90,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Backup::BackupVault', { LockConfiguration: { MinRetentionDays: 90 } });
    const plan = Object.values(template.findResources('AWS::Backup::BackupPlan'))[0] as Json;
    for (const rule of plan.Properties.BackupPlan.BackupPlanRule) expect(rule.Lifecycle.DeleteAfterDays).toBeGreaterThanOrEqual(90);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_TOKEN_ROTATION_FUNCTION } from '../../functions/runtime/definitions.js';
import { VaultFunction } from '../../lib/vault-function.js';
import { allPolicyStatements, allowsAction, arnOf, asArray, type Json, logicalId, refOf, type Synthesized, synthesize } from './support/synth.js';

let synth: Synthesized;

beforeAll(async () => {
  synth = await synthesize();
}, 180_000);

afterAll(async () => {
  await synth?.dispose();
});

const ids = () => {
  const { statefulStack } = synth;
  return {
    secret: logicalId(statefulStack, statefulStack.metricsTokenSecret),
    fn: logicalId(statefulStack, statefulStack.metricsTokenRotation.function),
    role: logicalId(statefulStack, statefulStack.metricsTokenRotation.function.role!),
    key: logicalId(statefulStack, statefulStack.key),
  };
};

/** The identity-policy statements of the rotation function's role. */
const rotationStatements = (): Json[] => {
  const { role } = ids();
  return Object.values(synth.statefulJson.Resources as Record<string, Json>)
    .filter((r) => r.Type === 'AWS::IAM::Policy' && asArray(r.Properties.Roles).some((ref: Json) => ref.Ref === role))
    .flatMap((p) => asArray(p.Properties.PolicyDocument.Statement));
};

describe('metrics token rotation', () => {
  it('schedules a rotation of the metrics token secret by its own function every 30 days, not at deploy time', () => {
    const { secret, fn } = ids();
    const schedules = Object.entries(synth.stateful.findResources('AWS::SecretsManager::RotationSchedule'));
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0]!;
    expect(schedule.Properties).toEqual({
      SecretId: refOf(secret),
      RotationLambdaARN: arnOf(fn),
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      RotateImmediatelyOnUpdate: false,
    });
    // Created only once the function, its role's policy and Secrets Manager's invoke permission exist.
    const dependsOn = asArray<string>(schedule.DependsOn);
    const permission = Object.entries(synth.stateful.findResources('AWS::Lambda::Permission')).find(
      ([, p]) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === fn,
    );
    const policies = Object.entries(synth.stateful.findResources('AWS::IAM::Policy')).filter(([, p]) =>
      asArray(p.Properties.Roles).some((ref: Json) => ref.Ref === ids().role),
    );
    expect(dependsOn).toEqual(expect.arrayContaining([fn, permission![0], ...policies.map(([id]) => id)]));
    expect(synth.statefulJson.Resources[fn].Properties.Timeout).toBe(METRICS_TOKEN_ROTATION_FUNCTION.timeoutSeconds);
  });

  it('pages through the alarm topic when a rotation step fails', () => {
    const { statefulStack } = synth;
    const alarm = synth.statefulJson.Resources[logicalId(statefulStack, statefulStack.metricsTokenRotationAlarm)];
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: refOf(ids().fn) }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      AlarmActions: [refOf(logicalId(statefulStack, statefulStack.alarmTopic))],
    });
  });

  it('lets Secrets Manager invoke the function for that secret only', () => {
    const { fn, secret } = ids();
    const permissions = Object.values(synth.stateful.findResources('AWS::Lambda::Permission')).filter(
      (p) => p.Properties.FunctionName['Fn::GetAtt']?.[0] === fn,
    );
    expect(permissions.map((p) => p.Properties)).toEqual([
      { Action: 'lambda:InvokeFunction', FunctionName: arnOf(fn), Principal: 'secretsmanager.amazonaws.com', SourceArn: refOf(secret) },
    ]);
  });

  it('grants the function the rotation actions on the metrics token secret alone, its key only through Secrets Manager, and nothing else', () => {
    const { secret, key } = ids();
    const statements = rotationStatements();
    const secretsManager = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')));
    expect(secretsManager).toEqual([{ Sid: 'RotatedSecret', Effect: 'Allow', Action: [...VaultFunction.SECRET_ROTATION_ACTIONS], Resource: refOf(secret) }]);
    const kms = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('kms:')));
    expect(kms).toEqual([
      {
        Sid: 'RotatedSecretKey',
        Effect: 'Allow',
        Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
        Resource: arnOf(key),
        Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-west-1.amazonaws.com' } },
      },
    ]);
    // Logs and tracing besides; no table, queue, bucket or other secret.
    const services = new Set(statements.flatMap((s) => asArray<string>(s.Action).map((a) => a.split(':')[0])));
    expect([...services].sort()).toEqual(['kms', 'logs', 'secretsmanager', 'xray']);
  });

  it('is the only role in either stack that may write the metrics token secret', () => {
    const { secret } = ids();
    const writers = [...allPolicyStatements(synth, synth.statefulJson), ...allPolicyStatements(synth, synth.statelessJson)].filter(
      (s) =>
        s.effect === 'Allow' &&
        s.actions.some((a) => allowsAction(a, 'secretsmanager:PutSecretValue') || allowsAction(a, 'secretsmanager:UpdateSecretVersionStage')),
    );
    expect(writers.map((s) => s.sid)).toEqual(['RotatedSecret']);
    expect(writers[0]!.resources).toEqual([refOf(secret)]);
  });
});

import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretsManagerRotatingSecret } from '../../functions/adapters/secrets-manager/secrets-manager-rotating-secret.js';
import { randomToken, TOKEN_LENGTH, TokenRotation, TokenRotationError } from '../../functions/domain/auth/token-rotation.js';
import { fakeAwsClient, type SentCommand } from './support/fake-aws-client.js';

const notFound = () => Object.assign(new Error("Secrets Manager can't find the specified secret value"), { name: 'ResourceNotFoundException' });

/**
 * Stands in for SecretsManagerClient at the `send` boundary: a secret's versions (a value
 * of undefined is a version Secrets Manager staged but nobody stored yet), answering the
 * four commands a rotation makes as Secrets Manager would.
 */
const fakeSecretsManager = (versions: Record<string, { value?: string; stages: string[] }>, rotationEnabled = true) => {
  const answer = ({ name, input }: SentCommand): unknown => {
    if (name === 'DescribeSecretCommand') {
      return { RotationEnabled: rotationEnabled, VersionIdsToStages: Object.fromEntries(Object.entries(versions).map(([id, v]) => [id, [...v.stages]])) };
    }
    if (name === 'GetSecretValueCommand') {
      const version = versions[input.VersionId as string];
      if (version?.value === undefined || !version.stages.includes(input.VersionStage as string)) throw notFound();
      return { SecretString: version.value };
    }
    if (name === 'PutSecretValueCommand') {
      versions[input.ClientRequestToken as string] = { value: input.SecretString as string, stages: [...(input.VersionStages as string[])] };
      return {};
    }
    if (name === 'UpdateSecretVersionStageCommand') {
      for (const v of Object.values(versions)) v.stages = v.stages.filter((stage) => stage !== 'AWSPREVIOUS');
      const from = versions[input.RemoveFromVersionId as string];
      if (from) from.stages = [...from.stages.filter((stage) => stage !== 'AWSCURRENT'), 'AWSPREVIOUS'];
      const to = versions[input.MoveToVersionId as string]!;
      to.stages = [...to.stages.filter((stage) => stage !== 'AWSPENDING'), 'AWSCURRENT'];
      return {};
    }
    throw new Error(`unexpected command ${name}`);
  };
  return { versions, ...fakeAwsClient<SecretsManagerClient>(answer) };
};

const OLD = 'A'.repeat(TOKEN_LENGTH);
const NEW = 'B'.repeat(TOKEN_LENGTH);

/** Where Secrets Manager is when it invokes createSecret: the new version id staged AWSPENDING, no value stored yet. */
const startedRotation = () => fakeSecretsManager({ v1: { value: OLD, stages: ['AWSCURRENT'] }, v2: { stages: ['AWSPENDING'] } });

const rotationOf = (client: SecretsManagerClient, generate = () => NEW) => new TokenRotation(new SecretsManagerRotatingSecret(client, 'arn:metrics'), generate);

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

describe('TokenRotation', () => {
  it('runs the four steps: the new token becomes current and the old one previous', async () => {
    const fake = startedRotation();
    for (const step of STEPS) await rotationOf(fake.client).run(step, 'v2');
    expect(fake.versions).toEqual({ v1: { value: OLD, stages: ['AWSPREVIOUS'] }, v2: { value: NEW, stages: ['AWSCURRENT'] } });
    expect(fake.sent.find((c) => c.name === 'PutSecretValueCommand')?.input).toEqual({
      SecretId: 'arn:metrics',
      ClientRequestToken: 'v2',
      SecretString: NEW,
      VersionStages: ['AWSPENDING'],
    });
    expect(fake.sent.find((c) => c.name === 'UpdateSecretVersionStageCommand')?.input).toEqual({
      SecretId: 'arn:metrics',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: 'v2',
      RemoveFromVersionId: 'v1',
    });
  });

  it('keeps the pending token a first createSecret stored when the step is retried', async () => {
    const fake = startedRotation();
    await rotationOf(fake.client).run('createSecret', 'v2');
    await rotationOf(fake.client, () => 'C'.repeat(TOKEN_LENGTH)).run('createSecret', 'v2');
    expect(fake.versions.v2).toEqual({ value: NEW, stages: ['AWSPENDING'] });
  });

  it('does nothing for a step retried after the version was promoted', async () => {
    const fake = fakeSecretsManager({ v1: { value: OLD, stages: ['AWSPREVIOUS'] }, v2: { value: NEW, stages: ['AWSCURRENT'] } });
    for (const step of STEPS) await rotationOf(fake.client).run(step, 'v2');
    expect(fake.sent.map((c) => c.name)).toEqual(STEPS.map(() => 'DescribeSecretCommand'));
  });

  it('refuses a secret without rotation, an unknown version and a version not pending', async () => {
    await expect(rotationOf(fakeSecretsManager({ v1: { value: OLD, stages: ['AWSCURRENT'] } }, false).client).run('createSecret', 'v1')).rejects.toThrow(
      'rotation is not enabled',
    );
    await expect(rotationOf(startedRotation().client).run('createSecret', 'v9')).rejects.toBeInstanceOf(TokenRotationError);
    const notPending = fakeSecretsManager({ v1: { value: OLD, stages: ['AWSCURRENT'] }, v2: { value: NEW, stages: [] } });
    await expect(rotationOf(notPending.client).run('finishSecret', 'v2')).rejects.toThrow('not pending');
    expect(notPending.versions.v1!.stages).toEqual(['AWSCURRENT']);
  });

  it('testSecret fails on a missing or malformed pending token, so it never becomes current', async () => {
    await expect(rotationOf(startedRotation().client).run('testSecret', 'v2')).rejects.toThrow('missing or malformed');
    const fake = startedRotation();
    await rotationOf(fake.client, () => 'short').run('createSecret', 'v2');
    await expect(rotationOf(fake.client).run('testSecret', 'v2')).rejects.toBeInstanceOf(TokenRotationError);
  });
});

describe('randomToken', () => {
  it('makes 48 alphanumerics, different each time', () => {
    const tokens = Array.from({ length: 50 }, randomToken);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9]{48}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});

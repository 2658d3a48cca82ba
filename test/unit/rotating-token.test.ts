import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { SecretsManagerTokenVersions } from '../../functions/adapters/secrets-manager/secrets-manager-token-versions.js';
import { CachedRotatingTokens, fixedTokens } from '../../functions/domain/auth/rotating-token.js';
import type { TokenVersions } from '../../functions/domain/ports/auth.js';
import { fakeAwsClient, type SentCommand } from './support/fake-aws-client.js';

const OPTIONS = { ttlMs: 60_000, minRefreshMs: 5_000, graceMs: 3_600_000 };

/** A token source whose versions the test changes, counting reads. */
const scriptedSource = (initial: TokenVersions | Error) => {
  const state = { versions: initial, reads: 0 };
  const source = {
    read: async () => {
      state.reads += 1;
      if (state.versions instanceof Error) throw state.versions;
      return state.versions;
    },
  };
  return { state, source };
};

const clock = (start = 1_000_000) => {
  const time = { now: start };
  return { time, now: () => time.now };
};

describe('CachedRotatingTokens', () => {
  it('reads once per TTL, then sees a rotation and keeps the previous token during its grace', async () => {
    const { time, now } = clock();
    const { state, source } = scriptedSource({ current: 'token-a' });
    const tokens = new CachedRotatingTokens(source, OPTIONS, now);
    expect(await tokens.accepted()).toEqual(['token-a']);
    state.versions = { current: 'token-b', previous: 'token-a', currentSince: new Date(time.now) };
    time.now += 59_000;
    expect(await tokens.accepted()).toEqual(['token-a']);
    expect(state.reads).toBe(1);
    time.now += 1_000;
    expect(await tokens.accepted()).toEqual(['token-b', 'token-a']);
    time.now += OPTIONS.graceMs;
    expect(await tokens.accepted()).toEqual(['token-b']);
  });

  it('re-reads after a mismatch at most once per refresh interval', async () => {
    const { time, now } = clock();
    const { state, source } = scriptedSource({ current: 'token-a' });
    const tokens = new CachedRotatingTokens(source, OPTIONS, now);
    await tokens.accepted();
    time.now += 4_999;
    expect(await tokens.afterMismatch()).toEqual(['token-a']);
    expect(state.reads).toBe(1);
    state.versions = { current: 'token-b', previous: 'token-a', currentSince: new Date(time.now) };
    time.now += 1;
    expect(await tokens.afterMismatch()).toEqual(['token-b', 'token-a']);
    expect(await tokens.afterMismatch()).toEqual(['token-b', 'token-a']);
    expect(state.reads).toBe(2);
  });

  it('keeps the last versions when a re-read fails, and retries no sooner than the refresh interval', async () => {
    const { time, now } = clock();
    const { state, source } = scriptedSource({ current: 'token-a' });
    const tokens = new CachedRotatingTokens(source, OPTIONS, now);
    await tokens.accepted();
    state.versions = new Error('throttled');
    time.now += 60_000;
    expect(await tokens.accepted()).toEqual(['token-a']);
    time.now += 1_000;
    expect(await tokens.afterMismatch()).toEqual(['token-a']);
    expect(state.reads).toBe(2);
    state.versions = { current: 'token-b' };
    time.now += 4_000;
    expect(await tokens.afterMismatch()).toEqual(['token-b']);
  });

  it('fails when the first read fails, rather than leaving the route open', async () => {
    const { source } = scriptedSource(new Error('AccessDenied'));
    await expect(new CachedRotatingTokens(source, OPTIONS).accepted()).rejects.toThrow('AccessDenied');
  });

  it('shares one read among concurrent requests', async () => {
    const { state, source } = scriptedSource({ current: 'token-a' });
    const tokens = new CachedRotatingTokens(source, OPTIONS);
    await Promise.all([tokens.accepted(), tokens.accepted(), tokens.afterMismatch()]);
    expect(state.reads).toBe(1);
  });
});

describe('fixedTokens', () => {
  it('accepts the configured token, or none (an open route) when unset', async () => {
    expect(await fixedTokens('scrape').accepted()).toEqual(['scrape']);
    expect(await fixedTokens(undefined).afterMismatch()).toEqual([]);
  });
});

const fakeClient = (respond: (command: SentCommand) => unknown) => fakeAwsClient<SecretsManagerClient>(respond);

const notFound = () => Object.assign(new Error("Secrets Manager can't find the specified secret version"), { name: 'ResourceNotFoundException' });

describe('SecretsManagerTokenVersions', () => {
  it('reads the AWSCURRENT and AWSPREVIOUS stages of the secret', async () => {
    const since = new Date('2026-11-01T00:00:00Z');
    const { sent, client } = fakeClient(({ input }) =>
      input.VersionStage === 'AWSCURRENT' ? { SecretString: 'token-b\n', CreatedDate: since } : { SecretString: 'token-a' },
    );
    expect(await new SecretsManagerTokenVersions(client, 'arn:metrics').read()).toEqual({ current: 'token-b', previous: 'token-a', currentSince: since });
    expect(sent.map((command) => [command.name, command.input.SecretId, command.input.VersionStage])).toEqual([
      ['GetSecretValueCommand', 'arn:metrics', 'AWSCURRENT'],
      ['GetSecretValueCommand', 'arn:metrics', 'AWSPREVIOUS'],
    ]);
  });

  it('has no previous token before the first rotation', async () => {
    const { client } = fakeClient(({ input }) => {
      if (input.VersionStage === 'AWSPREVIOUS') throw notFound();
      return { SecretString: 'token-a' };
    });
    expect(await new SecretsManagerTokenVersions(client, 'arn:metrics').read()).toMatchObject({ current: 'token-a', previous: undefined });
  });

  it('fails on any other error and on an empty current token', async () => {
    const denied = fakeClient(({ input }) => {
      if (input.VersionStage === 'AWSPREVIOUS') throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
      return { SecretString: 'token-a' };
    });
    await expect(new SecretsManagerTokenVersions(denied.client, 'arn:metrics').read()).rejects.toThrow('denied');
    const empty = fakeClient(() => ({ SecretString: '  ' }));
    await expect(new SecretsManagerTokenVersions(empty.client, 'arn:metrics').read()).rejects.toThrow('no current token');
  });
});

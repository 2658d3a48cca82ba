import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseRateLimits } from '../../functions/config.js';

describe('parseRateLimits', () => {
  it('parses count per period into capacity and refill per second', () => {
    const limits = parseRateLimits('read=100/1s,write=20/1m');
    expect(limits.read).toEqual({ capacity: 100, refillPerSecond: 100 });
    expect(limits.write.capacity).toBe(20);
    expect(limits.write.refillPerSecond).toBeCloseTo(20 / 60, 10);
  });

  it('keeps defaults for categories not mentioned', () => {
    const defaults = parseRateLimits(undefined);
    const limits = parseRateLimits('read=100/1s');
    expect(limits.list).toEqual(defaults.list);
    expect(limits.admin).toEqual(defaults.admin);
    expect(limits.read).not.toEqual(defaults.read);
  });

  it('does not let one parse change the defaults for the next', () => {
    const before = parseRateLimits('');
    parseRateLimits('auth=1/1h');
    expect(parseRateLimits('')).toEqual(before);
  });

  it('accepts hours, an implied period count of 1, multi-unit periods and spaces around entries', () => {
    const limits = parseRateLimits(' auth=10/h , admin=30/10s ');
    expect(limits.auth.capacity).toBe(10);
    expect(limits.auth.refillPerSecond).toBeCloseTo(10 / 3600, 10);
    expect(limits.admin).toEqual({ capacity: 30, refillPerSecond: 3 });
  });

  it.each([
    'read',
    'read=100',
    'read=100/1d',
    'read=-1/1s',
    'read=1.5/1s',
    'READ=10/1s',
    'read =10/1s',
    'unknown=10/1s',
    'read=0/1s',
    'read=10/0s',
    'read=10/1s;write=5/1s',
  ])('rejects %j with ConfigError', (raw) => {
    expect(() => parseRateLimits(raw)).toThrow(ConfigError);
  });
});

describe('loadConfig', () => {
  const base = {
    SCAIVAULT_STATE_TABLE: 'vault-state',
    SCAIVAULT_METRICS_TABLE: 'vault-metrics',
    SCAIVAULT_AUDIT_TABLE: 'vault-audit',
    SCAIVAULT_KMS_KEY_ID: 'alias/scaivault',
  };

  it('requires the metrics table', () => {
    expect(() => loadConfig({ ...base, SCAIVAULT_METRICS_TABLE: '' })).toThrow(/SCAIVAULT_METRICS_TABLE/);
    expect(loadConfig(base)).toMatchObject({ metricsTable: 'vault-metrics', metricsToken: undefined, metricsFlushSeconds: 10 });
  });

  it('re-reads the metrics token every minute and accepts the previous one for a day, or as configured', () => {
    expect(loadConfig(base)).toMatchObject({ metricsTokenTtlSeconds: 60, metricsTokenGraceSeconds: 86_400 });
    const tuned = loadConfig({ ...base, SCAIVAULT_METRICS_TOKEN_TTL_SECONDS: '10', SCAIVAULT_METRICS_TOKEN_GRACE_SECONDS: '0' });
    expect(tuned).toMatchObject({ metricsTokenTtlSeconds: 10, metricsTokenGraceSeconds: 0 });
    expect(() => loadConfig({ ...base, SCAIVAULT_METRICS_TOKEN_TTL_SECONDS: '0' })).toThrow(/SCAIVAULT_METRICS_TOKEN_TTL_SECONDS/);
  });

  it('pushes nowhere by default, SigV4-signed to the AMP endpoint, unsigned to SCAIVAULT_REMOTE_WRITE_URL (which wins)', () => {
    const amp = 'https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1/api/v1/remote_write';
    expect(loadConfig(base).remoteWrite).toBeUndefined();
    expect(loadConfig({ ...base, AMP_REMOTE_WRITE_ENDPOINT: amp }).remoteWrite).toEqual({ url: amp, sigv4: true });
    const local = 'http://127.0.0.1:9090/api/v1/write';
    expect(loadConfig({ ...base, AMP_REMOTE_WRITE_ENDPOINT: amp, SCAIVAULT_REMOTE_WRITE_URL: local }).remoteWrite).toEqual({ url: local, sigv4: false });
    expect(() => loadConfig({ ...base, SCAIVAULT_REMOTE_WRITE_URL: 'udp://host:1' })).toThrow(/SCAIVAULT_REMOTE_WRITE_URL/);
    expect(loadConfig({ ...base, SCAIVAULT_METRICS_INSTANCE: 'prod' }).metricsInstance).toBe('prod');
    expect(loadConfig(base).metricsInstance).toBeTruthy();
  });

  it('requires the state table', () => {
    expect(() => loadConfig({ SCAIVAULT_KMS_KEY_ID: 'alias/scaivault' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SCAIVAULT_STATE_TABLE: '' })).toThrow(/SCAIVAULT_STATE_TABLE/);
  });

  it('defaults to aws-kms and then requires the KMS key id', () => {
    expect(() => loadConfig({ SCAIVAULT_STATE_TABLE: 'vault-state', SCAIVAULT_METRICS_TABLE: 'vault-metrics', SCAIVAULT_AUDIT_TABLE: 'vault-audit' })).toThrow(
      /SCAIVAULT_KMS_KEY_ID/,
    );
    const config = loadConfig(base);
    expect(config).toMatchObject({ stateTable: 'vault-state', keyProvider: 'aws-kms', kmsKeyId: 'alias/scaivault', localKeyFile: undefined });
  });

  it('requires a key file, not a KMS key, for the local provider', () => {
    const env = {
      SCAIVAULT_STATE_TABLE: 'vault-state',
      SCAIVAULT_METRICS_TABLE: 'vault-metrics',
      SCAIVAULT_AUDIT_TABLE: 'vault-audit',
      SCAIVAULT_KEY_PROVIDER: 'local',
    };
    expect(() => loadConfig(env)).toThrow(/SCAIVAULT_LOCAL_KEY_FILE/);
    expect(loadConfig({ ...env, SCAIVAULT_LOCAL_KEY_FILE: '/data/master.key' })).toMatchObject({
      keyProvider: 'local',
      localKeyFile: '/data/master.key',
      kmsKeyId: undefined,
    });
  });

  it('rejects an unknown key provider', () => {
    expect(() => loadConfig({ ...base, SCAIVAULT_KEY_PROVIDER: 'vault' })).toThrow(ConfigError);
  });

  it('reads typed values and rejects malformed ones', () => {
    const config = loadConfig({ ...base, SCAIVAULT_KEY_CACHE_TTL_SECONDS: '0', SCAIVAULT_S3_FORCE_PATH_STYLE: 'yes', SCAIVAULT_RATE_LIMITS: 'read=5/1s' });
    expect(config.keyCacheTtlSeconds).toBe(0);
    expect(config.s3ForcePathStyle).toBe(true);
    expect(config.rateLimits.read).toEqual({ capacity: 5, refillPerSecond: 5 });
    expect(() => loadConfig({ ...base, SCAIVAULT_KEY_CACHE_TTL_SECONDS: 'five' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SCAIVAULT_KEY_CACHE_MAX_ENTRIES: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SCAIVAULT_S3_FORCE_PATH_STYLE: 'maybe' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, SCAIVAULT_RATE_LIMITS: 'read=fast' })).toThrow(ConfigError);
  });
});

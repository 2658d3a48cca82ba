// Typed configuration, read once from the environment at module load.

import { DEFAULT_FACILITY, parseFacility } from './adapters/syslog/rfc5424.js';
import { hostname } from 'node:os';
import { ENV } from './runtime/definitions.js';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export const getString = (env: Env, name: string, fallback?: string): string => {
  const value = env[name];
  if (value !== undefined && value !== '') return value;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is required`);
};

export const getOptionalString = (env: Env, name: string): string | undefined => {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
};

export const getNumber = (env: Env, name: string, fallback: number, min = 0): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new ConfigError(`environment variable ${name} must be a number >= ${min}, got "${raw}"`);
  }
  return value;
};

export const getBoolean = (env: Env, name: string, fallback: boolean): boolean => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`environment variable ${name} must be true or false, got "${raw}"`);
};

export const getChoice = <T extends string>(env: Env, name: string, choices: readonly T[], fallback: T): T => {
  const raw = env[name] || fallback;
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`environment variable ${name} must be one of ${choices.join(', ')}, got "${raw}"`);
  }
  return raw as T;
};

export interface RateLimitRule {
  /** Burst size: the most requests a full bucket allows at once. */
  readonly capacity: number;
  /** Tokens added back per second. */
  readonly refillPerSecond: number;
}

export type RateLimitCategory = 'read' | 'write' | 'list' | 'admin' | 'auth';
export const RATE_LIMIT_CATEGORIES: readonly RateLimitCategory[] = ['read', 'write', 'list', 'admin', 'auth'];

const DEFAULT_RATE_LIMITS: Record<RateLimitCategory, RateLimitRule> = {
  read: { capacity: 2000, refillPerSecond: 200 },
  write: { capacity: 500, refillPerSecond: 50 },
  list: { capacity: 500, refillPerSecond: 50 },
  admin: { capacity: 200, refillPerSecond: 20 },
  auth: { capacity: 200, refillPerSecond: 20 },
};

const PERIOD_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses `read=100/1s,write=20/1m`: each category allows `count` requests per
 * period, with a burst of `count`.
 */
export const parseRateLimits = (raw: string | undefined): Record<RateLimitCategory, RateLimitRule> => {
  const limits = { ...DEFAULT_RATE_LIMITS };
  if (!raw) return limits;
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const match = /^([a-z]+)=(\d+)\/(\d*)([smh])$/.exec(part);
    if (!match) throw new ConfigError(`${ENV.rateLimits} entry "${part}" is not <category>=<count>/<period>, e.g. read=100/1s`);
    const [, category, count, periodCount, unit] = match as unknown as [string, string, string, string, string];
    if (!(RATE_LIMIT_CATEGORIES as readonly string[]).includes(category)) {
      throw new ConfigError(`${ENV.rateLimits} category "${category}" is not one of ${RATE_LIMIT_CATEGORIES.join(', ')}`);
    }
    const capacity = Number(count);
    const periodSeconds = Number(periodCount || '1') * (PERIOD_SECONDS[unit] ?? 1);
    if (capacity < 1 || periodSeconds <= 0) throw new ConfigError(`${ENV.rateLimits} entry "${part}" must allow at least one request`);
    limits[category as RateLimitCategory] = { capacity, refillPerSecond: capacity / periodSeconds };
  }
  return limits;
};

export interface VaultConfig {
  readonly version: string;
  readonly stateTable: string;
  readonly keyProvider: 'local' | 'aws-kms';
  readonly kmsKeyId: string | undefined;
  readonly localKeyFile: string | undefined;
  readonly rotationQueueUrl: string | undefined;
  readonly webhookQueueUrl: string | undefined;
  readonly auditBucket: string | undefined;
  readonly s3ForcePathStyle: boolean;
  readonly rateLimits: Record<RateLimitCategory, RateLimitRule>;
  readonly keyCacheTtlSeconds: number;
  readonly keyCacheMaxEntries: number;
  readonly authCacheTtlSeconds: number;
  /** Every AWS SDK call attempt ends after this long (connect within min(this, 1 s)). */
  readonly dependencyTimeoutMs: number;
  /** Each readiness check is `down` after this long, whatever its dependency does. */
  readonly readinessCheckTimeoutMs: number;
  /** An api request is answered within this long (a 503 past it), inside the function's 10 s timeout. */
  readonly requestDeadlineMs: number;
  readonly maxTokenTtlSeconds: number;
  readonly metricsTable: string;
  /** When set, /v1/metrics requires it (or an admin token) as a bearer token. */
  readonly metricsToken: string | undefined;
  /** In AWS the metrics token lives in Secrets Manager and rotates; instances re-read it. */
  readonly metricsTokenSecretArn: string | undefined;
  readonly metricsTokenTtlSeconds: number;
  readonly metricsTokenGraceSeconds: number;
  /** In AWS the root token lives in Secrets Manager; the api stores its hash on first use. */
  readonly rootTokenSecretArn: string | undefined;
  readonly metricsFlushSeconds: number;
  readonly metricsRetireSeconds: number;
  readonly metricsLabelCap: number;
  readonly metricsViewMaxAgeSeconds: number;
  readonly metricsStateCacheSeconds: number;
  /** Outbox: re-send a job never handed to its queue after this long. */
  readonly jobResendUnsentSeconds: number;
  /** Outbox: re-send a sent job still pending after this long (longer than any retry schedule). */
  readonly jobResendLostSeconds: number;
  /** Where the scheduler remote-writes the fleet's metrics, and whether with SigV4 (AMP); unset pushes nothing. */
  readonly remoteWrite: { readonly url: string; readonly sigv4: boolean } | undefined;
  /** The `instance` label of pushed series. */
  readonly metricsInstance: string;
  /** CloudWatch EMF namespace (Powertools' variable); unset turns EMF off. */
  readonly cloudWatchNamespace: string | undefined;
  /** Hosts outbound calls may reach even at private or loopback addresses (SCAIVAULT_EGRESS_ALLOWLIST). */
  readonly egressAllowlist: readonly string[];
  /** Per-attempt timeout of a webhook delivery. */
  readonly webhookTimeoutMs: number;
  /** Webhook retry backoff: min(cap, base * 2^(attempt-1)) with full jitter. */
  readonly webhookBackoffBaseMs: number;
  readonly webhookBackoffCapMs: number;
  /** Give a delivery up after this many attempts; unset means the queue's maxReceiveCount. */
  readonly webhookMaxAttempts: number | undefined;
  /** How long the event fan-out reuses a tenant's subscriptions on one instance: a webhook created elsewhere gets events within it. */
  readonly webhookSubscriptionCacheSeconds: number;
  readonly leaseRevokeBackoffBaseMs: number;
  readonly leaseRevokeMaxAttempts: number;
  readonly audit: AuditConfig;
  readonly acme: AcmeConfig;
  readonly keyRotation: KeyRotationConfig;
}

export interface AcmeConfig {
  /** Extra trusted CA certificates (PEM file) for ACME directories: a test CA's only. */
  readonly caFile: string | undefined;
  readonly callTimeoutMs: number;
  readonly orderBudgetMs: number;
}

export interface KeyRotationConfig {
  /** A tenant's data key is rotated once it is this many days old; 0 turns the schedule off. */
  readonly rotationDays: number;
  /** Sealed items listed (and the cursor saved) per batch. */
  readonly batchSize: number;
  /** Items re-sealed at once within a batch. */
  readonly concurrency: number;
  /** How long one scheduler run spends re-sealing, inside the scheduler's 60 s timeout. */
  readonly secondsPerRun: number;
}

export interface AuditConfig {
  readonly table: string;
  readonly exportQueueUrl: string | undefined;
  /** RFC 5424 relay, e.g. `tls://siem.example.com:6514`; unset means no syslog copy. */
  readonly syslogUrl: string | undefined;
  /** PEM trust anchors for a tls:// relay with a private CA. */
  readonly syslogCaFile: string | undefined;
  /** The same as PEM text (a Lambda gets it in its environment); wins over the file. */
  readonly syslogCaPem: string | undefined;
  /** 0..23; default 22 (local6). */
  readonly syslogFacility: number;
  /** HOSTNAME field; default the host's name. */
  readonly syslogHostname: string | undefined;
  /** APP-NAME field; default `scaivault`. */
  readonly syslogAppName: string | undefined;
  /** Messages held while the relay is unreachable, oldest dropped first. */
  readonly syslogBufferSize: number;
  /** The sealer leaves events younger than this unsealed, so in-flight writes land first. */
  readonly sealGraceSeconds: number;
  /** Most events one block holds (its leaf list lives in one DynamoDB item and one S3 anchor). */
  readonly blockMaxEvents: number;
  /** Most blocks one scheduler run seals, so a run stays short after downtime. */
  readonly blocksPerRun: number;
  /** How long one scheduler run spends verifying the next slice of the chain. */
  readonly verifySecondsPerRun: number;
  /** policy_violation events of one tenant in one sealing run that count as a spike. */
  readonly violationSpikeThreshold: number;
  /** A secret unread for this long is dormant; its next read is a detection. */
  readonly dormantDays: number;
  /** Path globs whose first read by an identity is a detection; empty turns it off. */
  readonly sensitivePaths: readonly string[];
}

const listOf = (raw: string | undefined): string[] =>
  (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

const facilityOf = (env: Env): number => {
  const raw = getOptionalString(env, ENV.syslogFacility);
  if (raw === undefined) return DEFAULT_FACILITY;
  try {
    return parseFacility(raw);
  } catch {
    throw new ConfigError(`${ENV.syslogFacility} must be a facility name (local0..local7, authpriv, ...) or 0..23, got "${raw}"`);
  }
};

const loadAuditConfig = (env: Env): AuditConfig => ({
  table: getString(env, ENV.auditTable),
  exportQueueUrl: getOptionalString(env, ENV.auditExportQueueUrl),
  syslogUrl: getOptionalString(env, ENV.syslogUrl),
  syslogCaFile: getOptionalString(env, ENV.syslogCaFile),
  syslogCaPem: getOptionalString(env, ENV.syslogCaPem),
  syslogFacility: facilityOf(env),
  syslogHostname: getOptionalString(env, ENV.syslogHostname),
  syslogAppName: getOptionalString(env, ENV.syslogAppName),
  syslogBufferSize: getNumber(env, ENV.syslogBufferSize, 10_000, 1),
  sealGraceSeconds: getNumber(env, ENV.auditSealGraceSeconds, 30, 0),
  blockMaxEvents: getNumber(env, ENV.auditBlockMaxEvents, 1000, 1),
  // 50 blocks of up to 1000 events and a 15 s verification slice stay well inside the scheduler's 60 s timeout.
  blocksPerRun: getNumber(env, ENV.auditBlocksPerRun, 50, 1),
  verifySecondsPerRun: getNumber(env, ENV.auditVerifySecondsPerRun, 15, 0.1),
  violationSpikeThreshold: getNumber(env, ENV.auditViolationSpikeThreshold, 20, 1),
  dormantDays: getNumber(env, ENV.auditDormantDays, 90, 0),
  sensitivePaths: listOf(getOptionalString(env, ENV.auditSensitivePaths)),
});

const loadRemoteWrite = (env: Env): VaultConfig['remoteWrite'] => {
  const plain = getOptionalString(env, ENV.remoteWriteUrl);
  const amp = getOptionalString(env, ENV.ampRemoteWriteEndpoint);
  const url = plain ?? amp;
  if (url === undefined) return undefined;
  if (!/^https?:\/\//.test(url)) throw new ConfigError(`${plain ? ENV.remoteWriteUrl : ENV.ampRemoteWriteEndpoint} must be an http(s) URL`);
  return { url, sigv4: plain === undefined };
};

export const loadConfig = (env: Env): VaultConfig => {
  const keyProvider = getChoice(env, ENV.keyProvider, ['local', 'aws-kms'] as const, 'aws-kms');
  const config: VaultConfig = {
    version: getString(env, ENV.version, '0.1.0'),
    stateTable: getString(env, ENV.stateTable),
    keyProvider,
    kmsKeyId: keyProvider === 'aws-kms' ? getString(env, ENV.kmsKeyId) : undefined,
    localKeyFile: keyProvider === 'local' ? getString(env, ENV.localKeyFile) : undefined,
    rotationQueueUrl: getOptionalString(env, ENV.rotationQueueUrl),
    webhookQueueUrl: getOptionalString(env, ENV.webhookQueueUrl),
    auditBucket: getOptionalString(env, ENV.auditBucket),
    s3ForcePathStyle: getBoolean(env, ENV.s3ForcePathStyle, false),
    rateLimits: parseRateLimits(getOptionalString(env, ENV.rateLimits)),
    keyCacheTtlSeconds: getNumber(env, ENV.keyCacheTtlSeconds, 300),
    keyCacheMaxEntries: getNumber(env, ENV.keyCacheMaxEntries, 1000, 1),
    authCacheTtlSeconds: getNumber(env, ENV.authCacheTtlSeconds, 5),
    dependencyTimeoutMs: getNumber(env, ENV.dependencyTimeoutMs, 3000, 50),
    readinessCheckTimeoutMs: getNumber(env, ENV.readinessCheckTimeoutMs, 2000, 50),
    requestDeadlineMs: getNumber(env, ENV.requestDeadlineMs, 9000, 100),
    maxTokenTtlSeconds: getNumber(env, ENV.maxTokenTtlSeconds, 32 * 24 * 3600, 60),
    metricsTable: getString(env, ENV.metricsTable),
    metricsToken: getOptionalString(env, ENV.metricsToken),
    metricsTokenSecretArn: getOptionalString(env, ENV.metricsTokenSecretArn),
    metricsTokenTtlSeconds: getNumber(env, ENV.metricsTokenTtlSeconds, 60, 1),
    metricsTokenGraceSeconds: getNumber(env, ENV.metricsTokenGraceSeconds, 24 * 3600, 0),
    rootTokenSecretArn: getOptionalString(env, ENV.rootTokenSecretArn),
    metricsFlushSeconds: getNumber(env, ENV.metricsFlushSeconds, 10, 0.1),
    metricsRetireSeconds: getNumber(env, ENV.metricsRetireSeconds, 900, 1),
    metricsLabelCap: getNumber(env, ENV.metricsLabelCap, 50, 1),
    metricsViewMaxAgeSeconds: getNumber(env, ENV.metricsViewMaxAgeSeconds, 0, 0),
    metricsStateCacheSeconds: getNumber(env, ENV.metricsStateCacheSeconds, 15),
    cloudWatchNamespace: getOptionalString(env, ENV.cloudWatchNamespace),
    remoteWrite: loadRemoteWrite(env),
    metricsInstance: getString(env, ENV.metricsInstance, hostname()),
    jobResendUnsentSeconds: getNumber(env, ENV.jobResendUnsentSeconds, 30, 1),
    jobResendLostSeconds: getNumber(env, ENV.jobResendLostSeconds, 3600, 1),
    egressAllowlist: listOf(getOptionalString(env, ENV.egressAllowlist)).map((host) => host.toLowerCase()),
    webhookTimeoutMs: getNumber(env, ENV.webhookTimeoutMs, 10_000, 100),
    // The longest schedule (8 attempts, 10 s doubling to 15 min) stays under the outbox's 1 h "lost" window.
    webhookBackoffBaseMs: getNumber(env, ENV.webhookBackoffBaseMs, 10_000, 1),
    webhookBackoffCapMs: getNumber(env, ENV.webhookBackoffCapMs, 900_000, 1),
    webhookMaxAttempts: env[ENV.webhookMaxAttempts] ? getNumber(env, ENV.webhookMaxAttempts, 0, 1) : undefined,
    webhookSubscriptionCacheSeconds: getNumber(env, ENV.webhookSubscriptionCacheSeconds, 5),
    leaseRevokeBackoffBaseMs: getNumber(env, ENV.leaseRevokeBackoffBaseMs, 30_000, 100),
    leaseRevokeMaxAttempts: getNumber(env, ENV.leaseRevokeMaxAttempts, 8, 1),
    audit: loadAuditConfig(env),
    acme: {
      caFile: getOptionalString(env, ENV.acmeCaFile),
      callTimeoutMs: getNumber(env, ENV.acmeCallTimeoutMs, 10_000, 100),
      orderBudgetMs: getNumber(env, ENV.acmeOrderBudgetMs, 30_000, 1000),
    },
    keyRotation: {
      rotationDays: getNumber(env, ENV.dataKeyRotationDays, 90, 0),
      batchSize: getNumber(env, ENV.keyRotationBatchSize, 100, 1),
      concurrency: getNumber(env, ENV.keyRotationConcurrency, 16, 1),
      secondsPerRun: getNumber(env, ENV.keyRotationSecondsPerRun, 30, 0.1),
    },
  };
  if (config.webhookBackoffCapMs < config.webhookBackoffBaseMs) {
    throw new ConfigError(`${ENV.webhookBackoffCapMs} must be at least ${ENV.webhookBackoffBaseMs}`);
  }
  return config;
};

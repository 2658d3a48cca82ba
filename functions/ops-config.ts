// Settings of the operational jobs (backups, drills, exports) and of chat
// notifications, read once from the environment like functions/config.ts.
import { ConfigError, getNumber, getOptionalString, getString } from './config.js';
import { ENV } from './runtime/definitions.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface BackupConfig {
  /** Embedded: the directory backups go to. */
  readonly dir: string | undefined;
  readonly intervalMinutes: number;
  readonly keep: number;
  readonly drillIntervalMinutes: number;
  /** AWS: the export bucket; no bucket, no export. */
  readonly exportBucket: string | undefined;
  readonly exportIntervalHours: number;
}

export const loadBackupConfig = (env: Env): BackupConfig => ({
  dir: getOptionalString(env, ENV.backupDir),
  intervalMinutes: getNumber(env, ENV.backupIntervalMinutes, 0),
  keep: getNumber(env, ENV.backupKeep, 14, 1),
  drillIntervalMinutes: getNumber(env, ENV.restoreDrillIntervalMinutes, 0),
  exportBucket: getOptionalString(env, ENV.backupExportBucket),
  exportIntervalHours: getNumber(env, ENV.backupExportIntervalHours, 24, 1),
});

export interface NotifyConfig {
  /** Webhook URLs by channel; never logged. */
  readonly slackUrl: string | undefined;
  readonly jsonUrl: string | undefined;
  readonly maxPerHour: number;
  readonly timeoutMs: number;
  readonly environment: string;
}

const checkedUrl = (env: Env, name: string): string | undefined => {
  const url = getOptionalString(env, name);
  // The value is a credential: the error names the variable, never the value.
  if (url !== undefined && !/^https?:\/\/[^\s]+$/.test(url)) throw new ConfigError(`${name} must be an http(s) URL`);
  return url;
};

export const loadNotifyConfig = (env: Env): NotifyConfig => ({
  slackUrl: checkedUrl(env, ENV.notifySlackWebhookUrl),
  jsonUrl: checkedUrl(env, ENV.notifyJsonWebhookUrl),
  maxPerHour: getNumber(env, ENV.notifyMaxPerHour, 10, 0),
  timeoutMs: getNumber(env, ENV.notifyTimeoutMs, 5000, 100),
  environment: getString(env, ENV.environment, 'embedded'),
});

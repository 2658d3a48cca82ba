// One JSON object per line on stdout: the fields of the operator contract
// (timestamp, level, message, request_id, tenant_id, identity_id, path,
// duration_ms, status) plus whatever context a call adds.

import { ENV } from '../runtime/definitions.js';
import { logContext } from './log-context.js';

export { describeError } from '../domain/errors.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export class Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly format: 'json' | 'text',
    private readonly base: LogFields = {},
    private readonly write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  ) {}

  debug(message: string, fields?: LogFields): void {
    this.log('debug', message, fields);
  }

  info(message: string, fields?: LogFields): void {
    this.log('info', message, fields);
  }

  warn(message: string, fields?: LogFields): void {
    this.log('warn', message, fields);
  }

  error(message: string, fields?: LogFields): void {
    this.log('error', message, fields);
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  private log(level: LogLevel, message: string, fields: LogFields = {}): void {
    if (!this.enabled(level)) return;
    const context = logContext();
    const entry = { timestamp: new Date().toISOString(), level, message, ...this.base, ...context, ...fields };
    if (this.format === 'json') {
      this.write(JSON.stringify(entry));
      return;
    }
    const rest = Object.entries({ ...this.base, ...context, ...fields })
      .filter(([, value]) => value !== undefined && value !== null)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    this.write(`${entry.timestamp} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}`);
  }
}

export const createLogger = (env: Record<string, string | undefined>, base: LogFields = {}): Logger => {
  const level = (env[ENV.logLevel] ?? 'info').toLowerCase();
  const format = (env[ENV.logFormat] ?? 'json').toLowerCase();
  return new Logger(level in ORDER ? (level as LogLevel) : 'info', format === 'text' ? 'text' : 'json', base);
};

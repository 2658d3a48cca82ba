// The audit trail's settings from CDK context to every function's environment:
// the syslog copy (relay, facility, hostname, app name, buffer, the relay's CA)
// and the sensitive paths whose first read by an identity is a detection.
// Checked at synth, so a typo fails `cdk synth` rather than the first request.
import { readFileSync } from 'node:fs';
import { parseFacility } from '../functions/adapters/syslog/rfc5424.js';
import { parseSyslogUrl } from '../functions/adapters/syslog/syslog-forwarder.js';
import { isValidGlob } from '../functions/domain/auth/path-glob.js';
import { ENV } from '../functions/runtime/definitions.js';

export interface SyslogSettings {
  /** `udp://`, `tcp://` or `tls://host:port`. */
  readonly url: string;
  /** `local0`..`local7`, `authpriv`, ... or 0..23. @default local6 */
  readonly facility?: string;
  /** RFC 5424 HOSTNAME. @default the function's host name */
  readonly hostname?: string;
  /** RFC 5424 APP-NAME. @default scaivault */
  readonly appName?: string;
  /** Messages held while the relay is unreachable. @default 10000 */
  readonly bufferSize?: number;
  /** PEM of the relay's CA (tls:// only), bundled into the functions' environment. */
  readonly caPem?: string;
}

export interface AuditSettings {
  readonly syslog?: SyslogSettings;
  /** Path globs whose first read by an identity raises a detection. @default none */
  readonly sensitivePaths?: readonly string[];
}

/** Lambda allows 4 KB of environment in all; a CA larger than this belongs in the trust store of a layer. */
const MAX_CA_PEM_BYTES = 2500;

const syslogEnvironment = (syslog: SyslogSettings): Record<string, string> => {
  const target = parseSyslogUrl(syslog.url);
  const environment: Record<string, string> = { [ENV.syslogUrl]: syslog.url };
  if (syslog.facility !== undefined) environment[ENV.syslogFacility] = String(parseFacility(syslog.facility));
  if (syslog.hostname !== undefined) environment[ENV.syslogHostname] = syslog.hostname;
  if (syslog.appName !== undefined) environment[ENV.syslogAppName] = syslog.appName;
  if (syslog.bufferSize !== undefined) {
    if (!Number.isInteger(syslog.bufferSize) || syslog.bufferSize < 1)
      throw new Error(`syslog buffer size must be a positive integer, got ${syslog.bufferSize}`);
    environment[ENV.syslogBufferSize] = String(syslog.bufferSize);
  }
  if (syslog.caPem !== undefined) {
    if (target.transport !== 'tls') throw new Error('a syslog CA applies to tls:// relays only');
    if (!syslog.caPem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('the syslog CA is not a PEM certificate');
    if (Buffer.byteLength(syslog.caPem) > MAX_CA_PEM_BYTES)
      throw new Error(`the syslog CA PEM is over ${MAX_CA_PEM_BYTES} bytes, too large for a Lambda environment`);
    environment[ENV.syslogCaPem] = syslog.caPem;
  }
  return environment;
};

/** The environment variables of every function for these settings; throws on anything malformed. */
export const auditSettingsEnvironment = (settings: AuditSettings): Record<string, string> => {
  const environment = settings.syslog ? syslogEnvironment(settings.syslog) : {};
  const paths = settings.sensitivePaths ?? [];
  const invalid = paths.find((glob) => !isValidGlob(glob));
  if (invalid !== undefined) throw new Error(`sensitive path "${invalid}" is not a valid path glob`);
  if (paths.length > 0) environment[ENV.auditSensitivePaths] = paths.join(',');
  return environment;
};

/**
 * From `-c scaivault:<key>=...`: syslogUrl, syslogFacility, syslogHostname, syslogAppName,
 * syslogBufferSize, syslogCaFile (a PEM file read at synth) and auditSensitivePaths (comma-separated).
 */
export const auditSettingsFromContext = (context: (key: string) => string | undefined): AuditSettings => {
  const url = context('syslogUrl');
  const buffer = context('syslogBufferSize');
  const caFile = context('syslogCaFile');
  const paths = context('auditSensitivePaths');
  return {
    syslog: url
      ? {
          url,
          facility: context('syslogFacility'),
          hostname: context('syslogHostname'),
          appName: context('syslogAppName'),
          bufferSize: buffer === undefined ? undefined : Number(buffer),
          caPem: caFile === undefined ? undefined : readFileSync(caFile, 'utf8'),
        }
      : undefined,
    sensitivePaths: paths
      ?.split(',')
      .map((glob) => glob.trim())
      .filter(Boolean),
  };
};

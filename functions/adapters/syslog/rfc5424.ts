// RFC 5424 syslog messages for audit events:
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [scaivault@32473 k="v" ...] MSG
// MSG carries no BOM, so receivers treat it as opaque octets (§6.4); everything a
// SIEM should index is in the structured data.
import { hostname } from 'node:os';
import type { AuditEvent, AuditOutcome } from '../../domain/audit/audit-event.js';

/**
 * Default facility 22 (local6), as SIEM relays set up for vaults and PKI
 * (reference 002) expect it. 10 (authpriv) routes to restricted files by
 * default (Debian: /var/log/auth.log) and 13 ("log audit") is the other fit:
 * pass `facility` (SCAIVAULT_SYSLOG_FACILITY) to choose.
 */
export const DEFAULT_FACILITY = 22;

const NAMED_FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  audit: 13,
  alert: 14,
  clock: 15,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

/** A facility by name (`local6`, `authpriv`) or number (0..23). */
export const parseFacility = (raw: string): number => {
  const named = NAMED_FACILITIES[raw.trim().toLowerCase()];
  return validateFacility(named ?? (/^\d+$/.test(raw.trim()) ? Number(raw.trim()) : Number.NaN));
};
export const APP_NAME = 'scaivault';
/** SD-ID with a private enterprise number (§7.2.2). 32473 is IANA's documentation PEN (RFC 5612). */
export const SD_ID = 'scaivault@32473';
const NILVALUE = '-';

export const SEVERITY: Readonly<Record<AuditOutcome, number>> = {
  success: 6, // informational
  denied: 4, // warning
  failure: 4, // warning
  error: 3, // error
  attempted: 6, // informational: the outcome follows in its own record
};

/** Detections are warnings whatever their outcome: someone should look. */
const DETECTION_SEVERITY = 4;

export interface Rfc5424Options {
  /** 0..23; default 10 (authpriv). */
  readonly facility?: number;
  /** HOSTNAME field; default os.hostname(). */
  readonly hostname?: string;
  /** APP-NAME field; default `scaivault`. */
  readonly appName?: string;
  /** PROCID field; default process.pid, `null` for NILVALUE. */
  readonly procId?: string | number | null;
}

// SD-NAMEs are fixed here so they are checked once, at load, against §6.3.3's limits.
const PARAMS: ReadonlyArray<readonly [name: string, pick: (event: AuditEvent) => string | undefined]> = [
  ['eventId', (event) => event.eventId],
  ['type', (event) => event.type],
  ['outcome', (event) => event.outcome],
  ['tenant', (event) => event.tenantId],
  ['identity', (event) => event.identityId],
  ['path', (event) => event.path],
  ['requestId', (event) => event.requestId],
  ['source', (event) => event.sourceAddress],
  ['userAgent', (event) => event.userAgent],
  ['method', (event) => event.method],
  ['status', (event) => (event.status === undefined ? undefined : String(event.status))],
];
for (const [name] of PARAMS) {
  if (!/^[\x21-\x7e]{1,32}$/.test(name) || /[= \]"]/.test(name)) throw new Error(`invalid SD-NAME ${name}`);
}

/**
 * A header field as 1*max PRINTUSASCII (%d33-126), NILVALUE when nothing is left.
 * Anything outside that range becomes `_` rather than vanishing, so a sanitised
 * value still shows that something was there.
 */
export const headerField = (value: string | number | null | undefined, max: number): string => {
  if (value === null || value === undefined) return NILVALUE;
  const printable = String(value)
    .replace(/[^\x21-\x7e]/g, '_')
    .slice(0, max);
  return printable === '' ? NILVALUE : printable;
};

/**
 * PARAM-VALUE escaping (§6.3.3): `"`, `\` and `]` take a backslash. Control
 * characters are legal UTF-8 there but are replaced by a space: audit fields are
 * identifiers, and a newline in one is an attempt to forge a record in any
 * relay that splits on newlines.
 */
export const escapeParamValue = (value: string): string => value.replace(/[\x00-\x1f\x7f]/g, ' ').replace(/["\\\]]/g, (char) => `\\${char}`);

/** §6.2.3: the instant as a full-date "T" full-time in UTC, NILVALUE if unparseable. */
const timestamp = (time: string): string => {
  const millis = Date.parse(time);
  return Number.isNaN(millis) ? NILVALUE : new Date(millis).toISOString();
};

const structuredData = (event: AuditEvent): string => {
  const params = PARAMS.flatMap(([name, pick]) => {
    const value = pick(event);
    return value === undefined || value === '' ? [] : [` ${name}="${escapeParamValue(value)}"`];
  });
  // HMACs and details under prefixed names; the schema keeps their names to [a-z0-9_], at most 40 characters.
  const extra = [
    ...Object.entries(event.hmac ?? {}).map(([name, value]) => [`hmac.${name}`, value] as const),
    ...Object.entries(event.details ?? {}).map(([name, value]) => [`d.${name}`, String(value)] as const),
  ];
  for (const [name, value] of extra) params.push(` ${name.slice(0, 32)}="${escapeParamValue(value)}"`);
  return `[${SD_ID}${params.join('')}]`;
};

const summary = (event: AuditEvent): string => {
  const who = event.identityId ? ` by ${event.identityId}` : '';
  const where = event.path ? ` on ${event.path}` : '';
  const tenant = event.tenantId ? ` in tenant ${event.tenantId}` : '';
  return `${event.type} ${event.outcome}${where}${who}${tenant}`.replace(/[\x00-\x1f\x7f]/g, ' ');
};

export const priority = (facility: number, outcome: AuditOutcome, type = ''): number =>
  facility * 8 + (type.startsWith('detection.') ? DETECTION_SEVERITY : (SEVERITY[outcome] ?? SEVERITY.error)); // an unknown outcome is not quietly info

export const validateFacility = (facility: number): number => {
  if (!Number.isInteger(facility) || facility < 0 || facility > 23) {
    throw new RangeError(`syslog facility must be an integer 0..23, got ${facility}`);
  }
  return facility;
};

/** One RFC 5424 message (no transport framing, no trailing newline). */
export const formatRfc5424 = (event: AuditEvent, options: Rfc5424Options = {}): string => {
  const facility = validateFacility(options.facility ?? DEFAULT_FACILITY);
  const procId = options.procId === undefined ? process.pid : options.procId;
  return [
    `<${priority(facility, event.outcome, event.type)}>1`,
    timestamp(event.time),
    headerField(options.hostname ?? hostname(), 255),
    headerField(options.appName ?? APP_NAME, 48),
    headerField(procId, 128),
    headerField(event.type, 32),
    structuredData(event),
    summary(event),
  ].join(' ');
};

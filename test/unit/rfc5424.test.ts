import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { escapeParamValue, formatRfc5424, headerField, SD_ID } from '../../functions/adapters/syslog/rfc5424.js';
import { parseRfc5424 } from '../support/rsyslog-server.js';

const event = (overrides: Partial<AuditEvent> = {}): AuditEvent => ({
  eventId: 'evt-0001',
  time: '2026-04-21T14:23:45.123Z',
  type: 'secret.read',
  outcome: 'success',
  tenantId: 'acme',
  identityId: 'user:alice',
  path: 'prod/db/password',
  requestId: 'req-42',
  sourceAddress: '203.0.113.7',
  userAgent: 'scaivault-cli/1.2',
  ...overrides,
});

const fixed = { hostname: 'vault-1', procId: 4242 } as const;

describe('formatRfc5424', () => {
  it('writes the header, one structured-data element and a summary', () => {
    expect(formatRfc5424(event(), fixed)).toBe(
      '<182>1 2026-04-21T14:23:45.123Z vault-1 scaivault 4242 secret.read ' +
        '[scaivault@32473 eventId="evt-0001" type="secret.read" outcome="success" tenant="acme" identity="user:alice" ' +
        'path="prod/db/password" requestId="req-42" source="203.0.113.7" userAgent="scaivault-cli/1.2"] ' +
        'secret.read success on prod/db/password by user:alice in tenant acme',
    );
  });

  it.each([
    ['success', 6],
    ['denied', 4],
    ['failure', 4],
    ['error', 3],
  ] as const)('maps outcome %s to severity %i under facility 22 (local6) by default', (outcome, severity) => {
    const parsed = parseRfc5424(formatRfc5424(event({ outcome }), fixed));
    expect(parsed.severity).toBe(severity);
    expect(parsed.facility).toBe(22);
  });

  it('takes a configured facility into PRI and rejects one outside 0..23', () => {
    expect(formatRfc5424(event({ outcome: 'denied' }), { ...fixed, facility: 13 })).toMatch(/^<108>1 /);
    expect(formatRfc5424(event(), { ...fixed, facility: 0 })).toMatch(/^<6>1 /);
    expect(formatRfc5424(event({ outcome: 'error' }), { ...fixed, facility: 23 })).toMatch(/^<187>1 /);
    expect(() => formatRfc5424(event(), { ...fixed, facility: 24 })).toThrow(RangeError);
    expect(() => formatRfc5424(event(), { ...fixed, facility: 1.5 })).toThrow(RangeError);
  });

  it('uses the process id and host name unless told otherwise, and NILVALUE for a null PROCID', () => {
    const parsed = parseRfc5424(formatRfc5424(event()));
    expect(parsed.procId).toBe(String(process.pid));
    expect(parsed.hostname).not.toBe('-');
    expect(parseRfc5424(formatRfc5424(event(), { ...fixed, procId: null })).procId).toBe('-');
  });

  it('normalises the timestamp to UTC and writes NILVALUE when it cannot be read', () => {
    expect(parseRfc5424(formatRfc5424(event({ time: '2026-04-21T16:23:45+02:00' }), fixed)).timestamp).toBe('2026-04-21T14:23:45.000Z');
    expect(parseRfc5424(formatRfc5424(event({ time: 'yesterday-ish' }), fixed)).timestamp).toBe('-');
  });

  it('keeps header fields printable US-ASCII, within their lengths, and NILVALUE when empty', () => {
    const line = formatRfc5424(event({ type: 'secret read\u00e9/with spaces and a very long tail past 32' }), {
      hostname: `h${'x'.repeat(300)}`,
      appName: '',
      procId: 'pid with space',
    });
    const parsed = parseRfc5424(line);
    expect(parsed.msgId).toBe('secret_read_/with_spaces_and_a_v');
    expect(parsed.msgId).toHaveLength(32);
    expect(parsed.hostname).toHaveLength(255);
    expect(parsed.appName).toBe('-');
    expect(parsed.procId).toBe('pid_with_space');
    expect(headerField('', 32)).toBe('-');
    expect(headerField(undefined, 32)).toBe('-');
    expect(headerField('\u00fc\u00fc', 32)).toBe('__');
  });

  it('escapes ", \\ and ] in PARAM-VALUEs (RFC 5424 §6.3.3) and nothing else', () => {
    expect(escapeParamValue('a"b\\c]d[e=f')).toBe('a\\"b\\\\c\\]d[e=f');
    const line = formatRfc5424(event({ path: 'x"] [evil@1 a="b', userAgent: 'back\\slash ]"' }), fixed);
    expect(line).toContain('path="x\\"\\] [evil@1 a=\\"b"');
    expect(line).toContain('userAgent="back\\\\slash \\]\\""');
    // The injected text stays inside one parameter: one SD element, nothing forged.
    const parsed = parseRfc5424(line);
    expect(Object.keys(parsed.structuredData)).toEqual([SD_ID]);
    expect(parsed.structuredData[SD_ID]?.path).toBe('x"] [evil@1 a="b');
    expect(parsed.structuredData[SD_ID]?.userAgent).toBe('back\\slash ]"');
  });

  it('replaces control characters so a value cannot start a forged line', () => {
    const line = formatRfc5424(event({ userAgent: 'ua\n<86>1 - forged', path: 'a\tb\u0000c' }), fixed);
    expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
    expect(parseRfc5424(line).structuredData[SD_ID]?.userAgent).toBe('ua <86>1 - forged');
  });

  it('leaves out parameters that are absent or empty', () => {
    const line = formatRfc5424({ eventId: 'e', time: '2026-01-01T00:00:00Z', type: 'auth.login', outcome: 'denied', tenantId: '' }, fixed);
    expect(parseRfc5424(line).structuredData[SD_ID]).toEqual({ eventId: 'e', type: 'auth.login', outcome: 'denied' });
    expect(parseRfc5424(line).msg).toBe('auth.login denied');
  });

  it('round-trips every field through an independent parser, including UTF-8 values', () => {
    const original = event({
      eventId: '0190e7a4-7f3c-7cc1-9d55-1e2b3c4d5e6f',
      type: 'secret.rotate',
      outcome: 'failure',
      tenantId: 't\u00fcnant-\u65e5\u672c',
      identityId: 'svc:rotator\\prod',
      path: 'team/[a]/"quoted"/\\\\share',
      userAgent: 'Mozilla/5.0 (X11; Linux) \u{1F512}',
    });
    const parsed = parseRfc5424(formatRfc5424(original, { hostname: 'vault-1.example.net', procId: 7, facility: 13 }));
    expect(parsed).toMatchObject({
      facility: 13,
      severity: 4,
      version: 1,
      timestamp: original.time,
      hostname: 'vault-1.example.net',
      appName: 'scaivault',
      procId: '7',
      msgId: 'secret.rotate',
    });
    expect(parsed.structuredData).toEqual({
      [SD_ID]: {
        eventId: original.eventId,
        type: original.type,
        outcome: original.outcome,
        tenant: original.tenantId,
        identity: original.identityId,
        path: original.path,
        requestId: original.requestId,
        source: original.sourceAddress,
        userAgent: original.userAgent,
      },
    });
    expect(parsed.msg).toBe(`secret.rotate failure on ${original.path} by ${original.identityId} in tenant ${original.tenantId}`);
  });

  it('never writes a byte-order mark, so MSG is plain octets', () => {
    expect(formatRfc5424(event(), fixed)).not.toContain('\uFEFF');
  });
});

describe('parseRfc5424 (the test parser itself)', () => {
  it('rejects what the grammar forbids, so the round trip above can fail', () => {
    expect(() => parseRfc5424('<86>1 - h a - m [x@1 k="unescaped]"] msg')).toThrow(/unescaped \]/);
    expect(() => parseRfc5424('<192>1 - h a - m - msg')).toThrow(/PRI/);
    expect(() => parseRfc5424('<86>1 2026-13-01T00:00:00Z h a - m - msg')).toThrow(/TIMESTAMP/);
    expect(() => parseRfc5424(`<86>1 - h a - ${'m'.repeat(33)} - msg`)).toThrow(/MSGID/);
    expect(() => parseRfc5424('<86>1 - h a - m [x@1 k=unquoted] msg')).toThrow();
    expect(parseRfc5424('<86>1 - h a - m [x@1 k="a\\b"] msg').structuredData['x@1']?.k).toBe('a\\b');
  });
});

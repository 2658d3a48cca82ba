import { describe, expect, it } from 'vitest';
import { auditKeyOf, canonicalJson, clip, InvalidAuditEventError, newAuditEventId, type AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { validateAuditEvent } from '../../functions/domain/audit/audit-event-schema.js';
import { sampleEvent } from './support/in-memory-audit.js';

const rejects = (overrides: Record<string, unknown>): void => {
  expect(() => validateAuditEvent({ ...sampleEvent(), ...overrides } as AuditEvent)).toThrow(InvalidAuditEventError);
};

describe('validateAuditEvent', () => {
  it('accepts a complete event and returns it unchanged', () => {
    const event = sampleEvent({
      requestId: 'req-1',
      sourceAddress: '203.0.113.7',
      userAgent: 'curl/8.5',
      method: 'GET',
      status: 200,
      hmac: { token: `hmac-sha256:${'a'.repeat(64)}` },
      details: { version: 3, cached: true, reason: 'scheduled' },
    });
    expect(validateAuditEvent(event)).toBe(event);
  });

  it('accepts ids made by newAuditEventId and every outcome', () => {
    for (const outcome of ['success', 'failure', 'denied', 'error', 'attempted'] as const) {
      expect(() => validateAuditEvent(sampleEvent({ eventId: newAuditEventId(), outcome }))).not.toThrow();
    }
  });

  it.each([
    ['missing prefix', `${'a'.repeat(32)}`],
    ['wrong prefix', `evt_${'a'.repeat(32)}`],
    ['upper-case hex', `aev_${'A'.repeat(32)}`],
    ['31 digits', `aev_${'a'.repeat(31)}`],
    ['33 digits', `aev_${'a'.repeat(33)}`],
    ['not hex', `aev_${'g'.repeat(32)}`],
  ])('rejects an id with %s', (_, eventId) => rejects({ eventId }));

  it.each([
    ['no milliseconds', '2026-04-21T12:00:00Z'],
    ['an offset', '2026-04-21T12:00:00.000+02:00'],
    ['an impossible month', '2026-13-21T12:00:00.000Z'],
    ['a date only', '2026-04-21'],
  ])('rejects a time with %s', (_, time) => rejects({ time }));

  it.each([
    ['upper case', 'Secret.Read'],
    ['an empty segment', 'secret..read'],
    ['a trailing dot', 'secret.'],
    ['a leading digit', '1secret'],
    ['a space', 'secret read'],
    ['65 characters', `a${'b'.repeat(64)}`],
    ['nothing', ''],
  ])('rejects a type with %s', (_, type) => rejects({ type }));

  it('accepts a 64-character type and a single-segment type', () => {
    expect(() => validateAuditEvent(sampleEvent({ type: `a${'b'.repeat(63)}` }))).not.toThrow();
    expect(() => validateAuditEvent(sampleEvent({ type: 'policy_violation' }))).not.toThrow();
  });

  it.each(['ok', 'SUCCESS', '', 'allowed'])('rejects outcome %j', (outcome) => rejects({ outcome }));

  it.each([
    ['tenantId', 128],
    ['identityId', 256],
    ['path', 1024],
    ['requestId', 200],
    ['sourceAddress', 64],
    ['userAgent', 256],
    ['method', 10],
  ])('limits %s to %i printable characters', (field, max) => {
    expect(() => validateAuditEvent({ ...sampleEvent(), [field]: 'x'.repeat(max) } as AuditEvent)).not.toThrow();
    rejects({ [field]: 'x'.repeat(max + 1) });
    rejects({ [field]: 'a\nb' });
    rejects({ [field]: 'a\u0000b' });
    rejects({ [field]: 'a\u007fb' });
    rejects({ [field]: 42 });
  });

  it('rejects a status that is not an HTTP status', () => {
    for (const status of [99, 600, 200.5, Number.NaN]) rejects({ status });
  });

  it.each([
    ['no prefix', { token: 'a'.repeat(64) }],
    ['another algorithm', { token: `hmac-sha1:${'a'.repeat(64)}` }],
    ['short digest', { token: `hmac-sha256:${'a'.repeat(63)}` }],
    ['upper-case digest', { token: `hmac-sha256:${'A'.repeat(64)}` }],
    ['a raw value', { token: 'svt_supersecret' }],
    ['a bad name', { Token: `hmac-sha256:${'a'.repeat(64)}` }],
  ])('rejects an hmac with %s', (_, hmac) => rejects({ hmac }));

  it('rejects details that are too many, badly named, non-finite, too long or unprintable', () => {
    rejects({ details: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`d${i}`, i])) });
    expect(() => validateAuditEvent(sampleEvent({ details: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`d${i}`, i])) }))).not.toThrow();
    rejects({ details: { 'Bad-Name': 1 } });
    rejects({ details: { count: Number.POSITIVE_INFINITY } });
    rejects({ details: { count: Number.NaN } });
    rejects({ details: { reason: 'x'.repeat(513) } });
    rejects({ details: { reason: 'line\nbreak' } });
    rejects({ details: { nested: { a: 1 } } });
  });
});

describe('canonicalJson', () => {
  it('gives the same bytes whatever the key order, at every level', () => {
    const a = { type: 'x', details: { b: 1, a: [{ y: 2, x: 1 }] }, eventId: 'e' };
    const b = { eventId: 'e', details: { a: [{ x: 1, y: 2 }], b: 1 }, type: 'x' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"details":{"a":[{"x":1,"y":2}],"b":1},"eventId":"e","type":"x"}');
  });

  it('drops undefined members, so an absent field and an undefined one hash alike', () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe(canonicalJson({ a: 1 }));
  });

  it('keeps array order and distinguishes values', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
    expect(canonicalJson(null)).toBe('null');
  });
});

describe('event keys and clipping', () => {
  it('keys sort by time first', () => {
    const early = sampleEvent({ time: '2026-04-21T12:00:00.000Z', eventId: `aev_${'f'.repeat(32)}` });
    const late = sampleEvent({ time: '2026-04-21T12:00:00.001Z', eventId: `aev_${'0'.repeat(32)}` });
    expect(auditKeyOf(early) < auditKeyOf(late)).toBe(true);
  });

  it('clip replaces control characters and cuts to the limit', () => {
    expect(clip('a\nb\u0000c', 10)).toBe('a_b_c');
    expect(clip('abcdef', 3)).toBe('abc');
    expect(clip(undefined, 3)).toBeUndefined();
  });
});

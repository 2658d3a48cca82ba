import { describe, expect, it } from 'vitest';
import { retryAfterMs } from '../../functions/adapters/http/retry-after.js';
import { formatNotification, hourWindow, operationalEventOf, truncate } from '../../functions/domain/notifications/notification-service.js';

describe('notification formatting', () => {
  it('cuts text to a limit in characters, not bytes, and marks the cut', () => {
    expect(truncate('short', 10)).toBe('short');
    const cut = truncate('🚨'.repeat(50), 20);
    expect([...cut]).toHaveLength(20);
    expect(cut.endsWith('… (truncated)')).toBe(true);
  });

  it('names the environment, the event, the error and the time; a warning without an error has no error line', () => {
    const at = Date.parse('2026-06-22T14:30:00.000Z');
    expect(formatNotification('prod', { event: 'audit.dormant_secret_read', summary: 'audit detection on a/b (tenant t)', severity: 'warning', at })).toBe(
      '⚠️ [prod] audit.dormant_secret_read: audit detection on a/b (tenant t)\nTimestamp: 2026-06-22T14:30:00.000Z',
    );
  });

  it('buckets the budget by clock hour', () => {
    expect(hourWindow(Date.parse('2026-06-22T14:59:59.999Z'))).toBe('2026-06-22T14');
    expect(hourWindow(Date.parse('2026-06-22T15:00:00.000Z'))).toBe('2026-06-22T15');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs('Mon, 22 Jun 2026 14:30:05 GMT', Date.parse('2026-06-22T14:30:00Z'))).toBe(5000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });

  it('turns failed rotations and detections into operational events, and leaves secret events alone', () => {
    expect(operationalEventOf({ type: 'rotation.failed', tenantId: 't', data: { path: 'db/pw', reason: 'RotatorError' }, occurredAt: '' }, 0)).toMatchObject({
      event: 'rotation.failed',
      error: 'RotatorError',
      severity: 'critical',
    });
    expect(operationalEventOf({ type: 'audit.policy_violation_spike', tenantId: 't', data: {}, occurredAt: '' }, 0)?.severity).toBe('warning');
    expect(operationalEventOf({ type: 'secret.updated', tenantId: 't', data: { path: 'db/pw' }, occurredAt: '' }, 0)).toBeUndefined();
  });
});

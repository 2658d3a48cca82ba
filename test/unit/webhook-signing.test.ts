import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newSigningSecret, signatureHeader, signedHeaders, signPayload } from '../../functions/domain/webhooks/webhook-signing.js';

// Our signatures are checked by the Standard Webhooks reference library, not by our own code.
describe('webhook signing (Standard Webhooks)', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('makes whsec_ secrets of 24 to 32 random bytes, never twice the same', () => {
    const secrets = new Set(Array.from({ length: 50 }, newSigningSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
      const bytes = Buffer.from(secret.slice('whsec_'.length), 'base64').length;
      expect(bytes).toBeGreaterThanOrEqual(24);
      expect(bytes).toBeLessThanOrEqual(32);
    }
  });

  it('produces signatures the reference verifier accepts, and only for the exact message', () => {
    const secret = newSigningSecret();
    const body = JSON.stringify({ type: 'secret.created', timestamp: '2026-01-01T00:00:00.000Z', data: { path: 'db/password', version: 1 } });
    const headers = signedHeaders([secret], 'whd_0123456789abcdef', now(), body);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));

    expect(() => new Webhook(secret).verify(body.replace('db/password', 'db/other'), { ...headers })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(body, { ...headers, 'webhook-id': 'whd_somebodyelse' })).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newSigningSecret()).verify(body, { ...headers })).toThrow(WebhookVerificationError);
  });

  it('signs with every given secret, newest first, so receivers holding either one verify', () => {
    const [current, previous, stranger] = [newSigningSecret(), newSigningSecret(), newSigningSecret()];
    const body = '{"type":"secret.updated"}';
    const timestamp = now();
    const header = signatureHeader([current, previous], 'whd_abcdefgh12345678', timestamp, body);
    expect(header.split(' ')).toEqual([
      signPayload(current, 'whd_abcdefgh12345678', timestamp, body),
      signPayload(previous, 'whd_abcdefgh12345678', timestamp, body),
    ]);
    const headers = { 'webhook-id': 'whd_abcdefgh12345678', 'webhook-timestamp': String(timestamp), 'webhook-signature': header };
    expect(new Webhook(current).verify(body, headers)).toEqual({ type: 'secret.updated' });
    expect(new Webhook(previous).verify(body, headers)).toEqual({ type: 'secret.updated' });
    expect(() => new Webhook(stranger).verify(body, headers)).toThrow(WebhookVerificationError);
  });

  it('matches the reference implementation byte for byte', () => {
    const secret = newSigningSecret();
    const timestamp = 1_700_000_000;
    const body = '{"a":"é 🚀"}';
    expect(signPayload(secret, 'whd_vectorvector', timestamp, body)).toBe(new Webhook(secret).sign('whd_vectorvector', new Date(timestamp * 1000), body));
  });
});

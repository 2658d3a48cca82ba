import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { OtlpReceiver, SPAN_KIND } from './support/otlp-receiver.js';
import { waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { verifyDelivery, WebhookReceiver, type ReceivedDelivery } from './support/webhook-receiver.js';

// Webhooks end to end on the embedded stack: the api records subscriptions and
// fans events out through the outbox, the webhook-worker (polled from the SQS
// queue as Lambda's event source mapping would) signs and delivers them to a
// receiver that verifies with the Standard Webhooks reference library.

describe('webhooks', () => {
  let vault: VaultProcess;
  let receiver: WebhookReceiver;
  let otlp: OtlpReceiver;
  const shownSecrets: string[] = [];
  const secretValues: string[] = [];
  const tokens: string[] = [];

  const tenant = async (name: string): Promise<string> => {
    const token = await createIdentity(vault, { tenant: name, identity: 'sa:ops', policies: ['admin'] });
    tokens.push(token);
    return token;
  };

  const createWebhook = async (token: string, path: string, eventTypes = ['secret.created', 'secret.updated'], host = '127.0.0.1') => {
    const response = await vault.request('POST', '/v1/webhooks', {
      token,
      body: { url: receiver.url(path, host), event_types: eventTypes, description: `test ${path}` },
    });
    expect(response.status, response.text).toBe(201);
    shownSecrets.push(response.body.secret as string);
    return response.body as { id: string; secret: string; url: string; event_types: string[] };
  };

  const writeSecret = async (token: string, path: string, headers: Record<string, string> = {}) => {
    const value = `value-${path}-${Math.random().toString(36).slice(2)}`;
    secretValues.push(value);
    const response = await vault.request('PUT', `/v1/secrets/${path}`, { token, body: { value }, headers });
    expect([200, 201], response.text).toContain(response.status);
    return response.body as { version: number };
  };

  const deliveriesAt = async (path: string, count: number, timeoutMs = 20_000): Promise<ReceivedDelivery[]> => {
    await waitFor(async () => receiver.at(path).length >= count, timeoutMs, `${count} deliveries at ${path}`);
    return receiver.at(path);
  };

  const history = async (token: string, id: string) => {
    const response = await vault.request('GET', `/v1/webhooks/${id}/deliveries?limit=100`, { token });
    expect(response.status, response.text).toBe(200);
    return response.body.deliveries as {
      job_id: string;
      attempt: number;
      attempted_at: string;
      status_code: number | null;
      error: string | null;
      latency_ms: number;
      outcome: string;
      retry_in_ms: number | null;
    }[];
  };

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    otlp = await OtlpReceiver.start();
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
        SCAIVAULT_WEBHOOK_BACKOFF_BASE_MS: '250',
        SCAIVAULT_WEBHOOK_BACKOFF_CAP_MS: '2000',
        SCAIVAULT_METRICS_FLUSH_SECONDS: '1',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await receiver?.close();
    await otlp?.close();
  });

  it('validates subscriptions and requires admin', async () => {
    const token = await tenant('wh-validate');
    const bad = async (body: unknown) => (await vault.request('POST', '/v1/webhooks', { token, body })).status;
    expect(await bad({ url: 'ftp://example.com/', event_types: ['secret.created'] })).toBe(400);
    expect(await bad({ url: 'not a url', event_types: ['secret.created'] })).toBe(400);
    expect(await bad({ url: 'https://example.com/', event_types: ['secret.exploded'] })).toBe(400);
    expect(await bad({ url: 'https://example.com/', event_types: [] })).toBe(400);
    expect(await bad({ url: 'https://example.com/', event_types: ['secret.created'], secret: 'mine' })).toBe(400);

    const reader = await createIdentity(vault, {
      tenant: 'wh-validate',
      identity: 'sa:reader',
      rules: [{ path: '**', capabilities: ['read', 'write', 'list'] }],
    });
    tokens.push(reader);
    expect(
      (await vault.request('POST', '/v1/webhooks', { token: reader, body: { url: 'https://example.com/', event_types: ['secret.created'] } })).status,
    ).toBe(403);
    expect((await vault.request('GET', '/v1/webhooks', { token: reader })).status).toBe(403);
    expect((await vault.request('GET', '/v1/webhooks', { token: null })).status).toBe(401);
  });

  it('delivers signed events with trace context; lists without secrets; deletes', async () => {
    const token = await tenant('wh-deliver');
    const webhook = await createWebhook(token, '/deliver');
    expect(webhook.id).toMatch(/^wh_[0-9a-f]{24}$/);
    expect(webhook.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(webhook.secret.slice(6), 'base64').length).toBeGreaterThanOrEqual(24);

    const listed = await vault.request('GET', '/v1/webhooks', { token });
    expect(listed.status).toBe(200);
    expect(listed.body.webhooks).toMatchObject([{ id: webhook.id, url: webhook.url, event_types: ['secret.created', 'secret.updated'] }]);
    expect(listed.text).not.toContain('whsec_');

    const requestTraceId = '5b8efff798038103d269b633813fc60c';
    await writeSecret(token, 'app/db-password', { 'x-request-id': requestTraceId });
    const [created] = await deliveriesAt('/deliver', 1);
    expect(verifyDelivery(webhook.secret, created!)).toMatchObject({ type: 'secret.created', data: { path: 'app/db-password', version: 1 } });
    expect(created!.headers['user-agent']).toBe('ScaiVault-Webhooks/1');
    // The delivery continues the trace of the write that caused it.
    const traceparent = String(created!.headers.traceparent);
    expect(traceparent).toMatch(new RegExp(`^00-${requestTraceId}-[0-9a-f]{16}-01$`));
    await waitFor(async () => otlp.spans.some((s) => s.kind === SPAN_KIND.client && traceparent.includes(s.spanId)), 15_000, 'the delivery span');
    expect(otlp.spans.find((s) => traceparent.includes(s.spanId))).toMatchObject({ traceId: requestTraceId, name: 'POST' });

    await writeSecret(token, 'app/db-password');
    const [, updated] = await deliveriesAt('/deliver', 2);
    expect(verifyDelivery(webhook.secret, updated!)).toMatchObject({ type: 'secret.updated', data: { path: 'app/db-password', version: 2 } });
    expect(updated!.headers['webhook-id']).not.toBe(created!.headers['webhook-id']);

    // An attempt is in the history as `unknown` from before its POST until its outcome is recorded.
    let deliveries: Awaited<ReturnType<typeof history>> = [];
    await waitFor(async () => (deliveries = await history(token, webhook.id)).every((d) => d.outcome !== 'unknown'), 10_000, "the attempts' outcomes");
    expect(deliveries.map((d) => [d.status_code, d.outcome])).toEqual([
      [204, 'success'],
      [204, 'success'],
    ]);
    expect(deliveries[0]!.latency_ms).toBeGreaterThanOrEqual(0);

    expect((await vault.request('DELETE', `/v1/webhooks/${webhook.id}`, { token })).status).toBe(204);
    expect((await vault.request('DELETE', `/v1/webhooks/${webhook.id}`, { token })).status).toBe(404);
    expect((await vault.request('GET', '/v1/webhooks', { token })).body.webhooks).toEqual([]);
    await writeSecret(token, 'app/after-delete');
    await new Promise((r) => setTimeout(r, 2000));
    expect(receiver.at('/deliver')).toHaveLength(2);
  });

  it('signs with both the new and the previous secret after a rotation', async () => {
    const token = await tenant('wh-rotate');
    const webhook = await createWebhook(token, '/rotate', ['secret.created']);
    const rotated = await vault.request('POST', `/v1/webhooks/${webhook.id}/rotate-secret`, { token });
    expect(rotated.status, rotated.text).toBe(200);
    const newSecret = rotated.body.secret as string;
    shownSecrets.push(newSecret);
    expect(newSecret).not.toBe(webhook.secret);
    expect(rotated.body.secret_version).toBe(2);
    expect(Date.parse(rotated.body.previous_secret_expires_at) - Date.now()).toBeGreaterThan(23.9 * 3600 * 1000);

    await writeSecret(token, 'rotated/one');
    const [delivery] = await deliveriesAt('/rotate', 1);
    expect(String(delivery!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyDelivery(newSecret, delivery!)).toMatchObject({ type: 'secret.created', data: { path: 'rotated/one' } });
    expect(verifyDelivery(webhook.secret, delivery!)).toMatchObject({ type: 'secret.created', data: { path: 'rotated/one' } });
  });

  it('retries a failing receiver with growing backoff, then dead-letters the delivery', async () => {
    const token = await tenant('wh-failing');
    receiver.statusByPath.set('/failing', 500);
    const webhook = await createWebhook(token, '/failing', ['secret.created']);
    await writeSecret(token, 'failing/one');

    let attempts: Awaited<ReturnType<typeof history>> = [];
    await waitFor(
      async () => {
        attempts = await history(token, webhook.id);
        return attempts.some((a) => a.outcome === 'failed');
      },
      50_000,
      'the delivery to be given up',
    );
    const ordered = [...attempts].reverse();
    // WEBHOOK_QUEUE.maxReceiveCount attempts, each a 500, one job id throughout.
    expect(ordered.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ordered.every((a) => a.status_code === 500)).toBe(true);
    expect(new Set(ordered.map((a) => a.job_id)).size).toBe(1);
    expect(ordered.map((a) => a.outcome)).toEqual([...Array(7).fill('retrying'), 'failed']);
    // Each delay lies under a ceiling that doubles from 250 ms up to the 2 s cap (SQS counts whole seconds).
    ordered.slice(0, 7).forEach((a, index) => {
      expect(a.retry_in_ms).toBeGreaterThanOrEqual(0);
      expect(a.retry_in_ms!).toBeLessThanOrEqual(Math.ceil(Math.min(2000, 250 * 2 ** index) / 1000) * 1000);
    });
    // And the queue honoured them: no attempt came back before its delay was over.
    const received = receiver.at('/failing');
    expect(received).toHaveLength(8);
    for (let i = 0; i < 7; i += 1) {
      expect(received[i + 1]!.receivedAt - received[i]!.receivedAt).toBeGreaterThanOrEqual(ordered[i]!.retry_in_ms! - 50);
    }
    expect(new Set(received.map((d) => d.headers['webhook-id'])).size).toBe(1);

    await waitFor(
      async () => {
        const samples = parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text);
        return (
          sumOf(samples, 'scaivault_jobs_dead_letter_total', { queue: 'webhook' }) >= 1 &&
          sumOf(samples, 'scaivault_webhook_deliveries_total', { status: 'failed' }) >= 8
        );
      },
      15_000,
      'the dead-letter and delivery counters',
    );
    const samples = parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text);
    expect(sumOf(samples, 'scaivault_webhook_delivery_duration_seconds_count')).toBeGreaterThanOrEqual(8);
    // No further attempts once dead-lettered.
    await new Promise((r) => setTimeout(r, 2500));
    expect(receiver.at('/failing')).toHaveLength(8);
  });

  it('refuses at creation a private, loopback or metadata destination that is not allowlisted, storing nothing', async () => {
    const token = await tenant('wh-refused');
    for (const host of ['localhost', '127.0.0.2', '169.254.169.254', '10.0.0.1', '[::1]', 'metadata.google.internal']) {
      const response = await vault.request('POST', '/v1/webhooks', { token, body: { url: receiver.url('/refused', host), event_types: ['secret.created'] } });
      expect(response.status, host).toBe(400);
      expect(response.body, host).toMatchObject({ status: 400, field: 'url' });
    }
    expect((await vault.request('GET', '/v1/webhooks', { token })).body.webhooks).toEqual([]);
    // The allowlisted receiver is still accepted.
    await createWebhook(token, '/allowed', ['secret.created']);
  });

  it('never logs a signing secret, token or secret value', () => {
    expect(vault.output).toContain('webhook delivered');
    expect(shownSecrets.length).toBeGreaterThanOrEqual(5);
    for (const secret of shownSecrets) {
      expect(vault.output).not.toContain(secret);
      expect(vault.output).not.toContain(secret.slice(6, 30));
    }
    for (const value of secretValues) expect(vault.output).not.toContain(value);
    for (const token of [...tokens, vault.rootToken]) expect(vault.output).not.toContain(token);
    expect(vault.output).not.toContain('whsec_');
  });
});

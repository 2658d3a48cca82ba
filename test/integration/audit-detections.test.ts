import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SD_ID } from '../../functions/adapters/syslog/rfc5424.js';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { parseRfc5424, RsyslogServer } from '../support/rsyslog-server.js';
import { parseExposition, sumOf } from './support/exposition.js';
import { waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { verifyDelivery, WebhookReceiver } from './support/webhook-receiver.js';

// The sealer's detections on a running vault: each finding is counted in
// /v1/metrics, written to the trail as detection.<kind>, delivered to webhook
// subscribers as audit.<kind>, and relayed to rsyslog over TLS.

const DORMANT_DAYS = 0.00003; // 2.592 s
const DORMANT_MS = DORMANT_DAYS * 86_400_000;
const KINDS = ['policy_violation_spike', 'dormant_secret_read', 'new_identity_sensitive_read'] as const;
const TENANT = 'audit-detect';

describe('audit detections', () => {
  let receiver: WebhookReceiver;
  let relay: RsyslogServer;
  let vault: VaultProcess;
  let webhookSecret = '';
  let reader = '';
  let other = '';
  const startedAt = new Date(Date.now() - 1000).toISOString();

  const detections = async (kind: (typeof KINDS)[number]): Promise<AuditEvent[]> => {
    const query = new URLSearchParams({ from: startedAt, type: `detection.${kind}`, tenant_id: TENANT, limit: '1000' });
    const response = await vault.request('GET', `/v1/audit/events?${query}`);
    expect(response.status, response.text).toBe(200);
    return response.body.events as AuditEvent[];
  };
  const read = async (token: string, path: string): Promise<number> => (await vault.request('GET', `/v1/secrets/${path}`, { token })).status;
  const delivered = (kind: string) =>
    receiver
      .at('/audit')
      .map((delivery) => verifyDelivery(webhookSecret, delivery) as { type: string; data: Record<string, unknown> })
      .filter((body) => body.type === `audit.${kind}`);

  beforeAll(async () => {
    [receiver, relay] = await Promise.all([WebhookReceiver.start(), RsyslogServer.start()]);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
        SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '1',
        SCAIVAULT_AUDIT_DORMANT_DAYS: String(DORMANT_DAYS),
        SCAIVAULT_AUDIT_SENSITIVE_PATHS: 'prod/**',
        SCAIVAULT_AUDIT_VIOLATION_SPIKE_THRESHOLD: '3',
        SCAIVAULT_METRICS_FLUSH_SECONDS: '0.5',
        SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
        SCAIVAULT_SYSLOG_URL: relay.url('tls'),
        SCAIVAULT_SYSLOG_CA_FILE: relay.caFile,
      },
    });
    const admin = await createIdentity(vault, { tenant: TENANT, identity: 'sa:admin', policies: ['admin'] });
    const rules = [
      { path: 'app/**', capabilities: ['read'] },
      { path: 'prod/**', capabilities: ['read'] },
    ];
    reader = await createIdentity(vault, { tenant: TENANT, identity: 'sa:reader', rules });
    other = await createIdentity(vault, { tenant: TENANT, identity: 'sa:other', policies: ['sa-reader-policy'] });
    const webhook = await vault.request('POST', '/v1/webhooks', {
      token: admin,
      body: { url: receiver.url('/audit'), event_types: KINDS.map((kind) => `audit.${kind}`), description: 'audit detections' },
    });
    expect(webhook.status, webhook.text).toBe(201);
    webhookSecret = webhook.body.secret as string;
    for (const path of ['app/dormant', 'app/plain', 'prod/db']) {
      expect((await vault.request('PUT', `/v1/secrets/${path}`, { token: admin, body: { value: `value-of-${path}` } })).status).toBe(201);
    }
  });

  afterAll(async () => {
    await vault?.stop();
    await Promise.all([receiver?.close(), relay?.stop()]);
  });

  it('flags the first read of a sensitive path by each identity, once', async () => {
    expect(await read(reader, 'prod/db')).toBe(200);
    expect(await read(reader, 'prod/db')).toBe(200);
    expect(await read(other, 'prod/db')).toBe(200);
    // Not sensitive: no detection however new the reader.
    expect(await read(reader, 'app/plain')).toBe(200);

    await waitFor(async () => (await detections('new_identity_sensitive_read')).length >= 2, 15_000, 'two sensitive-read detections');
    const found = await detections('new_identity_sensitive_read');
    expect(found.map((event) => [event.path, event.details?.subject_identity, event.outcome, event.identityId]).sort()).toEqual([
      ['prod/db', 'sa:other', 'success', 'system:scheduler'],
      ['prod/db', 'sa:reader', 'success', 'system:scheduler'],
    ]);
    expect(found[0]!.details?.event_id).toMatch(/^aev_[0-9a-f]{32}$/);
  });

  it('flags a spike of policy violations in one tenant', async () => {
    // Twelve at once: even if a busy machine spreads them over four sealing runs, one run holds at least three.
    const statuses = await Promise.all(Array.from({ length: 12 }, () => read(reader, 'forbidden/x')));
    expect(statuses).toEqual(Array.from({ length: 12 }, () => 403));
    await waitFor(async () => (await detections('policy_violation_spike')).length >= 1, 15_000, 'a spike detection');
    const spikes = await detections('policy_violation_spike');
    expect(spikes.length).toBeLessThanOrEqual(4);
    let total = 0;
    for (const spike of spikes) {
      expect(spike).toMatchObject({ outcome: 'success', tenantId: TENANT, identityId: 'system:scheduler', details: { threshold: 3, identities: 1 } });
      expect(spike.details!.violations).toBeGreaterThanOrEqual(3);
      total += Number(spike.details!.violations);
    }
    expect(total).toBeLessThanOrEqual(12);
  });

  it('flags the read of a secret left unread for the dormancy period', async () => {
    expect(await read(reader, 'app/dormant')).toBe(200);
    // Read again within the period: not dormant.
    expect(await read(reader, 'app/dormant')).toBe(200);
    const lastRead = Date.now();
    // The dormancy period itself has to pass; nothing to poll for.
    await new Promise((resolve) => setTimeout(resolve, lastRead + DORMANT_MS + 500 - Date.now()));
    expect(await read(other, 'app/dormant')).toBe(200);

    await waitFor(async () => (await detections('dormant_secret_read')).length >= 1, 15_000, 'a dormant-read detection');
    const found = await detections('dormant_secret_read');
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'app/dormant', tenantId: TENANT, details: { subject_identity: 'sa:other', last_read_at: expect.any(String) } });
    expect(found[0]!.details!.idle_seconds).toBeGreaterThanOrEqual(3);
    expect(found[0]!.details!.idle_seconds).toBeLessThan(10);
  });

  it('counts, delivers and relays every detection', async () => {
    const expected = Object.fromEntries(await Promise.all(KINDS.map(async (kind) => [kind, (await detections(kind)).length] as const)));
    expect(expected.new_identity_sensitive_read).toBe(2);
    expect(expected.dormant_secret_read).toBe(1);

    const counted = async () => {
      const response = await vault.request('GET', '/v1/metrics');
      const samples = parseExposition(response.text);
      return Object.fromEntries(KINDS.map((kind) => [kind, sumOf(samples, 'scaivault_audit_detections_total', { detection: kind })]));
    };
    await waitFor(async () => JSON.stringify(await counted()) === JSON.stringify(expected), 10_000, 'the detection counters');

    await waitFor(async () => KINDS.every((kind) => delivered(kind).length >= expected[kind]!), 15_000, 'the detection webhooks');
    for (const kind of KINDS) expect(delivered(kind)).toHaveLength(expected[kind]!);
    expect(delivered('dormant_secret_read')[0]!.data).toMatchObject({ path: 'app/dormant', identity_id: 'sa:other', idle_seconds: expect.any(Number) });
    expect(
      delivered('new_identity_sensitive_read')
        .map((body) => `${body.data.path} ${body.data.identity_id}`)
        .sort(),
    ).toEqual(['prod/db sa:other', 'prod/db sa:reader']);
    expect(delivered('policy_violation_spike')[0]!.data).toMatchObject({ threshold: 3, path: null, identity_id: null });

    const ids = new Set((await Promise.all(KINDS.map(detections))).flat().map((event) => event.eventId));
    const relayed = () =>
      relay
        .messages()
        .map((line) => parseRfc5424(line))
        .filter((message) => ids.has(message.structuredData[SD_ID]?.eventId ?? ''));
    await waitFor(async () => relayed().length >= ids.size, 10_000, 'the detections at rsyslog over TLS');
    const messages = relayed();
    expect(messages).toHaveLength(ids.size);
    for (const message of messages) {
      // Detections are warnings, whatever their outcome.
      expect(message).toMatchObject({ appName: 'scaivault', facility: 22, severity: 4 });
      expect(message.structuredData[SD_ID]!.type).toMatch(/^detection\./);
      expect(message.structuredData[SD_ID]!.identity).toBe('system:scheduler');
    }
    const wire = relay.messages().join('\n');
    for (const secret of [reader, other, 'value-of-app/dormant', 'value-of-prod/db']) {
      expect(wire).not.toContain(secret);
      expect(vault.output).not.toContain(secret);
    }
  });
});

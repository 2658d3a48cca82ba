import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { FauxqsProcess, waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// The signals of issue 17 moved by real events on one embedded vault over HTTP:
// jobs through their queues and workers, the audit sealer, tokens near expiry.

describe('signals operators of other vaults look for', () => {
  let vault: VaultProcess;
  let receiver: WebhookReceiver;
  let fauxqs: FauxqsProcess;

  beforeAll(async () => {
    [receiver, fauxqs] = await Promise.all([WebhookReceiver.start(), FauxqsProcess.start()]);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_SQS_S3_ENDPOINT: fauxqs.endpoint,
        SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '0',
        SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
        SCAIVAULT_WEBHOOK_BACKOFF_BASE_MS: '2000',
        SCAIVAULT_WEBHOOK_BACKOFF_CAP_MS: '4000',
        SCAIVAULT_METRICS_FLUSH_SECONDS: '0.2',
        SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await receiver?.close();
    await fauxqs?.stop();
  });

  const scrape = async () => parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text);

  /** Waits until `check` holds on a scrape; returns that scrape. */
  const scrapeUntil = async (check: (samples: Map<string, number>) => boolean, what: string) => {
    let samples = new Map<string, number>();
    await waitFor(
      async () => {
        samples = await scrape();
        return check(samples);
      },
      20_000,
      what,
    );
    return samples;
  };

  it('counts jobs queued, completed, retried and timed, per queue, with depth and oldest age while one backs off', async () => {
    const before = await scrape();
    const moved = (samples: Map<string, number>, name: string, labels: Record<string, string>) => sumOf(samples, name, labels) - sumOf(before, name, labels);
    receiver.statusByPath.set('/jobs-failing', 500);
    const webhook = await vault.request('POST', '/v1/webhooks', { body: { url: receiver.url('/jobs-failing'), event_types: ['secret.created'] } });
    expect(webhook.status, webhook.text).toBe(201);
    const written = await vault.request('PUT', '/v1/secrets/signals/jobs', {
      body: { value: 'job-signal-value', type: 'password', rotation: { interval_days: 30, rotator: 'password' } },
    });
    expect(written.status).toBe(201);
    const requestId = `req-jobs-${Date.now()}`;
    const rotate = await vault.request('POST', '/v1/secrets/signals/jobs/rotate', { headers: { 'x-request-id': requestId } });
    expect(rotate.status).toBe(202);

    const during = await scrapeUntil(
      (samples) =>
        moved(samples, 'scaivault_jobs_retry_total', { type: 'webhook' }) >= 1 &&
        moved(samples, 'scaivault_jobs_completed_total', { type: 'rotation', result: 'success' }) >= 1,
      'a webhook retry and a finished rotation',
    );
    expect(moved(during, 'scaivault_jobs_queued_total', { type: 'webhook' })).toBeGreaterThanOrEqual(1);
    expect(moved(during, 'scaivault_jobs_queued_total', { type: 'rotation' })).toBe(1);
    expect(moved(during, 'scaivault_jobs_duration_seconds_count', { type: 'rotation' })).toBeGreaterThanOrEqual(1);
    expect(moved(during, 'scaivault_jobs_duration_seconds_count', { type: 'webhook' })).toBeGreaterThanOrEqual(1);
    // The failing delivery waits out its backoff in flight: backlog, and the outbox knows its age.
    await scrapeUntil(
      (samples) =>
        sumOf(samples, 'scaivault_jobs_queue_depth', { type: 'webhook' }) >= 1 && sumOf(samples, 'scaivault_jobs_oldest_age_seconds', { type: 'webhook' }) > 0,
      'the webhook backlog and its age',
    );
    expect(sumOf(during, 'scaivault_jobs_oldest_age_seconds', { type: 'rotation' })).toBe(0);
    // The worker's line about the rotation carries the request that asked for it.
    const jobLine = vault.logLines().find((line) => line.message === 'rotation job' && line.job_id === rotate.body.job_id);
    expect(jobLine?.request_id).toBe(requestId);
  });

  it('counts a rotation its rotator refuses as a failed job, not a retry', async () => {
    const before = await scrape();
    const failed = (samples: Map<string, number>) => sumOf(samples, 'scaivault_jobs_completed_total', { type: 'rotation', result: 'failed' });
    await vault.request('PUT', '/v1/secrets/signals/refused', {
      body: { value: 'v1', rotation: { interval_days: 30, rotator: 'postgresql', options: { connection_secret: 'signals/missing-admin', role: 'app' } } },
    });
    expect((await vault.request('POST', '/v1/secrets/signals/refused/rotate')).status).toBe(202);
    await scrapeUntil((samples) => failed(samples) > failed(before), 'a failed rotation job');
  });

  it('counts seals and anchor failures, and shows the head block and what waits unsealed while the bucket is gone', async () => {
    const before = await scrape();
    const moved = (samples: Map<string, number>, name: string, labels: Record<string, string> = {}) =>
      sumOf(samples, name, labels) - sumOf(before, name, labels);
    const written = await vault.request('PUT', '/v1/secrets/signals/anchored', { body: { value: 'anchored-value' } });
    expect(written.status).toBe(201);
    const [writeEvent] = (await vault.request('GET', '/v1/audit/events?path=signals/anchored')).body.events as { type: string }[];
    // The api's counters reach a scrape with its next flush, the seal's with the scheduler's: wait for both.
    const sealed = await scrapeUntil(
      (samples) =>
        moved(samples, 'scaivault_audit_seals_total', { result: 'success' }) >= 1 &&
        samples.has('scaivault_audit_chain_head_block') &&
        moved(samples, 'scaivault_audit_events_total', { event_type: writeEvent!.type }) >= 1,
      'a successful seal',
    );
    expect(moved(sealed, 'scaivault_audit_seal_duration_seconds_count')).toBeGreaterThanOrEqual(1);

    // The audit bucket disappears: every anchor is refused, the sealer fails its runs.
    const bucket = String(vault.logLines().find((line) => line.message === 'embedded stack ready')?.audit_bucket);
    const s3 = new S3Client({ endpoint: fauxqs.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    for (const object of objects.Contents ?? []) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key! }));
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    const failing = await scrapeUntil(
      (samples) => moved(samples, 'scaivault_audit_anchor_failures_total') >= 1 && moved(samples, 'scaivault_audit_seals_total', { result: 'failed' }) >= 1,
      'an anchor failure',
    );
    const stuckHead = sumOf(failing, 'scaivault_audit_chain_head_block');
    const writes = 3;
    for (let i = 0; i < writes; i += 1) expect((await vault.request('PUT', `/v1/secrets/signals/unsealed-${i}`, { body: { value: 'v' } })).status).toBe(201);
    await scrapeUntil((samples) => sumOf(samples, 'scaivault_audit_events_unsealed') >= writes, 'events waiting unsealed');

    // The bucket is back: the next run anchors the block it left, seals the rest, and nothing waits.
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const successes = (samples: Map<string, number>) => sumOf(samples, 'scaivault_audit_seals_total', { result: 'success' });
    await scrapeUntil(
      (samples) =>
        sumOf(samples, 'scaivault_audit_chain_head_block') > stuckHead &&
        sumOf(samples, 'scaivault_audit_events_unsealed') < writes &&
        successes(samples) > successes(failing),
      'sealing to resume',
    );
    s3.destroy();
  });

  it('warns of a token about to expire: response headers, the expiring gauges, and one token.expiring event', async () => {
    const before = await scrape();
    const tenant = 'signals-tokens';
    const admin = await createIdentity(vault, { tenant, identity: 'sa:ops', policies: ['admin'] });
    const hook = await vault.request('POST', '/v1/webhooks', { token: admin, body: { url: receiver.url('/token-expiring'), event_types: ['token.expiring'] } });
    expect(hook.status, hook.text).toBe(201);
    const soon = await createIdentity(vault, { tenant, identity: 'sa:short-lived', policies: ['admin'], ttl: 1800, renewable: true, maxTtl: 7200 });
    const later = await createIdentity(vault, { tenant, identity: 'sa:day-long', policies: ['admin'], ttl: 7200 });

    const self = await vault.request('GET', '/v1/auth/token/self', { token: soon });
    expect(self.status).toBe(200);
    const expiresIn = Number(self.headers.get('x-scaivault-token-expires-in'));
    expect(expiresIn).toBeGreaterThan(0);
    expect(expiresIn).toBeLessThanOrEqual(1800);
    expect(Math.abs(Date.parse(self.body.expires_at) - (Date.now() + expiresIn * 1000))).toBeLessThan(5000);
    expect(self.headers.get('x-scaivault-token-renewable')).toBe('true');
    const far = await vault.request('GET', '/v1/auth/token/self', { token: later });
    expect(far.headers.get('x-scaivault-token-expires-in')).toBeNull();

    const moved = (samples: Map<string, number>, within: string) =>
      sumOf(samples, 'scaivault_tokens_expiring_soon', { within }) - sumOf(before, 'scaivault_tokens_expiring_soon', { within });
    await scrapeUntil((samples) => moved(samples, '1h') >= 1 && moved(samples, '24h') >= 2, 'the expiring gauges');

    const forSoon = () =>
      receiver
        .at('/token-expiring')
        .map((delivery) => JSON.parse(delivery.body) as { type: string; data: Record<string, unknown> })
        .filter((event) => event.data.accessor === self.body.accessor);
    await waitFor(async () => forSoon().length > 0, 20_000, 'token.expiring');
    // Several scheduler runs later, still one event for that token; none for the one expiring later.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const events = forSoon();
    expect(events).toHaveLength(1);
    expect(receiver.at('/token-expiring').some((delivery) => delivery.body.includes(far.body.accessor))).toBe(false);
    expect(events[0]).toMatchObject({ type: 'token.expiring', data: { accessor: self.body.accessor, identity_id: 'sa:short-lived', renewable: true } });
    expect(events[0]!.data.expires_at).toBe(self.body.expires_at);
  });

  it("answers health with its time, version and each check's last run, and the status with the last interval's requests and key-cache access", async () => {
    const started = Date.now();
    const live = await vault.request('GET', '/v1/health', { token: null });
    const version = live.body.version as string;
    expect(Date.parse(live.body.timestamp)).toBeGreaterThanOrEqual(started - 1000);
    const ready = await vault.request('GET', '/v1/health/ready', { token: null });
    expect(ready.body).toMatchObject({ version, status: 'ready' });
    for (const check of Object.values(ready.body.checks) as { last_check: string }[])
      expect(Date.parse(check.last_check)).toBeGreaterThanOrEqual(started - 1000);
    const detailed = await vault.request('GET', '/v1/health/detailed');
    for (const check of Object.values(detailed.body.checks) as { last_check: string }[])
      expect(Date.parse(check.last_check)).toBeGreaterThanOrEqual(started - 1000);

    await vault.request('PUT', '/v1/secrets/signals/status', { body: { value: 'status-value' } });
    const read = await vault.request('GET', '/v1/secrets/signals/status');
    expect(read.status).toBe(200);
    const status = await vault.request('GET', '/v1/admin/status');
    expect(status.body.requests.total).toBeGreaterThan(0);
    expect(status.body.success_rate).toBeGreaterThan(0);
    expect(status.body.success_rate).toBeLessThanOrEqual(1);
    expect(status.body.avg_response_time_ms).toBeGreaterThan(0);
    expect(Date.parse(status.body.last_check)).toBeGreaterThanOrEqual(started);
    const { oldest_access: oldest, newest_access: newest } = status.body.cache as { oldest_access: string; newest_access: string };
    expect(Date.parse(newest)).toBeGreaterThanOrEqual(Date.parse(oldest));
    expect(Date.parse(newest)).toBeGreaterThanOrEqual(started);
    // Without a relay there is nothing to test.
    expect((await vault.request('POST', '/v1/admin/syslog/test')).status).toBe(409);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynaliteProcess, FauxqsProcess, waitFor } from './support/processes.js';
import { VaultProcess } from './support/vault.js';

interface Timed {
  readonly status: number;
  readonly ms: number;
  readonly contentType: string | null;
  readonly body: any;
}

/** Each dependency call attempt ends after 1 s; an api request is answered within 4 s. */
const DEPENDENCY_TIMEOUT_MS = 1000;
const REQUEST_DEADLINE_MS = 4000;
/** What a client may wait at most for an answer: the deadline plus the answer's own way back. */
const ANSWERED_WITHIN_MS = REQUEST_DEADLINE_MS + 1000;

// A dependency that hangs (SIGSTOP: connections open, nothing answers) is the
// bad day a refused connection is not: every call waits unless something ends it.
describe('a hung dependency never hangs the vault', () => {
  let dynalite: DynaliteProcess;
  let fauxqs: FauxqsProcess;
  let vault: VaultProcess;

  /** One request, timed; a client gives up after 15 s so a hang fails the test instead of stalling it. */
  const timed = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}): Promise<Timed> => {
    const headers: Record<string, string> = {};
    const token = options.token === undefined ? vault.rootToken : options.token;
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const started = performance.now();
    const response = await fetch(`${vault.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const ms = Math.round(performance.now() - started);
    return { status: response.status, ms, contentType: response.headers.get('content-type'), body: text ? JSON.parse(text) : undefined };
  };

  /** Liveness, every 200 ms for `forMs`: the slowest answer. */
  const slowestLiveness = async (forMs: number): Promise<number> => {
    let slowest = 0;
    const until = performance.now() + forMs;
    while (performance.now() < until) {
      const live = await timed('GET', '/v1/health', { token: null });
      expect(live.status).toBe(200);
      slowest = Math.max(slowest, live.ms);
      await new Promise((r) => setTimeout(r, 200));
    }
    return slowest;
  };

  /** Liveness stays fast for 3 s, and readiness is 503 within 3 s. */
  const probesWhileFrozen = async (): Promise<{ slowestLive: number; ready: Timed }> => {
    const slowestLive = await slowestLiveness(3000);
    expect(slowestLive).toBeLessThan(1000);
    const ready = await timed('GET', '/v1/health/ready', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(3000);
    return { slowestLive, ready };
  };

  const report = (label: string, figures: Record<string, number>) => console.log(`[hung ${label}] ${JSON.stringify(figures)}`);

  beforeAll(async () => {
    [dynalite, fauxqs] = await Promise.all([DynaliteProcess.start(), FauxqsProcess.start()]);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
        SCAIVAULT_SQS_S3_ENDPOINT: fauxqs.endpoint,
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: String(DEPENDENCY_TIMEOUT_MS),
        SCAIVAULT_REQUEST_DEADLINE_MS: String(REQUEST_DEADLINE_MS),
        // Every request may start a fleet-metrics flush: one that waits on a hung table must hold no answer.
        SCAIVAULT_METRICS_FLUSH_SECONDS: '1',
      },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await Promise.all([dynalite?.stop(), fauxqs?.stop()]);
  });

  it('with DynamoDB frozen: liveness in milliseconds, readiness down within 3 s, requests answered 503 within their deadline, and back after SIGCONT', async () => {
    expect((await timed('PUT', '/v1/secrets/hung/db', { body: { value: 'before-freeze' } })).status).toBe(201);
    dynalite.signal('SIGSTOP');
    try {
      const { slowestLive, ready } = await probesWhileFrozen();
      expect(ready.body.checks.dynamodb.status).toBe('down');
      expect(ready.body.checks.audit_sink.status).toBe('down');
      expect(ready.body.checks.key_provider.status).toBe('up');
      expect(ready.body.checks.rotation_queue.status).toBe('up');

      // Reads, writes and a burst of them at once: each a 503 problem inside the deadline, none left hanging.
      const calls = await Promise.all([
        timed('PUT', '/v1/secrets/hung/db', { body: { value: 'during-freeze' } }),
        timed('GET', '/v1/secrets/hung/db'),
        ...Array.from({ length: 20 }, (_, i) => timed('GET', `/v1/secrets/hung/burst-${i}`)),
      ]);
      for (const call of calls) {
        expect(call.status).toBe(503);
        expect(call.contentType).toBe('application/problem+json');
        expect(call.body).toMatchObject({ status: 503, request_id: expect.any(String) });
        expect(call.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      }
      // Liveness stays fast with requests still in flight against the frozen table.
      const busy = timed('PUT', '/v1/secrets/hung/db', { body: { value: 'during-freeze-2' } });
      const liveWhileBusy = await timed('GET', '/v1/health', { token: null });
      expect(liveWhileBusy.ms).toBeLessThan(1000);
      expect((await busy).status).toBe(503);
      report('dynamodb', {
        slowest_liveness_ms: slowestLive,
        readiness_503_ms: ready.ms,
        slowest_api_answer_ms: Math.max(...calls.map((c) => c.ms)),
        liveness_while_busy_ms: liveWhileBusy.ms,
      });
    } finally {
      dynalite.signal('SIGCONT');
    }
    const resumed = performance.now();
    await waitFor(async () => (await timed('GET', '/v1/health/ready', { token: null })).status === 200, 15_000, 'readiness after SIGCONT');
    const recoveryMs = Math.round(performance.now() - resumed);
    const read = await timed('GET', '/v1/secrets/hung/db');
    expect(read.status).toBe(200);
    // Which value the table holds after the freeze tells whether a write answered 503 still landed (outcome-unknown, issue point 2).
    expect(read.body.value).toMatch(/^(before|during)-freeze/);
    const valueAfterResume = read.body.value as string;
    expect((await timed('PUT', '/v1/secrets/hung/db', { body: { value: 'after-freeze' } })).status).toBe(200);
    expect((await timed('GET', '/v1/secrets/hung/db')).body.value).toBe('after-freeze');
    report('dynamodb recovery', { ready_again_ms: recoveryMs, landed_after_503: valueAfterResume === 'before-freeze' ? 0 : 1 });
  });

  it('with SQS and S3 frozen: liveness in milliseconds, readiness names the queues and bucket within 3 s, requests answered within their deadline, and back after SIGCONT', async () => {
    fauxqs.signal('SIGSTOP');
    try {
      const { slowestLive, ready } = await probesWhileFrozen();
      for (const check of ['rotation_queue', 'webhook_queue', 'audit_export_queue', 'audit_bucket'])
        expect(ready.body.checks[check].status, check).toBe('down');
      expect(ready.body.checks.dynamodb.status).toBe('up');

      const rotation = { interval_days: 30, rotator: 'password', options: { length: 24 } };
      const write = await timed('PUT', '/v1/secrets/hung/queue', { body: { value: 'queues-frozen', type: 'password', rotation } });
      const read = await timed('GET', '/v1/secrets/hung/db');
      // A rotation is recorded in DynamoDB before it is enqueued: the outbox sends it once the queue answers.
      const rotate = await timed('POST', '/v1/secrets/hung/queue/rotate');
      for (const call of [write, read, rotate]) expect(call.ms).toBeLessThan(ANSWERED_WITHIN_MS);
      // Secrets live in DynamoDB: they are served while the queues hang.
      expect(write.status).toBe(201);
      expect(read.status).toBe(200);
      expect([202, 503]).toContain(rotate.status);
      report('sqs+s3', {
        slowest_liveness_ms: slowestLive,
        readiness_503_ms: ready.ms,
        write_ms: write.ms,
        read_ms: read.ms,
        rotate_ms: rotate.ms,
        rotate_status: rotate.status,
      });
    } finally {
      fauxqs.signal('SIGCONT');
    }
    const resumed = performance.now();
    await waitFor(async () => (await timed('GET', '/v1/health/ready', { token: null })).status === 200, 15_000, 'readiness after SIGCONT');
    report('sqs+s3 recovery', { ready_again_ms: Math.round(performance.now() - resumed) });
    expect((await timed('GET', '/v1/secrets/hung/queue')).body.value).toBe('queues-frozen');
  });
});

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbJobRepository } from '../../functions/adapters/dynamodb/dynamodb-job-repository.js';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { leafHash, verifyProof, type ProofStep } from '../../functions/domain/audit/merkle.js';
import { AUDIT_BUCKET, STATE_TABLE } from '../../functions/runtime/definitions.js';
import { DynaliteProcess, FauxqsProcess, waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { WebhookReceiver, type ReceivedDelivery } from './support/webhook-receiver.js';

// Faults in the background lose nothing (issue 11, point 7). DynamoDB (dynalite,
// on disk) and SQS+S3 (fauxqs, in memory) run in processes of their own, so the
// vault and each emulator can be killed or frozen independently while
// rotations, webhook deliveries, sealing and an export are in flight. Then
// everything drains and each effect is counted: one version per rotation, one
// recorded success per delivery and no POST the history does not show, every
// event delivered, a chain that verifies, an export that ran once and whose
// manifest describes its object.
//
// fauxqs is killed only together with the vault: a vault outlives a restart of
// its queues only by restarting too (its pollers hold the old queue URLs), and
// that restart is what re-sends pending jobs and re-anchors the chain (DESIGN 1).
// While the export runs fauxqs is frozen, never killed: the export object lives
// only in fauxqs's memory, so killing it would delete the very thing checked.

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' } };
const SECRETS = 6;
const ROTATION = { interval_days: 30, rotator: 'password', options: { length: 24 } };
const EVENT_TYPES = ['secret.created', 'secret.updated', 'secret.rotated'];

interface ExportLine {
  readonly event: AuditEvent;
  readonly block: { readonly seq: number; readonly hash: string; readonly merkle_root: string };
  readonly leaf: string;
  readonly proof: ProofStep[];
}

interface Attempt {
  readonly job_id: string;
  readonly attempt: number;
  readonly status_code: number | null;
  readonly outcome: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults in the background lose nothing', () => {
  let dynalite: DynaliteProcess;
  let fauxqs: FauxqsProcess;
  let receiver: WebhookReceiver;
  let vault: VaultProcess;
  let s3: S3Client;

  beforeAll(async () => {
    [dynalite, fauxqs, receiver] = await Promise.all([DynaliteProcess.start(), FauxqsProcess.start(), WebhookReceiver.start()]);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
        SCAIVAULT_SQS_S3_ENDPOINT: fauxqs.endpoint,
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '1000',
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
        SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '1',
        SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
        SCAIVAULT_WEBHOOK_BACKOFF_BASE_MS: '250',
        SCAIVAULT_WEBHOOK_BACKOFF_CAP_MS: '1000',
        // A delivery's lease is its timeout plus 15 s; a worker killed or frozen mid-delivery holds it that long, so keep it short.
        SCAIVAULT_WEBHOOK_TIMEOUT_MS: '2000',
        // The outbox re-sends quickly, so a message lost with a queue or a killed worker shows up within the test.
        SCAIVAULT_JOB_RESEND_UNSENT_SECONDS: '2',
        SCAIVAULT_JOB_RESEND_LOST_SECONDS: '5',
        LOG_LEVEL: 'info',
      },
    });
    s3 = new S3Client({ ...LOCAL, endpoint: fauxqs.endpoint, forcePathStyle: true, maxAttempts: 1 });
  }, 60_000);

  afterAll(async () => {
    s3?.destroy();
    await vault?.stop();
    await Promise.all([dynalite?.stop(), fauxqs?.stop(), receiver?.close()]);
  });

  it('kills and freezes the vault and its emulators mid-flight; every effect happens exactly once', async () => {
    const started = performance.now();
    const startedAt = new Date(Date.now() - 1000).toISOString();
    const token = await createIdentity(vault, { tenant: 'faults', identity: 'sa:ops', policies: ['admin'] });

    // Two subscribers: one always answers 204; one answers 503 to the first POST of each delivery, so every delivery there is retried once.
    const firstSeen = new Set<string>();
    receiver.answer = (delivery: ReceivedDelivery) => {
      if (delivery.path !== '/flaky') return undefined;
      const id = String(delivery.headers['webhook-id']);
      if (firstSeen.has(id)) return 204;
      firstSeen.add(id);
      return 503;
    };
    const webhooks: Record<string, string> = {};
    for (const path of ['/steady', '/flaky']) {
      const created = await vault.request('POST', '/v1/webhooks', { token, body: { url: receiver.url(path), event_types: EVENT_TYPES } });
      expect(created.status, created.text).toBe(201);
      webhooks[path] = created.body.id as string;
    }

    const write = async (path: string, value: string) => {
      const response = await vault.request('PUT', `/v1/secrets/${path}`, { token, body: { value, type: 'password', rotation: ROTATION } });
      expect(response.status, response.text).toBe(201);
    };

    // Rotations in flight, then kill -9 the vault and start it again on the same data and emulators.
    const rotated = Array.from({ length: SECRETS }, (_, i) => `faults/rotated-${i}`);
    for (const path of rotated) await write(path, `before-rotation-${path}`);
    const rotationJobs: string[] = [];
    for (const path of rotated) {
      const requested = await vault.request('POST', `/v1/secrets/${path}/rotate`, { token });
      expect(requested.status, requested.text).toBe(202);
      rotationJobs.push(requested.body.job_id as string);
    }
    await vault.stop('SIGKILL');
    await vault.restart();

    // Deliveries in flight, then DynamoDB frozen for 2.5 s under them.
    const written = Array.from({ length: SECRETS }, (_, i) => `faults/written-${i}`);
    for (const path of written.slice(0, SECRETS / 2)) await write(path, `value-${path}`);
    dynalite.signal('SIGSTOP');
    await sleep(2500);
    dynalite.signal('SIGCONT');
    // Then DynamoDB killed outright and started again on its files.
    for (const path of written.slice(SECRETS / 2)) await write(path, `value-${path}`);
    await dynalite.crash();

    // The vault and its queues killed together: every message is gone, the outbox in DynamoDB is not.
    await vault.stop('SIGKILL');
    await fauxqs.kill();
    fauxqs = await FauxqsProcess.start(fauxqs.port);
    await vault.restart();

    const jobStatus = async (jobId: string) => (await vault.request('GET', `/v1/jobs/${jobId}`, { token })).body as { status: string; outcome?: string };
    await waitFor(async () => (await Promise.all(rotationJobs.map(jobStatus))).every((job) => job.status !== 'pending'), 30_000, 'the rotations');

    // An export of everything sealed so far, with SQS and S3 frozen while it runs and the vault killed after.
    const lastWrite = new Date().toISOString();
    await waitFor(
      async () => {
        const head = (await vault.request('GET', '/v1/audit/verify')).body?.head as { sealed_through: string } | null;
        return head !== null && head.sealed_through > lastWrite;
      },
      20_000,
      'a seal past the writes',
    );
    const submitted = await vault.request('POST', '/v1/audit/export', { body: { from: startedAt } });
    expect(submitted.status, submitted.text).toBe(202);
    const exportId = submitted.body.export_id as string;
    const exportTo = submitted.body.request.to as string;
    fauxqs.signal('SIGSTOP');
    await sleep(2000);
    fauxqs.signal('SIGCONT');
    await vault.stop('SIGKILL');
    await vault.restart();

    // Drain: the export, and a successful delivery of every event to both subscribers.
    let manifest: { count: number; bytes: number; sha256: string; object_key: string } | undefined;
    await waitFor(
      async () => {
        const response = await vault.request('GET', `/v1/audit/exports/${exportId}`);
        manifest = response.body?.manifest;
        return response.body?.status === 'succeeded';
      },
      30_000,
      `export ${exportId}`,
    );
    const expectedPerSubscriber = rotated.length /* created */ + rotated.length /* rotated */ + written.length; /* created */
    const history = async (path: string): Promise<Attempt[]> => {
      const response = await vault.request('GET', `/v1/webhooks/${webhooks[path]}/deliveries?limit=200`, { token });
      expect(response.status, response.text).toBe(200);
      expect(response.body.next_cursor).toBeNull();
      return response.body.deliveries as Attempt[];
    };
    // Delivery jobs are not served by the api (only rotation jobs are): read them where the outbox keeps them.
    const dynamodb = new DynamoDBClient({ ...LOCAL, endpoint: dynalite.endpoint });
    const deliveryJobs = new DynamoDbJobRepository(dynamodb, STATE_TABLE.id);
    const deliveryJobOutcomes = async (attempts: Attempt[]) =>
      Promise.all([...new Set(attempts.map((a) => a.job_id))].map(async (jobId) => [jobId, await deliveryJobs.get(jobId)] as const));
    await waitFor(
      async () => {
        for (const path of ['/steady', '/flaky']) {
          const jobs = await deliveryJobOutcomes(await history(path));
          if (jobs.length < expectedPerSubscriber || jobs.some(([, job]) => job?.status !== 'succeeded')) return false;
        }
        return true;
      },
      45_000,
      'every delivery',
    ).catch(async (error: unknown) => {
      for (const path of ['/steady', '/flaky']) {
        const attempts = await history(path);
        const ok = new Set(attempts.filter((a) => a.outcome === 'success').map((a) => a.job_id));
        const seen = receiver.at(path).map((d) => `${String(d.headers['webhook-id']).slice(0, 12)} ${JSON.parse(d.body).type} ${JSON.parse(d.body).data.path}`);
        console.log(
          path,
          'success',
          ok.size,
          'attempts',
          JSON.stringify(attempts.map((a) => [a.job_id.slice(0, 12), a.attempt, a.outcome, a.status_code])),
          'received',
          JSON.stringify(seen),
        );
      }
      console.log(
        vault.output
          .split('\n')
          .filter((l) => /warn|error/.test(l))
          .slice(-40)
          .join('\n'),
      );
      throw error;
    });
    // Anything still in flight (a stray redelivered copy) gets its chance to show up before counting.
    await sleep(3000);

    // Each rotation made exactly one version.
    const versions: number[] = [];
    for (const [i, path] of rotated.entries()) {
      expect(await jobStatus(rotationJobs[i]!)).toMatchObject({ status: 'succeeded', outcome: 'rotated to version 2' });
      const listed = await vault.request('GET', `/v1/secrets/${path}/versions`, { token });
      expect(listed.status, listed.text).toBe(200);
      const created = (listed.body.versions as { version: number; created_by: string }[]).map((v) => [v.version, v.created_by]);
      expect(created, path).toEqual([
        [2, `rotation:${rotationJobs[i]}`],
        [1, 'sa:ops'],
      ]);
      versions.push(created.length);
    }
    for (const path of written) expect((await vault.request('GET', `/v1/secrets/${path}/versions`, { token })).body.versions, path).toHaveLength(1);

    // Each delivery: one recorded success, and every POST the receiver got is an attempt the vault recorded. An attempt
    // is recorded before its POST; one whose worker died or could not record the answer stays `unknown` (the receiver
    // may or may not have it), so the receiver's POSTs lie between the attempts with a known outcome and all attempts.
    const figures: Record<string, number> = {};
    for (const path of ['/steady', '/flaky']) {
      const attempts = await history(path);
      for (const [jobId, job] of await deliveryJobOutcomes(attempts))
        expect(job, jobId).toMatchObject({ status: 'succeeded', outcome: expect.stringMatching(/^delivered: HTTP 2\d\d$/) });
      const recorded = new Map<string, Attempt[]>();
      for (const attempt of attempts) recorded.set(attempt.job_id, [...(recorded.get(attempt.job_id) ?? []), attempt]);
      const posted = new Map<string, number>();
      for (const delivery of receiver.at(path))
        posted.set(String(delivery.headers['webhook-id']), (posted.get(String(delivery.headers['webhook-id'])) ?? 0) + 1);
      expect(recorded.size, `${path}: deliveries recorded`).toBe(expectedPerSubscriber);
      expect([...posted.keys()].sort(), `${path}: the deliveries the receiver saw`).toEqual([...recorded.keys()].sort());
      for (const [jobId, jobAttempts] of recorded) {
        // One success, or none where the answer came but its record did not: the job finished (its write landed
        // although it timed out under the frozen table) and the attempt stays `unknown`.
        const successes = jobAttempts.filter((a) => a.outcome === 'success').length;
        expect(successes, `${path} ${jobId}: at most one success ${JSON.stringify(jobAttempts)}`).toBeLessThanOrEqual(1);
        if (successes === 0)
          expect(
            jobAttempts.some((a) => a.outcome === 'unknown'),
            `${path} ${jobId}: an unknown attempt`,
          ).toBe(true);
        const known = jobAttempts.filter((a) => a.outcome !== 'unknown').length;
        expect(posted.get(jobId), `${path} ${jobId}: POSTs received, attempts recorded ${JSON.stringify(jobAttempts)}`).toBeGreaterThanOrEqual(known);
        expect(posted.get(jobId), `${path} ${jobId}: POSTs received, attempts recorded ${JSON.stringify(jobAttempts)}`).toBeLessThanOrEqual(jobAttempts.length);
      }
      // There each delivery's first POST was answered 503: it was retried, and only its 204 counts as the success.
      if (path === '/flaky') {
        for (const jobAttempts of recorded.values()) {
          expect(jobAttempts.length).toBeGreaterThanOrEqual(2);
          expect(jobAttempts.filter((a) => a.outcome === 'success').every((a) => a.status_code === 204)).toBe(true);
          expect(jobAttempts.filter((a) => a.outcome === 'retrying').every((a) => a.status_code === 503)).toBe(true);
        }
      }
      // Every event reached the subscriber: each write and each rotation, by path.
      const events = receiver
        .at(path)
        .filter((d) => receiver.at(path).indexOf(d) === receiver.at(path).findIndex((e) => e.headers['webhook-id'] === d.headers['webhook-id']))
        .map((d) => JSON.parse(d.body) as { type: string; data: { path: string; version: number } })
        .map((e) => `${e.type} ${e.data.path} v${e.data.version}`)
        .sort();
      expect(events).toEqual(
        [
          ...rotated.map((p) => `secret.created ${p} v1`),
          ...rotated.map((p) => `secret.rotated ${p} v2`),
          ...written.map((p) => `secret.created ${p} v1`),
        ].sort(),
      );
      figures[`${path.slice(1)}_deliveries`] = recorded.size;
      figures[`${path.slice(1)}_attempts_recorded`] = attempts.length;
      figures[`${path.slice(1)}_attempts_unknown`] = attempts.filter((a) => a.outcome === 'unknown').length;
      figures[`${path.slice(1)}_successes_recorded`] = attempts.filter((a) => a.outcome === 'success').length;
      figures[`${path.slice(1)}_posts_received`] = receiver.at(path).length;
    }

    // The chain verifies from block 0 to the head. The scheduler still seals every second: a run that meets a head
    // whose anchor is being written stops before it (complete: false, nothing wrong), and the next one reaches it.
    let verified: Awaited<ReturnType<VaultProcess['request']>> | undefined;
    await waitFor(
      async () => {
        verified = await vault.request('GET', '/v1/audit/verify');
        // A divergence or an error ends the wait too: the assertion below says what it was.
        return verified.status !== 200 || verified.body.ok !== true || verified.body.complete === true;
      },
      15_000,
      'a verify run that reaches the head',
    ).catch(() => undefined);
    expect(verified?.status, verified?.text).toBe(200);
    expect(verified!.body, verified!.text).toMatchObject({ ok: true, complete: true, first_divergence: null });

    // The export ran once and its manifest describes its object, line for line against the trail.
    const exported = await vault.request('GET', `/v1/audit/events?${new URLSearchParams({ from: startedAt, type: 'audit.exported', limit: '1000' })}`);
    expect((exported.body.events as AuditEvent[]).filter((e) => e.details?.export_id === exportId)).toHaveLength(1);
    const object = await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: manifest!.object_key }));
    const gz = Buffer.from(await object.Body!.transformToByteArray());
    expect(gz.length).toBe(manifest!.bytes);
    expect(createHash('sha256').update(gz).digest('hex')).toBe(manifest!.sha256);
    const stored = await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: `audit/exports/${exportId}/manifest.json` }));
    expect(JSON.parse(await stored.Body!.transformToString())).toEqual(manifest);
    const lines = gunzipSync(gz)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ExportLine);
    expect(lines).toHaveLength(manifest!.count);
    const trail: AuditEvent[] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = { from: startedAt, to: exportTo, limit: '1000', ...(cursor ? { cursor } : {}) };
      const page = await vault.request('GET', `/v1/audit/events?${new URLSearchParams(query)}`);
      expect(page.status, page.text).toBe(200);
      trail.push(...(page.body.events as AuditEvent[]));
      cursor = page.body.next_cursor as string | null;
    } while (cursor);
    expect(lines.map((line) => line.event)).toEqual(trail);
    expect(new Set(lines.map((line) => line.event.eventId)).size).toBe(lines.length);
    for (const line of lines) {
      expect(leafHash(line.event)).toBe(line.leaf);
      expect(verifyProof(line.leaf, line.proof, line.block.merkle_root), `proof of ${line.event.eventId}`).toBe(true);
    }

    dynamodb.destroy();
    console.log(
      `[background faults] ${JSON.stringify({
        rotations: rotationJobs.length,
        versions_per_rotated_secret: [...new Set(versions)],
        ...figures,
        exported_events: manifest!.count,
        verified_blocks: verified!.body.checked_blocks,
        verified_events: verified!.body.checked_events,
        verify_ok: verified!.body.ok,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      })}`,
    );
  }, 120_000);
});

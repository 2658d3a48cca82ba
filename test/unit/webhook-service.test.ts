import { describe, expect, it } from 'vitest';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '../../functions/domain/errors.js';
import { JobService, type Job } from '../../functions/domain/jobs/jobs.js';
import { deliveryJobId, eventIdOf, WebhookEventPublisher } from '../../functions/domain/webhooks/webhook-event-publisher.js';
import { signingSecretContext } from '../../functions/domain/webhooks/webhooks.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { InMemoryJobRepository, webhookFixture } from './support/webhook-fixtures.js';

describe('webhook subscriptions', () => {
  it('creates a subscription and shows a whsec_ signing secret once, storing it only sealed', async () => {
    const { webhooks, admin, repository, keys } = await webhookFixture();
    const created = await webhooks.create(admin, {
      url: 'https://hooks.example.com/in?x=1',
      eventTypes: ['secret.created', 'secret.created', 'secret.updated'],
      description: 'ci',
    });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.webhook).toMatchObject({
      url: 'https://hooks.example.com/in?x=1',
      eventTypes: ['secret.created', 'secret.updated'],
      description: 'ci',
      secretVersion: 1,
      previousSecretExpiresAt: null,
    });
    expect(created.webhook.webhookId).toMatch(/^wh_[0-9a-f]{24}$/);

    const stored = await repository.get('acme', created.webhook.webhookId);
    expect(JSON.stringify(stored)).not.toContain(created.secret.slice(6, 30));
    const sealed = stored!.secrets[0]!;
    expect(await keys.open(sealed.sealed, signingSecretContext('acme', created.webhook.webhookId, 1))).toBe(created.secret);
    // Bound to its webhook: the same ciphertext under another webhook's context does not open.
    await expect(keys.open(sealed.sealed, signingSecretContext('acme', 'wh_000000000000000000000000', 1))).rejects.toThrow();

    const listed = await webhooks.list(admin);
    expect(listed).toHaveLength(1);
    expect(JSON.stringify(listed)).not.toContain('whsec_');
  });

  it.each([
    ['ftp://example.com/x', 'url'],
    ['example.com/hook', 'url'],
    ['https://user:pw@example.com/', 'url'],
    ['http://', 'url'],
  ])('refuses the url %s', async (url, field) => {
    const { webhooks, admin } = await webhookFixture();
    await expect(webhooks.create(admin, { url, eventTypes: ['secret.created'] })).rejects.toMatchObject({ name: 'ValidationError', field });
  });

  it('refuses a url the egress policy refuses, naming the field and storing nothing', async () => {
    const refused: string[] = [];
    const egress = { refusal: async (host: string) => (refused.push(host), host === 'hooks.example.com' ? undefined : 'non-public IPv4 address') };
    const { webhooks, admin, repository } = await webhookFixture(Date.now, egress);
    await expect(webhooks.create(admin, { url: 'http://169.254.169.254/latest', eventTypes: ['secret.created'] })).rejects.toMatchObject({
      name: 'ValidationError',
      field: 'url',
    });
    expect(await repository.list('acme')).toEqual([]);
    await webhooks.create(admin, { url: 'https://hooks.example.com/in', eventTypes: ['secret.created'] });
    expect(refused).toEqual(['169.254.169.254', 'hooks.example.com']);
  });

  it('refuses unknown or missing event types', async () => {
    const { webhooks, admin } = await webhookFixture();
    await expect(webhooks.create(admin, { url: 'https://example.com/', eventTypes: ['secret.created', 'secret.exploded'] })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(webhooks.create(admin, { url: 'https://example.com/', eventTypes: [] })).rejects.toBeInstanceOf(ValidationError);
  });

  it('needs admin on sys, and keeps tenants apart', async () => {
    const { webhooks, admin, principal } = await webhookFixture();
    const writer = await principal('acme', [{ path: '**', capabilities: ['read', 'write', 'list', 'delete', 'rotate'] }]);
    await expect(webhooks.create(writer, { url: 'https://example.com/', eventTypes: ['secret.created'] })).rejects.toBeInstanceOf(ForbiddenError);
    await expect(webhooks.list(writer)).rejects.toBeInstanceOf(ForbiddenError);
    const sysAdmin = await principal('acme', [{ path: 'sys', capabilities: ['admin'] }]);
    const { webhook } = await webhooks.create(sysAdmin, { url: 'https://example.com/', eventTypes: ['secret.created'] });

    const globexAdmin = await principal('globex', 'admin');
    expect(await webhooks.list(globexAdmin)).toEqual([]);
    await expect(webhooks.delete(globexAdmin, webhook.webhookId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(webhooks.rotateSecret(globexAdmin, webhook.webhookId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(webhooks.deliveries(globexAdmin, webhook.webhookId, 10, undefined)).rejects.toBeInstanceOf(NotFoundError);

    await webhooks.delete(admin, webhook.webhookId);
    await expect(webhooks.delete(admin, webhook.webhookId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(webhooks.delete(admin, '../../x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('rotates the signing secret, keeping the previous one for 24 hours', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const { webhooks, admin, repository, keys } = await webhookFixture(() => now);
    const { webhook, secret: first } = await webhooks.create(admin, { url: 'https://example.com/', eventTypes: ['secret.created'] });
    now += 60_000;
    const rotated = await webhooks.rotateSecret(admin, webhook.webhookId);
    expect(rotated.secret).not.toBe(first);
    expect(rotated.webhook.secretVersion).toBe(2);
    expect(rotated.webhook.previousSecretExpiresAt).toBe('2026-03-02T00:01:00.000Z');

    const stored = (await repository.get('acme', webhook.webhookId))!;
    expect(stored.secrets.map((s) => [s.version, s.expiresAt])).toEqual([
      [2, null],
      [1, '2026-03-02T00:01:00.000Z'],
    ]);
    expect(await keys.open(stored.secrets[0]!.sealed, signingSecretContext('acme', webhook.webhookId, 2))).toBe(rotated.secret);
    expect(await keys.open(stored.secrets[1]!.sealed, signingSecretContext('acme', webhook.webhookId, 1))).toBe(first);

    // A second rotation drops the oldest: only the last two secrets ever sign.
    now += 1000;
    const again = await webhooks.rotateSecret(admin, webhook.webhookId);
    const after = (await repository.get('acme', webhook.webhookId))!;
    expect(after.secrets.map((s) => s.version)).toEqual([3, 2]);
    expect(await keys.open(after.secrets[0]!.sealed, signingSecretContext('acme', webhook.webhookId, 3))).toBe(again.secret);
  });

  it('refuses a rotation that lost a race', async () => {
    const { webhooks, admin, repository } = await webhookFixture();
    const { webhook } = await webhooks.create(admin, { url: 'https://example.com/', eventTypes: ['secret.created'] });
    const original = repository.replaceSecrets.bind(repository);
    repository.replaceSecrets = async (tenantId, webhookId, _expected, secrets) => original(tenantId, webhookId, 99, secrets);
    await expect(webhooks.rotateSecret(admin, webhook.webhookId)).rejects.toBeInstanceOf(ConflictError);
  });
});

describe('webhook fan-out', () => {
  const event = (overrides: Partial<VaultEvent> = {}): VaultEvent => ({
    type: 'secret.created',
    tenantId: 'acme',
    data: { path: 'db/password', version: 1, type: 'password' },
    occurredAt: '2026-03-01T00:00:00.000Z',
    ...overrides,
  });

  const setup = async () => {
    const fixture = await webhookFixture();
    const jobRepository = new InMemoryJobRepository();
    const sent: { jobId: string }[] = [];
    const batches: number[] = [];
    const refused = new Set<string>();
    const queueDown = { now: false };
    const warnings: string[] = [];
    const queue = {
      send: async (_queue: string, jobId: string) => void sent.push({ jobId }),
      sendAll: async (_queue: string, jobIds: readonly string[]) => {
        if (queueDown.now) throw new Error('no URL configured for the webhook queue');
        batches.push(jobIds.length);
        for (const jobId of jobIds) if (!refused.has(jobId)) sent.push({ jobId });
        return jobIds.filter((jobId) => refused.has(jobId)).map((jobId) => ({ jobId, error: 'InternalError' }));
      },
    };
    const jobs = new JobService(jobRepository, queue, { warn: (m) => void warnings.push(m) });
    const publisher = new WebhookEventPublisher(fixture.repository, jobs, { warn: (m) => void warnings.push(m) });
    return { ...fixture, jobRepository, sent, batches, refused, queueDown, warnings, publisher };
  };

  it('submits one delivery job per matching subscription of the event tenant', async () => {
    const { webhooks, admin, principal, publisher, jobRepository, sent } = await setup();
    const a = (await webhooks.create(admin, { url: 'https://a.example/', eventTypes: ['secret.created', 'secret.updated'] })).webhook;
    const b = (await webhooks.create(admin, { url: 'https://b.example/', eventTypes: ['secret.created'] })).webhook;
    await webhooks.create(admin, { url: 'https://c.example/', eventTypes: ['secret.deleted'] });
    await webhooks.create(await principal('globex', 'admin'), { url: 'https://g.example/', eventTypes: ['secret.created'] });

    await publisher.publish(event());
    const jobs = [...jobRepository.jobs.values()];
    expect(jobs.map((j) => j.payload.webhookId).sort()).toEqual([a.webhookId, b.webhookId].sort());
    const eventId = eventIdOf(event());
    for (const job of jobs) {
      expect(job).toMatchObject<Partial<Job>>({ queue: 'webhook', kind: 'deliver-webhook', tenantId: 'acme', status: 'pending' });
      expect(job.jobId).toBe(deliveryJobId(eventId, job.payload.webhookId as string));
      expect(job.payload).toEqual({
        webhookId: job.payload.webhookId,
        eventId,
        eventType: 'secret.created',
        occurredAt: '2026-03-01T00:00:00.000Z',
        data: { path: 'db/password', version: 1, type: 'password' },
      });
    }
    // Sent at once; the queue adapter carries the trace along (sqs-job-queue.test.ts).
    expect(sent.map((s) => s.jobId).sort()).toEqual(jobs.map((j) => j.jobId).sort());

    await publisher.publish(event({ type: 'secret.updated', data: { path: 'db/password', version: 2, type: 'password' } }));
    expect([...jobRepository.jobs.values()].filter((j) => j.payload.eventType === 'secret.updated').map((j) => j.payload.webhookId)).toEqual([a.webhookId]);
  });

  it('names the same jobs when the same event is published again, so it is not delivered twice', async () => {
    const { webhooks, admin, publisher, jobRepository } = await setup();
    await webhooks.create(admin, { url: 'https://a.example/', eventTypes: ['secret.created'] });
    await publisher.publish(event());
    const first = [...jobRepository.jobs.keys()];
    await jobRepository.finish(first[0]!, 'succeeded', 'delivered');
    await publisher.publish(event());
    expect([...jobRepository.jobs.keys()]).toEqual(first);
    expect(jobRepository.jobs.get(first[0]!)?.status).toBe('succeeded');
    // Key order in the data does not change the event's identity; its content does.
    expect(eventIdOf(event({ data: { type: 'password', version: 1, path: 'db/password' } }))).toBe(eventIdOf(event()));
    expect(eventIdOf(event({ occurredAt: '2026-03-01T00:00:00.001Z' }))).not.toBe(eventIdOf(event()));
  });

  it('sends a fan-out in one queue request, and leaves a job the queue refused unsent for the scheduler to re-send', async () => {
    const { webhooks, admin, publisher, jobRepository, sent, batches, refused, warnings } = await setup();
    for (const host of ['a', 'b', 'c']) await webhooks.create(admin, { url: `https://${host}.example/`, eventTypes: ['secret.created'] });
    const jobIds = (await webhooks.list(admin)).map((webhook) => deliveryJobId(eventIdOf(event()), webhook.webhookId));
    refused.add(jobIds[1]!);
    await publisher.publish(event());
    expect(batches).toEqual([3]);
    expect(sent.map((s) => s.jobId).sort()).toEqual([jobIds[0], jobIds[2]].sort());
    expect(jobIds.map((jobId) => jobRepository.jobs.get(jobId)?.sentAt !== undefined)).toEqual([true, false, true]);
    expect(warnings).toEqual(['job send failed; the scheduler will re-send it']);
  });

  it('keeps the recorded jobs when the queue cannot be reached at all, even for a caller that requires the event', async () => {
    const { webhooks, admin, publisher, jobRepository, queueDown, warnings } = await setup();
    await webhooks.create(admin, { url: 'https://a.example/', eventTypes: ['secret.created'] });
    queueDown.now = true;
    await expect(publisher.publish(event(), { required: true })).resolves.toBeUndefined();
    expect([...jobRepository.jobs.values()].map((job) => [job.status, job.sentAt])).toEqual([['pending', undefined]]);
    expect(warnings).toEqual(['job send failed; the scheduler will re-send it']);
  });

  it('re-sends stale jobs in batches, marks the sent ones, and fails the run while any stays unsent, without holding up the other queues', async () => {
    const { webhooks, admin, publisher, jobRepository, sent, batches, refused, queueDown } = await setup();
    for (const host of ['a', 'b', 'c']) await webhooks.create(admin, { url: `https://${host}.example/`, eventTypes: ['secret.created'] });
    queueDown.now = true;
    await publisher.publish(event());
    queueDown.now = false;
    const webhookJobs = [...jobRepository.jobs.keys()];
    await jobRepository.create({
      jobId: 'rot_0123456789',
      queue: 'rotation',
      kind: 'rotate-secret',
      tenantId: 'acme',
      payload: {},
      createdAt: new Date(0).toISOString(),
      status: 'pending',
    });
    const queueOf = async (queue: string, jobIds: readonly string[]) => {
      if (queue === 'rotation' && refused.has('rotation')) throw new Error('rotation queue down');
      batches.push(jobIds.length);
      for (const jobId of jobIds) if (!refused.has(jobId)) sent.push({ jobId });
      return jobIds.filter((jobId) => refused.has(jobId)).map((jobId) => ({ jobId, error: 'InternalError' }));
    };
    const jobs = new JobService(
      jobRepository,
      { send: async () => expect.unreachable(), sendAll: queueOf },
      { warn: () => undefined },
      () => Date.now() + 1000,
    );
    const windows = { unsentAfterMs: 0, lostAfterMs: 3_600_000 };
    const [first, ...rest] = webhookJobs;
    refused.add(first!);
    refused.add('rotation');
    // The rotation queue is down and one webhook job is refused: the other webhook jobs still go, in one batch.
    await expect(jobs.resendStale(windows)).rejects.toThrow('rotation queue is unavailable');
    expect(batches).toEqual([3]);
    expect(
      [...jobRepository.jobs.values()]
        .filter((job) => job.sentAt)
        .map((job) => job.jobId)
        .sort(),
    ).toEqual([...rest].sort());
    // The next run finds only the ones still unsent.
    refused.clear();
    expect(await jobs.resendStale(windows)).toBe(2);
    expect(batches).toEqual([3, 1, 1]);
    expect(sent.map((s) => s.jobId).sort()).toEqual([first, ...rest, 'rot_0123456789'].sort());
  });

  it('never throws: a storage failure is logged, not raised to the writer of the secret', async () => {
    const { publisher, repository, warnings } = await setup();
    repository.list = async () => {
      throw new Error('dynamodb down');
    };
    await expect(publisher.publish(event())).resolves.toBeUndefined();
    expect(warnings).toEqual(['webhook fan-out failed']);
  });
});

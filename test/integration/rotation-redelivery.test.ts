import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuthRepository } from '../../functions/adapters/dynamodb/dynamodb-auth-repository.js';
import { DynamoDbJobRepository } from '../../functions/adapters/dynamodb/dynamodb-job-repository.js';
import { DynamoDbRotationRepository } from '../../functions/adapters/dynamodb/dynamodb-rotation-repository.js';
import { DynamoDbRotationSchedule } from '../../functions/adapters/dynamodb/dynamodb-rotation-schedule.js';
import { DynamoDbSecretRepository } from '../../functions/adapters/dynamodb/dynamodb-secret-repository.js';
import { LocalKeyWrapper, loadOrCreateMasterKey } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { createRotators } from '../../functions/composition/rotators.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import { DependencyUnavailableError } from '../../functions/domain/errors.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { JobService, type JobQueueName } from '../../functions/domain/jobs/jobs.js';
import { RotationService } from '../../functions/domain/rotation/rotation-service.js';
import { SchedulerService } from '../../functions/domain/rotation/scheduler-service.js';
import { STATE_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { DynaliteProcess } from './support/processes.js';
import type { JobQueue } from '../../functions/domain/ports/jobs.js';
import type { SecretHead } from '../../functions/domain/ports/secrets.js';
import type { RotationRepository } from '../../functions/domain/ports/rotation.js';
import type { EventPublisher, PublishOptions } from '../../functions/domain/ports/events.js';
import { eventIdOf } from '../../functions/domain/webhooks/webhook-event-publisher.js';

/** Records what was sent; the queue itself is not under test here. */
class RecordingQueue implements JobQueue {
  readonly sent: Array<{ queue: JobQueueName; jobId: string }> = [];
  async send(queue: JobQueueName, jobId: string): Promise<void> {
    this.sent.push({ queue, jobId });
  }
  async sendAll(queue: JobQueueName, jobIds: readonly string[]): Promise<readonly never[]> {
    for (const jobId of jobIds) this.sent.push({ queue, jobId });
    return [];
  }
}

describe('rotation jobs against DynamoDB: redelivery and schedules', () => {
  let dynalite: DynaliteProcess;
  let client: DynamoDBClient;
  let secrets: DynamoDbSecretRepository;
  let jobRepository: DynamoDbJobRepository;
  let rotations: DynamoDbRotationRepository;
  let keys: KeyManager;
  let keyId: string;
  const queue = new RecordingQueue();
  const outcomes: string[] = [];
  const metrics = { rotationFinished: (status: 'success' | 'failed') => void outcomes.push(status) };
  const logger = { warn: () => undefined };

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ensureTable(client, STATE_TABLE);
    secrets = new DynamoDbSecretRepository(client, STATE_TABLE.id);
    jobRepository = new DynamoDbJobRepository(client, STATE_TABLE.id);
    rotations = new DynamoDbRotationRepository(client, STATE_TABLE.id);
    const wrapper = new LocalKeyWrapper(loadOrCreateMasterKey(join(mkdtempSync(join(tmpdir(), 'scaivault-key-')), 'master.key')));
    keys = new KeyManager(wrapper, new DynamoDbAuthRepository(client, STATE_TABLE.id), new DataKeyCache(300, 100));
    keyId = await keys.createDataKey('acme');
  });

  afterAll(async () => {
    client?.destroy();
    await dynalite?.stop();
  });

  const writeSecret = async (path: string, value: string, createdAt: string, intervalDays = 30): Promise<SecretHead> => {
    const head: SecretHead = {
      tenantId: 'acme',
      path,
      version: 1,
      type: 'password',
      metadata: {},
      sealed: await keys.seal(keyId, value, { tenantId: 'acme', path, version: 1 }),
      createdAt,
      createdBy: 'sa:test',
      firstCreatedAt: createdAt,
      deletedAt: null,
      rotation: { intervalDays, rotator: 'password', options: { length: 20 } },
    };
    await secrets.commit(head, undefined);
    return head;
  };

  const service = (rotationRepository: RotationRepository = rotations, events?: EventPublisher) =>
    new RotationService(jobRepository, secrets, rotationRepository, keys, createRotators(), metrics, events);

  it('runs a redelivered message once and resumes after a crash without a second version', async () => {
    await writeSecret('crash/db', 'before-rotation', new Date().toISOString());
    const jobs = new JobService(jobRepository, queue, logger);
    const job = await jobs.submit({ jobId: 'rot_crashtest0001', queue: 'rotation', kind: 'rotate-secret', tenantId: 'acme', payload: { path: 'crash/db' } });

    // The worker dies after promoting but before recording the outcome.
    let crashes = 1;
    const crashing: RotationRepository = {
      getPending: (t, p) => rotations.getPending(t, p),
      putPending: (pending, replacing) => rotations.putPending(pending, replacing),
      setStage: (t, p, j, s) => rotations.setStage(t, p, j, s),
      lastOutcome: (t, p) => rotations.lastOutcome(t, p),
      finish: async (t, p, outcome) => {
        if (crashes-- > 0) throw new DependencyUnavailableError('dynamodb');
        return rotations.finish(t, p, outcome);
      },
    };
    await expect(service(crashing).run(job.jobId)).rejects.toThrow(DependencyUnavailableError);
    expect((await secrets.getHead('acme', 'crash/db'))?.version).toBe(2);
    expect((await jobRepository.get(job.jobId))?.status).toBe('pending');

    // SQS delivers the message again: the promoted version is recognised, not rotated again.
    expect(await service(crashing).run(job.jobId)).toBe('succeeded');
    // And once more, as a duplicate: nothing to do.
    expect(await service().run(job.jobId)).toBe('skipped');
    const head = await secrets.getHead('acme', 'crash/db');
    expect(head?.version).toBe(2);
    expect(await secrets.listHistory('acme', 'crash/db')).toHaveLength(1);
    expect((await jobRepository.get(job.jobId))?.status).toBe('succeeded');
    expect(await rotations.getPending('acme', 'crash/db')).toBeUndefined();
    expect(outcomes).toEqual(['success']);
  });

  it('keeps the job pending until its secret.rotated event is recorded, and publishes the same event on the retry', async () => {
    await writeSecret('event/db', 'before-rotation', new Date().toISOString());
    const jobs = new JobService(jobRepository, queue, logger);
    const job = await jobs.submit({ jobId: 'rot_eventtest0001', queue: 'rotation', kind: 'rotate-secret', tenantId: 'acme', payload: { path: 'event/db' } });
    const published: [VaultEvent, PublishOptions | undefined][] = [];
    let failures = 1;
    const events: EventPublisher = {
      publish: async (event, options) => {
        published.push([event, options]);
        if (failures-- > 0) throw new DependencyUnavailableError('dynamodb');
      },
    };
    const before = outcomes.length;
    // Promoted, but the event could not be recorded: the job stays pending for a retry.
    await expect(service(rotations, events).run(job.jobId)).rejects.toThrow(DependencyUnavailableError);
    expect((await jobRepository.get(job.jobId))?.status).toBe('pending');
    expect(await service(rotations, events).run(job.jobId)).toBe('succeeded');
    expect((await secrets.getHead('acme', 'event/db'))?.version).toBe(2);
    expect(published).toHaveLength(2);
    const [[first, options], [second]] = published as [[VaultEvent, PublishOptions], [VaultEvent]];
    expect(options).toEqual({ required: true });
    expect(first).toMatchObject({ type: 'secret.rotated', data: { path: 'event/db', version: 2, job_id: job.jobId } });
    // The same event both times, so its deliveries (one job per event and subscriber) are not doubled.
    expect(second).toEqual(first);
    expect(eventIdOf(second)).toBe(eventIdOf(first));
    expect(outcomes.slice(before)).toEqual(['success']);
  });

  it('finds due rotations through the next-due index and submits each due version once', async () => {
    const longAgo = new Date(Date.now() - 3 * 24 * 3600 * 1000).toISOString();
    await writeSecret('due/one', 'due-value', longAgo, 1);
    await writeSecret('later/one', 'later-value', new Date().toISOString(), 30);
    const schedule = new DynamoDbRotationSchedule(client, STATE_TABLE.id);
    const due = await schedule.due(new Date().toISOString(), 100);
    expect(due.map((d) => d.path)).toContain('due/one');
    expect(due.map((d) => d.path)).not.toContain('later/one');

    const sentBefore = queue.sent.length;
    const scheduler = new SchedulerService(schedule, new JobService(jobRepository, queue, logger), { unsentAfterMs: 30_000, lostAfterMs: 3_600_000 });
    const first = await scheduler.tick();
    const second = await scheduler.tick();
    const dueJobs = queue.sent.slice(sentBefore).filter((s) => s.queue === 'rotation');
    expect(first.rotationsSubmitted).toBeGreaterThanOrEqual(1);
    // The second tick finds the same due version and submits nothing new.
    expect(new Set(dueJobs.map((s) => s.jobId)).size).toBe(first.rotationsSubmitted);
    expect(second.jobsResent).toBe(0);

    // Once rotated, the secret's next due time moves a full interval ahead.
    const jobId = dueJobs.find(Boolean)!.jobId;
    expect(await service().run(jobId)).toBe('succeeded');
    const afterRotation = await schedule.due(new Date().toISOString(), 100);
    expect(afterRotation.map((d) => d.path)).not.toContain('due/one');
  });
});

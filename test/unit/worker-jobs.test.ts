import { describe, expect, it } from 'vitest';
import { AUDIT_EXPORT_IDENTITY, AuditExportJob } from '../../functions/domain/audit/audit-export-job.js';
import type { ExportManifest, ExportRequest } from '../../functions/domain/audit/audit-export.js';
import type { Job } from '../../functions/domain/jobs/jobs.js';
import { ROTATION_WORKER_IDENTITY, RotationJob, type RotationRun } from '../../functions/domain/rotation/rotation-job.js';
import type { DeliveryDecision } from '../../functions/domain/webhooks/deliver-webhook.js';
import { WEBHOOK_WORKER_IDENTITY, WebhookDeliveryJob, type ReceivedDelivery } from '../../functions/domain/webhooks/webhook-delivery-job.js';
import { RecordingAuditLog, RecordingLogger } from './support/recorders.js';
import { InMemoryJobRepository } from './support/webhook-fixtures.js';

const job = (overrides: Partial<Job>): Job => ({
  jobId: 'rot_0123456789',
  queue: 'rotation',
  kind: 'rotate-secret',
  tenantId: 'acme',
  payload: { path: 'app/db' },
  createdAt: '2026-04-21T12:00:00.000Z',
  status: 'pending',
  ...overrides,
});

describe('RotationJob', () => {
  const setup = (result: RotationRun | Error = 'succeeded') => {
    const jobs = new InMemoryJobRepository();
    const log = new RecordingAuditLog();
    const logger = new RecordingLogger();
    const ran: string[] = [];
    const rotations = {
      run: async (jobId: string): Promise<RotationRun> => {
        ran.push(jobId);
        if (result instanceof Error) throw result;
        return result;
      },
    };
    let clock = 0;
    const rotation = new RotationJob(jobs, rotations, log, logger, () => (clock += 5));
    return { jobs, log, logger, ran, rotation };
  };

  it('records the attempt before the rotation and its outcome after', async () => {
    const { jobs, log, logger, rotation } = setup('succeeded');
    await jobs.create(job({}));
    expect(await rotation.run('rot_0123456789')).toBe('succeeded');
    const fields = { tenantId: 'acme', path: 'app/db', identityId: ROTATION_WORKER_IDENTITY, type: 'rotation.run', details: { job_id: 'rot_0123456789' } };
    expect(log.drafts).toEqual([
      { ...fields, outcome: 'attempted' },
      { ...fields, outcome: 'success' },
    ]);
    expect(logger.lines).toEqual([{ level: 'info', message: 'rotation job', fields: { job_id: 'rot_0123456789', outcome: 'succeeded', duration_ms: 5 } }]);
  });

  it('records a failed rotation as a failure', async () => {
    const { jobs, log, rotation } = setup('failed');
    await jobs.create(job({}));
    await rotation.run('rot_0123456789');
    expect(log.drafts.map((draft) => draft.outcome)).toEqual(['attempted', 'failure']);
  });

  it('starts no rotation whose attempt cannot be recorded (fail-closed: SQS retries)', async () => {
    const { jobs, log, ran, rotation } = setup();
    await jobs.create(job({}));
    log.failing.add('rotation.run');
    await expect(rotation.run('rot_0123456789')).rejects.toThrow('down');
    expect(ran).toEqual([]);
  });

  it('records nothing for a job that is unknown or already finished, which the rotation skips', async () => {
    const { jobs, log, ran, rotation } = setup('skipped');
    await jobs.create(job({ status: 'succeeded' }));
    expect(await rotation.run('rot_0123456789')).toBe('skipped');
    expect(await rotation.run('rot_unknown000')).toBe('skipped');
    expect(ran).toEqual(['rot_0123456789', 'rot_unknown000']);
    expect(log.drafts).toEqual([]);
  });

  it('lets the rotation stand when its outcome record is lost, and says so', async () => {
    const { jobs, log, logger, rotation } = setup('succeeded');
    await jobs.create(job({}));
    const record = log.record.bind(log);
    log.record = async (draft) => (draft.outcome === 'success' ? Promise.reject(new Error('down')) : record(draft));
    expect(await rotation.run('rot_0123456789')).toBe('succeeded');
    expect(logger.messages('error')).toEqual(['audit record lost']);
  });
});

describe('AuditExportJob', () => {
  const request: ExportRequest = { from: '2026-04-21T00:00:00.000Z', to: '2026-04-21T12:00:00.000Z', filters: {} };
  const manifest = { count: 3, bytes: 120, sha256: 'ab'.repeat(32) } as ExportManifest;
  const setup = () => {
    const jobs = new InMemoryJobRepository();
    const log = new RecordingAuditLog();
    const logger = new RecordingLogger();
    const exported: string[] = [];
    const exporter = { run: async (exportId: string) => (exported.push(exportId), manifest) };
    return { jobs, log, logger, exported, exports: new AuditExportJob(jobs, exporter, log, logger, () => 0) };
  };
  const exportJob = (overrides: Partial<Job> = {}) =>
    job({ jobId: 'exp_0123456789', queue: 'audit-export', kind: 'audit-export', payload: { ...request }, ...overrides });

  it('exports a pending job, finishes it and records the export', async () => {
    const { jobs, log, exported, exports } = setup();
    await jobs.create(exportJob());
    await exports.run('exp_0123456789');
    expect(exported).toEqual(['exp_0123456789']);
    expect(jobs.jobs.get('exp_0123456789')).toMatchObject({ status: 'succeeded', outcome: 'exported 3 events' });
    expect(log.drafts).toEqual([
      {
        type: 'audit.exported',
        outcome: 'success',
        identityId: AUDIT_EXPORT_IDENTITY,
        tenantId: 'acme',
        details: { export_id: 'exp_0123456789', events: 3, sha256: manifest.sha256 },
      },
    ]);
  });

  it('leaves alone a job that is finished, of another kind, or unknown', async () => {
    const { jobs, log, exported, exports } = setup();
    await jobs.create(exportJob({ status: 'succeeded' }));
    await jobs.create(exportJob({ jobId: 'rot_0123456789', kind: 'rotate-secret' }));
    for (const id of ['exp_0123456789', 'rot_0123456789', 'exp_unknown000']) await exports.run(id);
    expect(exported).toEqual([]);
    expect(log.drafts).toEqual([]);
  });

  it('gives up: the job fails with the reason and the trail records the error', async () => {
    const { jobs, log, exports } = setup();
    await jobs.create(exportJob());
    await exports.giveUp('exp_0123456789', 'gave up after 3 attempts: TimeoutError');
    expect(jobs.jobs.get('exp_0123456789')).toMatchObject({ status: 'failed', outcome: 'gave up after 3 attempts: TimeoutError' });
    expect(log.drafts).toEqual([{ type: 'audit.exported', outcome: 'error', identityId: AUDIT_EXPORT_IDENTITY, details: { export_id: 'exp_0123456789' } }]);
  });
});

describe('WebhookDeliveryJob', () => {
  const message: ReceivedDelivery = { jobId: 'whd_0123456789', messageId: 'm-1', receiptHandle: 'r-1', receiveCount: 2, traceparent: undefined };
  const setup = () => {
    const log = new RecordingAuditLog();
    const logger = new RecordingLogger();
    const delays: [string, number][] = [];
    let visibilityDown = false;
    const visibility = {
      delay: async (receiptHandle: string, seconds: number) => {
        if (visibilityDown) throw Object.assign(new Error('down'), { name: 'QueueDoesNotExist' });
        delays.push([receiptHandle, seconds]);
      },
    };
    return { log, logger, delays, job: new WebhookDeliveryJob(visibility, log, logger), downVisibility: () => void (visibilityDown = true) };
  };
  const deciding = (decision: DeliveryDecision) => async () => decision;

  it('deletes a delivered message and records the success', async () => {
    const { log, delays, job } = setup();
    expect(await job.run(message, deciding({ action: 'done' }))).toEqual({ keep: false, gaveUp: false });
    expect(delays).toEqual([]);
    expect(log.drafts).toEqual([
      { type: 'webhook.delivery', outcome: 'success', identityId: WEBHOOK_WORKER_IDENTITY, details: { job_id: 'whd_0123456789', decision: 'done' } },
    ]);
  });

  it('keeps a message to retry and makes it visible after the backoff', async () => {
    const { log, delays, job } = setup();
    expect(await job.run(message, deciding({ action: 'retry', delaySeconds: 40 }))).toEqual({ keep: true, gaveUp: false });
    expect(delays).toEqual([['r-1', 40]]);
    expect(log.drafts.map((draft) => [draft.outcome, draft.details?.decision])).toEqual([['failure', 'retry']]);
  });

  it('gives a delivery up by making its message visible at once for the redrive policy', async () => {
    const { delays, job } = setup();
    expect(await job.run(message, deciding({ action: 'dead-letter' }))).toEqual({ keep: true, gaveUp: true });
    expect(delays).toEqual([['r-1', 0]]);
  });

  it('keeps the message when the delivery errors, and when its visibility cannot change says so', async () => {
    const { logger, job, downVisibility } = setup();
    const failing = async (): Promise<DeliveryDecision> => Promise.reject(Object.assign(new Error('boom'), { name: 'TypeError' }));
    expect(await job.run(message, failing)).toEqual({ keep: true, gaveUp: false });
    expect(logger.lines).toEqual([
      { level: 'error', message: 'webhook delivery errored', fields: { job_id: 'whd_0123456789', message_id: 'm-1', error: 'TypeError' } },
    ]);
    downVisibility();
    expect(await job.run(message, deciding({ action: 'retry', delaySeconds: 10 }))).toEqual({ keep: true, gaveUp: false });
    expect(logger.messages('warn')).toEqual(['could not reschedule webhook delivery']);
  });
});

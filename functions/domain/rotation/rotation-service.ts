import type { KeyManager } from '../crypto/key-manager.js';
import { DependencyUnavailableError, ValidationError, VaultError } from '../errors.js';
import { NO_EVENTS } from '../events/events.js';
import type { Job } from '../jobs/jobs.js';
import { RotationStepError } from './rotator.js';
import type { EventPublisher } from '../ports/events.js';
import type { JobRepository } from '../ports/jobs.js';
import type { SecretHead, SecretRepository } from '../ports/secrets.js';
import type { PendingRotation, RotationContext, RotationRepository, Rotator } from '../ports/rotation.js';
import type { RotationMetrics } from '../ports/metrics.js';

export const DEFAULT_ROTATOR = 'password';

/** The version a rotation promoted, and when: the same on every retry of the job. */
interface Promoted {
  readonly version: number;
  readonly at: string;
}
const rotatorIdentity = (jobId: string) => `rotation:${jobId}`;

/**
 * Runs one rotation job in AWS Secrets Manager's four steps: create a pending
 * value, set it in the external system, test it there, then promote it as the
 * next version. Each step is idempotent, so a redelivered message resumes or
 * does nothing, and never produces a second new version. Until promotion the
 * current version stays readable; a failed rotation says why.
 */
export class RotationService {
  constructor(
    private readonly jobs: JobRepository,
    private readonly secrets: SecretRepository,
    private readonly rotations: RotationRepository,
    private readonly keys: KeyManager,
    private readonly rotators: ReadonlyMap<string, Rotator>,
    private readonly metrics: RotationMetrics,
    private readonly events: EventPublisher = NO_EVENTS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs the job; throws only for failures worth a retry (dependencies down). */
  async run(jobId: string): Promise<'succeeded' | 'failed' | 'skipped'> {
    const job = await this.jobs.get(jobId);
    if (job?.status !== 'pending' || job.kind !== 'rotate-secret') return 'skipped';
    const path = String(job.payload.path ?? '');
    let promoted: Promoted;
    try {
      promoted = await this.rotate(job, path);
    } catch (error) {
      if (error instanceof DependencyUnavailableError) throw error;
      await this.fail(job, path, reasonOf(error));
      return 'failed';
    }
    // Past promotion nothing fails the rotation: whatever goes wrong is retried, and the retry finds the version promoted.
    await this.succeed(job, path, promoted);
    return 'succeeded';
  }

  /** The last attempt's SQS delivery failed: record the rotation as failed, for good. */
  async giveUp(jobId: string, reason: string): Promise<void> {
    const job = await this.jobs.get(jobId);
    if (job?.status === 'pending') await this.fail(job, String(job.payload.path ?? ''), reason);
  }

  private async rotate(job: Job, path: string): Promise<Promoted> {
    const head = await this.secrets.getHead(job.tenantId, path);
    if (!head || head.deletedAt) throw new RotationStepError('create', 'the secret does not exist or is deleted');
    // Promoted before a crash or redelivery: done, no second version.
    if (head.createdBy === rotatorIdentity(job.jobId)) return { version: head.version, at: head.createdAt };

    const rotator = this.rotators.get(head.rotation?.rotator ?? DEFAULT_ROTATOR);
    if (!rotator) throw new RotationStepError('create', `unknown rotator ${head.rotation?.rotator}`);
    const options = head.rotation?.options ?? {};
    const currentValue = await this.keys.open(head.sealed, { tenantId: job.tenantId, path, version: head.version });

    let pending = await this.rotations.getPending(job.tenantId, path);
    let replacing: string | undefined;
    if (pending && pending.jobId !== job.jobId) {
      const other = await this.jobs.get(pending.jobId);
      if (other?.status === 'pending') throw new RotationStepError('create', `rotation ${pending.jobId} is still in progress`);
      replacing = pending.jobId;
      pending = undefined;
    }
    let pendingValue: string;
    if (pending) {
      if (pending.baseVersion !== head.version) throw new RotationStepError('finish', 'the secret was written while it was being rotated');
      pendingValue = await this.keys.open(pending.pending, { tenantId: job.tenantId, path, version: pending.baseVersion + 1 });
    } else {
      pendingValue = rotator.generate(options, currentValue);
      const tenantKey = head.sealed.keyId;
      pending = {
        tenantId: job.tenantId,
        path,
        jobId: job.jobId,
        baseVersion: head.version,
        pending: await this.keys.seal(tenantKey, pendingValue, { tenantId: job.tenantId, path, version: head.version + 1 }),
        stage: 'created',
        startedAt: new Date(this.now()).toISOString(),
      };
      await this.rotations.putPending(pending, replacing);
    }

    const context: RotationContext = {
      tenantId: job.tenantId,
      path,
      options,
      currentValue,
      pendingValue,
      readSecret: (otherPath) => this.readSameTenant(job.tenantId, otherPath),
    };
    if (rotator.set && pending.stage === 'created') {
      await rotator.set(context);
      await this.rotations.setStage(job.tenantId, path, job.jobId, 'set');
    }
    if (rotator.test) {
      await rotator.test(context);
      await this.rotations.setStage(job.tenantId, path, job.jobId, 'tested');
    }
    return this.promote(head, pending, job.jobId);
  }

  private async promote(head: SecretHead, pending: PendingRotation, jobId: string): Promise<Promoted> {
    const version = pending.baseVersion + 1;
    const createdAt = new Date(this.now()).toISOString();
    try {
      await this.secrets.commit(
        {
          ...head,
          version,
          sealed: pending.pending,
          createdAt,
          createdBy: rotatorIdentity(jobId),
        },
        head,
      );
    } catch (error) {
      if (error instanceof VaultError && !(error instanceof DependencyUnavailableError)) {
        throw new RotationStepError('finish', 'the secret was written while it was being rotated', { cause: error });
      }
      throw error;
    }
    return { version, at: createdAt };
  }

  private async readSameTenant(tenantId: string, path: string): Promise<string> {
    const head = await this.secrets.getHead(tenantId, path);
    if (!head || head.deletedAt) throw new RotationStepError('set', `secret ${path} named by the rotation options does not exist`);
    return this.keys.open(head.sealed, { tenantId, path, version: head.version });
  }

  /**
   * Records the outcome, then the event, then finishes the job: a crash or an
   * unrecorded event leaves the job pending, and its retry publishes the same
   * event again (same content, same id: subscribers get it once).
   */
  private async succeed(job: Job, path: string, { version, at }: Promoted): Promise<void> {
    await this.rotations.finish(job.tenantId, path, { jobId: job.jobId, status: 'succeeded', reason: 'rotated', version, at });
    await this.events.publish(
      { type: 'secret.rotated', tenantId: job.tenantId, data: { path, version, job_id: job.jobId }, occurredAt: at },
      { required: true },
    );
    await this.jobs.finish(job.jobId, 'succeeded', `rotated to version ${version}`);
    this.metrics.rotationFinished('success');
  }

  private async fail(job: Job, path: string, reason: string): Promise<void> {
    const at = new Date(this.now()).toISOString();
    await this.rotations.finish(job.tenantId, path, { jobId: job.jobId, status: 'failed', reason, version: null, at });
    await this.jobs.finish(job.jobId, 'failed', reason);
    this.metrics.rotationFinished('failed');
    await this.events.publish({ type: 'rotation.failed', tenantId: job.tenantId, data: { path, job_id: job.jobId, reason }, occurredAt: at });
  }
}

/** A failure's reportable reason: rotator and validation messages are written to be safe to show. */
const reasonOf = (error: unknown): string => {
  if (error instanceof RotationStepError) return `${error.step}: ${error.message}`;
  if (error instanceof ValidationError) return `create: ${error.message}`;
  if (error instanceof VaultError) return `${error.name}`;
  return 'internal error';
};

import type { AuthService } from '../auth/auth-service.js';
import type { Principal } from '../auth/principal.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { newJobId, type Job, type JobService } from '../jobs/jobs.js';
import { validateSecretPath } from '../secrets/secret-path.js';
import { DEFAULT_ROTATOR } from './rotation-service.js';
import type { JobRepository } from '../ports/jobs.js';
import type { SecretRepository } from '../ports/secrets.js';
import type { Rotator } from '../ports/rotation.js';

/** The API side of rotation: queue a rotation, validate schedules, and show a job. */
export class RotationRequests {
  constructor(
    private readonly secrets: SecretRepository,
    private readonly auth: AuthService,
    private readonly jobs: JobService,
    private readonly jobRepository: JobRepository,
    /** The rotators by name; the api loads them (and the PostgreSQL driver's code) with the first schedule it checks. */
    private readonly rotators: () => Promise<ReadonlyMap<string, Rotator>>,
  ) {}

  async request(principal: Principal, rawPath: string): Promise<Job> {
    const path = validateSecretPath(rawPath);
    await this.auth.require(principal, 'rotate', path);
    const head = await this.secrets.getHead(principal.tenantId, path);
    if (!head || head.deletedAt) throw new NotFoundError(`secret ${path} not found`);
    await this.validateSchedule(head.rotation?.rotator ?? DEFAULT_ROTATOR, head.rotation?.options ?? {});
    return this.jobs.submit({
      jobId: newJobId('rot'),
      queue: 'rotation',
      kind: 'rotate-secret',
      tenantId: principal.tenantId,
      payload: { path, reason: 'request', requested_by: principal.identityId },
    });
  }

  /** Throws ValidationError for an unknown rotator or options it refuses. */
  async validateSchedule(rotatorName: string, options: Readonly<Record<string, string | number | boolean>>): Promise<void> {
    const rotators = await this.rotators();
    const rotator = rotators.get(rotatorName);
    if (!rotator) throw new ValidationError(`rotator must be one of ${[...rotators.keys()].join(', ')}`, 'rotation.rotator');
    rotator.validate(options);
  }

  /** A job of the caller's tenant on a path it may list; anything else answers like a missing job. */
  async job(principal: Principal, jobId: string): Promise<Job> {
    const job = /^[a-z]+_[A-Za-z0-9_-]{8,200}$/.test(jobId) ? await this.jobRepository.get(jobId) : undefined;
    const path = typeof job?.payload.path === 'string' ? job.payload.path : undefined;
    if (!job || job.tenantId !== principal.tenantId || !path || !(await this.auth.can(principal, 'list', path))) {
      throw new NotFoundError(`job ${jobId} not found`);
    }
    return job;
  }
}

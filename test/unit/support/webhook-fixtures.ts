import { randomBytes } from 'node:crypto';
import { LocalKeyWrapper } from '../../../functions/adapters/local-key/local-key-wrapper.js';
import { AuthService } from '../../../functions/domain/auth/auth-service.js';
import type { Principal } from '../../../functions/domain/auth/principal.js';
import { DataKeyCache } from '../../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../../functions/domain/crypto/key-manager.js';
import type { Job, JobQueueName, JobStatus } from '../../../functions/domain/jobs/jobs.js';
import { WebhookService } from '../../../functions/domain/webhooks/webhook-service.js';
import { InMemoryAuthRepository } from './in-memory-auth-repository.js';
import { InMemoryWebhookRepository } from './in-memory-webhook-repository.js';
import type { JobRepository } from '../../../functions/domain/ports/jobs.js';
import type { Capability } from '../../../functions/domain/ports/auth.js';
import type { EgressCheck } from '../../../functions/domain/ports/webhooks.js';

/** The JobRepository port in memory. */
export class InMemoryJobRepository implements JobRepository {
  readonly jobs = new Map<string, Job>();

  async create(job: Job): Promise<boolean> {
    if (this.jobs.has(job.jobId)) return false;
    this.jobs.set(job.jobId, job);
    return true;
  }

  async get(jobId: string): Promise<Job | undefined> {
    return this.jobs.get(jobId);
  }

  async markSent(jobId: string, at: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (job) this.jobs.set(jobId, { ...job, sentAt: at });
  }

  async finish(jobId: string, status: Exclude<JobStatus, 'pending'>, outcome: string): Promise<void> {
    const job = this.jobs.get(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    this.jobs.set(jobId, { ...job, status, outcome, finishedAt: new Date().toISOString() });
  }

  async pendingBefore(queue: JobQueueName, beforeIso: string, limit: number): Promise<Job[]> {
    return [...this.jobs.values()].filter((job) => job.status === 'pending' && job.queue === queue && job.createdAt < beforeIso).slice(0, limit);
  }
}

/** Tenants acme and globex, a webhook service over memory, and principals with chosen rights. */
export const webhookFixture = async (now: () => number = Date.now, egress: EgressCheck = { refusal: async () => undefined }) => {
  const authRepository = new InMemoryAuthRepository();
  const keys = new KeyManager(new LocalKeyWrapper(randomBytes(32)), authRepository, new DataKeyCache(300, 100));
  const auth = new AuthService(authRepository, keys, { authCacheTtlSeconds: 5, maxTokenTtlSeconds: 86_400 });
  const repository = new InMemoryWebhookRepository();
  const webhooks = new WebhookService(repository, keys, auth, egress, { now });
  await auth.ensureTenant('acme', 'Acme');
  await auth.ensureTenant('globex', 'Globex');
  let counter = 0;
  const principal = async (tenantId: string, rules: { path: string; capabilities: Capability[] }[] | 'admin'): Promise<Principal> => {
    counter += 1;
    const policies = rules === 'admin' ? ['admin'] : [`p${counter}`];
    if (rules !== 'admin') await auth.putPolicy(tenantId, `p${counter}`, rules);
    const issued = await auth.createIdentity({ tenantId, identityId: `sa:user-${counter}`, policies, ttlSeconds: 3600, renewable: false, maxTtlSeconds: 3600 });
    return auth.authenticate(`Bearer ${issued.token}`);
  };
  return { keys, auth, repository, webhooks, principal, admin: await principal('acme', 'admin') };
};

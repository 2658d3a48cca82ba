// Operator routes over the audit trail: query, chain verification, SIEM
// export and the HMAC lookup. All need the operator (default-tenant admin).
import type { Audit } from '../composition/audit.js';
import type { AuthService } from '../domain/auth/auth-service.js';
import { ConflictError, NotFoundError, ValidationError } from '../domain/errors.js';
import { AUDIT_OUTCOMES } from '../domain/audit/audit-event.js';
import { exportIdOf, type ExportFilters, type ExportRequest } from '../domain/audit/audit-export.js';
import type { Job, JobService } from '../domain/jobs/jobs.js';
import { Fields, parseJsonBody, parseQuery, positiveIntegerParam } from './body.js';
import { json } from './responses.js';
import type { Route } from './router.js';
import type { JobRepository } from '../domain/ports/jobs.js';

const MAX_RANGE_DAYS = 366;
const VERIFY_BUDGET_MS = 6_000;
const QUERY_BUDGET_MS = 5_000;
const DAY_MS = 86_400_000;
// An event key, or the end of a day a query read through before its time ran out.
const KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#(aev_[0-9a-f]{32}|~)$/;

/** An ISO 8601 instant, normalised to milliseconds in UTC. */
const instant = (raw: string | undefined, name: string): string | undefined => {
  if (raw === undefined) return undefined;
  const millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(millis)) throw new ValidationError(`${name} must be an ISO 8601 instant with a time zone, e.g. 2026-11-22T10:00:00Z`, name);
  return new Date(millis).toISOString();
};

const checkRange = (from: string, to: string): void => {
  if (from > to) throw new ValidationError('from must not be after to', 'from');
  if (Date.parse(to) - Date.parse(from) > MAX_RANGE_DAYS * DAY_MS) throw new ValidationError(`a range spans at most ${MAX_RANGE_DAYS} days`, 'from');
};

const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');
const decodeCursor = (raw: string | undefined): string | undefined => {
  if (raw === undefined) return undefined;
  const key = Buffer.from(raw, 'base64url').toString('utf8');
  if (!KEY.test(key)) throw new ValidationError('cursor is not one this API returned', 'cursor');
  return key;
};

const filtersFrom = (read: (name: string) => string | undefined): ExportFilters => {
  const filters: Record<string, string> = {};
  const type = read('type');
  if (type !== undefined) {
    if (!/^[a-z][a-z0-9_.]{0,63}$/.test(type)) throw new ValidationError('type must be an audit event type, e.g. secret.read', 'type');
    filters.type = type;
  }
  const outcome = read('outcome');
  if (outcome !== undefined) {
    if (!(AUDIT_OUTCOMES as readonly string[]).includes(outcome)) throw new ValidationError(`outcome must be one of ${AUDIT_OUTCOMES.join(', ')}`, 'outcome');
    filters.outcome = outcome;
  }
  for (const [name, field, max] of [['identity_id', 'identityId', 256], ['tenant_id', 'tenantId', 128], ['path', 'path', 1024]] as const) {
    const value = read(name);
    if (value === undefined) continue;
    if (value.length === 0 || value.length > max) throw new ValidationError(`${name} must be 1 to ${max} characters`, name);
    filters[field] = value;
  }
  return filters;
};

const exportJson = (job: Job, manifest: unknown) => ({
  export_id: job.jobId,
  status: job.status,
  created_at: job.createdAt,
  finished_at: job.finishedAt ?? null,
  outcome: job.outcome ?? null,
  request: job.payload,
  manifest: manifest ?? null,
});

export interface AuditRouteServices {
  readonly auth: AuthService;
  readonly audit: Audit;
  readonly jobs: JobService;
  readonly jobRepository: JobRepository;
}

export const auditRoutes = ({ auth, audit, jobs, jobRepository }: AuditRouteServices): Route[] => [
  {
    method: 'GET',
    pattern: '/v1/audit/events',
    category: 'audit',
    rateLimit: 'admin',
    audit: 'audit.query',
    handle: async ({ event, principal }) => {
      await auth.requireOperator(principal);
      const query = parseQuery(event, ['from', 'to', 'type', 'identity_id', 'tenant_id', 'path', 'outcome', 'limit', 'cursor']);
      const to = instant(query.get('to'), 'to') ?? new Date().toISOString();
      const from = instant(query.get('from'), 'from') ?? new Date(Date.parse(to) - DAY_MS).toISOString();
      checkRange(from, to);
      const limit = positiveIntegerParam(query.get('limit'), 'limit', 1000) ?? 100;
      const cursor = decodeCursor(query.get('cursor'));
      const filters = filtersFrom((name) => query.get(name));
      const afterKey = cursor && cursor > from ? cursor : from;
      // One more than asked tells whether another page exists; a filter that reads long without
      // finding enough answers what it found, with a cursor where it stopped.
      const { events: found, resumeAfter } = await audit.store.eventsPage({ ...filters, afterKey, throughKey: `${to}#~` }, limit + 1, Date.now() + QUERY_BUDGET_MS);
      const page = found.slice(0, limit);
      const next = found.length > limit ? page.at(-1)!.key : resumeAfter;
      return json(200, { events: page.map((stored) => stored.event), next_cursor: next ? encodeCursor(next) : null });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/audit/verify',
    category: 'audit',
    rateLimit: 'admin',
    audit: 'audit.verify',
    handle: async ({ event, principal, audit: notes }) => {
      await auth.requireOperator(principal);
      const query = parseQuery(event, ['from_block', 'max_blocks']);
      const fromBlock = query.get('from_block') === '0' ? 0 : positiveIntegerParam(query.get('from_block'), 'from_block');
      const maxBlocks = positiveIntegerParam(query.get('max_blocks'), 'max_blocks', 1_000_000);
      // Inside the api function's 10 s timeout: a longer chain is verified in pages, following next_block.
      const result = await audit.verifier.verifyAndRecord({ fromSeq: fromBlock ?? 0, maxBlocks, untilMs: Date.now() + VERIFY_BUDGET_MS });
      const head = await audit.store.latestBlock();
      const complete = !result.divergence && (!head || result.nextSeq > head.seq);
      notes.detail('ok', result.ok);
      if (result.divergence) notes.detail('divergent_block', result.divergence.blockSeq);
      return json(200, {
        ok: result.ok,
        complete,
        from_block: result.fromSeq,
        next_block: complete || result.divergence ? null : result.nextSeq,
        checked_blocks: result.checkedBlocks,
        checked_events: result.checkedEvents,
        first_divergence: result.divergence
          ? { block: result.divergence.blockSeq, event_id: result.divergence.eventId ?? null, event_key: result.divergence.eventKey ?? null, reason: result.divergence.reason }
          : null,
        head: head ? { block: head.seq, hash: head.hash, sealed_through: head.throughKey.slice(0, 24), sealed_at: head.sealedAt } : null,
      });
    },
  },
  {
    method: 'POST',
    pattern: '/v1/audit/export',
    category: 'audit',
    rateLimit: 'admin',
    audit: 'audit.export',
    handle: async ({ event, principal, audit: notes }) => {
      await auth.requireOperator(principal);
      parseQuery(event, []);
      const body = new Fields(parseJsonBody(event), ['from', 'to', 'type', 'identity_id', 'tenant_id', 'path', 'outcome']);
      const from = instant(body.string('from', { required: true, max: 40 }), 'from')!;
      const sealedThrough = await audit.exporter.sealedThrough();
      const sealedAt = sealedThrough?.slice(0, 24);
      const givenTo = instant(body.string('to', { max: 40 }), 'to');
      const to = givenTo ?? sealedAt;
      if (!to || !sealedAt || to > sealedAt) {
        throw new ConflictError(`events after ${sealedAt ?? 'the first seal'} are not sealed yet; pass an earlier "to" or retry after the next seal`);
      }
      checkRange(from, to);
      const request: ExportRequest = { from, to, filters: filtersFrom((name) => body.string(name, { max: 1024 })) };
      // Named by the body as sent: a retry without "to" finds the same job although later seals moved the head.
      const exportId = exportIdOf({ ...request, to: givenTo ?? 'sealed-head' });
      notes.detail('export_id', exportId);
      // The export id is the job id: the same request finds the same job instead of exporting again.
      const job = await jobs.submit({ jobId: exportId, queue: 'audit-export', kind: 'audit-export', tenantId: principal.tenantId, payload: { ...request } });
      const manifest = job.status === 'succeeded' ? await audit.exporter.manifest(exportId) : undefined;
      return json(job.status === 'succeeded' ? 200 : 202, exportJson(job, manifest), { location: `/v1/audit/exports/${exportId}` });
    },
  },
  {
    method: 'GET',
    pattern: '/v1/audit/exports/{id}',
    category: 'audit',
    rateLimit: 'admin',
    audit: 'audit.export_status',
    handle: async ({ event, principal, params }) => {
      await auth.requireOperator(principal);
      parseQuery(event, []);
      const id = params.id ?? '';
      const job = /^exp_[0-9a-f]{32}$/.test(id) ? await jobRepository.get(id) : undefined;
      if (!job || job.kind !== 'audit-export') throw new NotFoundError(`no audit export ${id}`);
      const manifest = job.status === 'succeeded' ? await audit.exporter.manifest(id) : undefined;
      return json(200, exportJson(job, manifest));
    },
  },
  {
    method: 'POST',
    pattern: '/v1/audit/hash',
    category: 'audit',
    rateLimit: 'admin',
    audit: 'audit.hash',
    handle: async ({ event, principal }) => {
      await auth.requireOperator(principal);
      parseQuery(event, []);
      const input = new Fields(parseJsonBody(event), ['input']).string('input', { required: true, max: 65_536 });
      return json(200, { hmac: await audit.log.hash(input) });
    },
  },
];

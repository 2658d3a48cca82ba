// Operator routes over the audit trail: query, chain verification, SIEM
// export and the HMAC lookup. All need the operator (default-tenant admin).
import type * as z from 'zod/mini';
import type { AuditChainServices, AuditTrail } from '../../composition/audit-trail.js';
import { exportIdOf, type ExportRequest } from '../../domain/audit/audit-export.js';
import type { AuthService } from '../../domain/auth/auth-service.js';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import type { JobService } from '../../domain/jobs/jobs.js';
import type { JobRepository } from '../../domain/ports/jobs.js';
import { json } from '../../http/responses.js';
import { routesOver, type RouteGroup, type RouteRequest } from '../../http/route.js';
import { eventsPageSchema, exportJson, exportSchema, hashSchema, verifyJson, verifySchema } from './audit-json.js';
import { checkRange, DAY_MS, encodeCursor, eventsQuery, exportBody, exportIdParams, filtersOf, hashBody, verifyQuery } from './audit-schemas.js';

const VERIFY_BUDGET_MS = 6_000;
const QUERY_BUDGET_MS = 5_000;

export interface AuditRouteServices {
  readonly auth: Pick<AuthService, 'requireOperator'>;
  readonly audit: Pick<AuditTrail, 'store' | 'log'> & AuditChainServices;
  readonly jobs: Pick<JobService, 'submit'>;
  readonly jobRepository: Pick<JobRepository, 'get'>;
}

const queryEvents = async ({ auth, audit }: AuditRouteServices, { principal, query }: RouteRequest<undefined, z.infer<typeof eventsQuery>>) => {
  await auth.requireOperator(principal);
  const to = query.to ?? new Date().toISOString();
  const from = query.from ?? new Date(Date.parse(to) - DAY_MS).toISOString();
  checkRange(from, to);
  const limit = query.limit ?? 100;
  const afterKey = query.cursor && query.cursor > from ? query.cursor : from;
  // One more than asked tells whether another page exists; a filter that reads long without
  // finding enough answers what it found, with a cursor where it stopped.
  const { events: found, resumeAfter } = await audit.store.eventsPage(
    { ...filtersOf(query), afterKey, throughKey: `${to}#~` },
    limit + 1,
    Date.now() + QUERY_BUDGET_MS,
  );
  const page = found.slice(0, limit);
  const next = found.length > limit ? page.at(-1)!.key : resumeAfter;
  return json(200, { events: page.map((stored) => stored.event), next_cursor: next ? encodeCursor(next) : null });
};

const verifyChain = async ({ auth, audit }: AuditRouteServices, { principal, query, audit: notes }: RouteRequest<undefined, z.infer<typeof verifyQuery>>) => {
  await auth.requireOperator(principal);
  // The head read first, and the run checks up to it: the scheduler may seal a block meanwhile, and a run that reached this head is complete.
  const head = await audit.store.latestBlock();
  // Inside the api function's 10 s timeout: a longer chain is verified in pages, following next_block.
  const result = await audit.verifier.verifyAndRecord({
    fromSeq: query.from_block ?? 0,
    maxBlocks: query.max_blocks,
    untilMs: Date.now() + VERIFY_BUDGET_MS,
    head: head ?? null,
  });
  notes.detail('ok', result.ok);
  if (result.divergence) notes.detail('divergent_block', result.divergence.blockSeq);
  return json(200, verifyJson(result, head));
};

const exportEvents = async ({ auth, audit, jobs }: AuditRouteServices, { principal, body, audit: notes }: RouteRequest<z.infer<typeof exportBody>>) => {
  await auth.requireOperator(principal);
  const sealedAt = (await audit.exporter.sealedThrough())?.slice(0, 24);
  const to = body.to ?? sealedAt;
  if (!to || !sealedAt || to > sealedAt) {
    throw new ConflictError(`events after ${sealedAt ?? 'the first seal'} are not sealed yet; pass an earlier "to" or retry after the next seal`);
  }
  checkRange(body.from, to);
  const request: ExportRequest = { from: body.from, to, filters: filtersOf(body) };
  // Named by the body as sent: a retry without "to" finds the same job although later seals moved the head.
  const exportId = exportIdOf({ ...request, to: body.to ?? 'sealed-head' });
  notes.detail('export_id', exportId);
  // The export id is the job id: the same request finds the same job instead of exporting again.
  const job = await jobs.submit({ jobId: exportId, queue: 'audit-export', kind: 'audit-export', tenantId: principal.tenantId, payload: { ...request } });
  const manifest = job.status === 'succeeded' ? await audit.exporter.manifest(exportId) : undefined;
  return json(job.status === 'succeeded' ? 200 : 202, exportJson(job, manifest), { location: `/v1/audit/exports/${exportId}` });
};

const readExport = async (
  { auth, audit, jobRepository }: AuditRouteServices,
  { principal, params }: RouteRequest<undefined, unknown, z.infer<typeof exportIdParams>>,
) => {
  await auth.requireOperator(principal);
  const job = /^exp_[0-9a-f]{32}$/.test(params.id) ? await jobRepository.get(params.id) : undefined;
  if (job?.kind !== 'audit-export') throw new NotFoundError(`no audit export ${params.id}`);
  const manifest = job.status === 'succeeded' ? await audit.exporter.manifest(params.id) : undefined;
  return json(200, exportJson(job, manifest));
};

const hashInput = async ({ auth, audit }: AuditRouteServices, { principal, body }: RouteRequest<z.infer<typeof hashBody>>) => {
  await auth.requireOperator(principal);
  return json(200, { hmac: await audit.log.hash(body.input) });
};

const route = routesOver<AuditRouteServices>();
const operator = { category: 'audit', rateLimit: 'admin', capability: 'admin' } as const;

export const auditRoutes: RouteGroup<AuditRouteServices> = {
  name: 'audit',
  routes: [
    route.authenticated({
      ...operator,
      method: 'GET',
      pattern: '/v1/audit/events',
      audit: 'audit.query',
      summary: 'Query audit events in a time range (a day before `to` by default)',
      request: { query: eventsQuery },
      responses: { 200: { description: 'A page of events, oldest first', schema: eventsPageSchema } },
      handle: queryEvents,
    }),
    route.authenticated({
      ...operator,
      method: 'GET',
      pattern: '/v1/audit/verify',
      audit: 'audit.verify',
      summary: 'Verify the sealed hash chain, a page of blocks at a time',
      request: { query: verifyQuery },
      responses: { 200: { description: 'What was checked and the first divergence, if any', schema: verifySchema } },
      handle: verifyChain,
    }),
    route.authenticated({
      ...operator,
      method: 'POST',
      pattern: '/v1/audit/export',
      audit: 'audit.export',
      summary: 'Export sealed events to S3 as gzipped JSON lines',
      request: { body: exportBody },
      responses: {
        200: { description: 'Exported already', schema: exportSchema },
        202: { description: 'Export queued', schema: exportSchema },
      },
      handle: exportEvents,
    }),
    route.authenticated({
      ...operator,
      method: 'GET',
      pattern: '/v1/audit/exports/{id}',
      audit: 'audit.export_status',
      summary: 'Follow an export',
      request: { params: exportIdParams },
      responses: { 200: { description: 'The export and its manifest once done', schema: exportSchema } },
      handle: readExport,
    }),
    route.authenticated({
      ...operator,
      method: 'POST',
      pattern: '/v1/audit/hash',
      audit: 'audit.hash',
      summary: "The HMAC of a value under the deployment's audit key, to find it in the trail",
      request: { body: hashBody },
      responses: { 200: { description: 'The HMAC', schema: hashSchema } },
      handle: hashInput,
    }),
  ],
};

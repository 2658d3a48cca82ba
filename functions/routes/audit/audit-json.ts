// The audit routes' answers. Events are served as stored: the schema that
// validates each record before it is written describes the query's answer.
import * as z from 'zod/mini';
import type { AuditDivergence, AuditBlock } from '../../domain/ports/audit.js';
import type { VerifyResult } from '../../domain/audit/audit-chain.js';
import { auditEventSchema } from '../../domain/audit/audit-event-schema.js';
import type { ExportManifest } from '../../domain/audit/audit-export.js';
import type { Job } from '../../domain/jobs/jobs.js';
import { nextCursor, nullableTimestamp, timestamp } from '../schemas.js';

export const eventsPageSchema = z.strictObject({ events: z.array(auditEventSchema.check(z.meta({ id: 'AuditEvent' }))), next_cursor: nextCursor });

export const verifySchema = z.strictObject({
  ok: z.boolean(),
  complete: z.boolean(),
  from_block: z.int(),
  next_block: z.nullable(z.int()),
  checked_blocks: z.int(),
  checked_events: z.int(),
  first_divergence: z.nullable(z.strictObject({ block: z.int(), event_id: z.nullable(z.string()), event_key: z.nullable(z.string()), reason: z.string() })),
  head: z.nullable(z.strictObject({ block: z.int(), hash: z.string(), sealed_through: z.string(), sealed_at: timestamp })),
});

export const exportSchema = z
  .strictObject({
    export_id: z.string(),
    status: z.string(),
    created_at: timestamp,
    finished_at: nullableTimestamp,
    outcome: z.nullable(z.string()),
    request: z.record(z.string(), z.unknown()),
    manifest: z.nullable(z.record(z.string(), z.unknown())).check(z.describe('the export manifest once it succeeded')),
  })
  .check(z.meta({ id: 'AuditExport' }));

export const hashSchema = z.strictObject({ hmac: z.string() });

const divergenceJson = (divergence: AuditDivergence) => ({
  block: divergence.blockSeq,
  event_id: divergence.eventId ?? null,
  event_key: divergence.eventKey ?? null,
  reason: divergence.reason,
});

export const verifyJson = (result: VerifyResult, head: AuditBlock | undefined): z.infer<typeof verifySchema> => {
  const complete = !result.divergence && (!head || result.nextSeq > head.seq);
  return {
    ok: result.ok,
    complete,
    from_block: result.fromSeq,
    next_block: complete || result.divergence ? null : result.nextSeq,
    checked_blocks: result.checkedBlocks,
    checked_events: result.checkedEvents,
    first_divergence: result.divergence ? divergenceJson(result.divergence) : null,
    head: head ? { block: head.seq, hash: head.hash, sealed_through: head.throughKey.slice(0, 24), sealed_at: head.sealedAt } : null,
  };
};

export const exportJson = (job: Job, manifest: ExportManifest | undefined): z.infer<typeof exportSchema> => ({
  export_id: job.jobId,
  status: job.status,
  created_at: job.createdAt,
  finished_at: job.finishedAt ?? null,
  outcome: job.outcome ?? null,
  request: job.payload,
  manifest: manifest ? { ...manifest } : null,
});

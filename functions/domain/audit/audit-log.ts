// The audit log's write path. Every event is validated, its sensitive values
// replaced by HMACs, and written durably before the caller goes on: a caller
// that cannot get its event written gets DependencyUnavailableError (503) and
// must change nothing. Concurrent events share one batch write (group commit):
// the first event is written at once, and those arriving meanwhile go together
// in the next write, so concurrency costs no extra latency.
import { createHmac } from 'node:crypto';
import { DependencyUnavailableError } from '../errors.js';
import { lazyModule } from '../lazy-module.js';
import { genesisTime, newAuditEventId, type AuditDraft, type AuditEvent } from './audit-event.js';
import type { KeyWrapper } from '../ports/keys.js';
import type { AuditForwarder, AuditStore } from '../ports/audit.js';
import type { AuditLogMetrics } from '../ports/metrics.js';

/** The record schema and zod with it: loaded with a process's first event, not with its cold start. */
const recordSchema = lazyModule(() => import('./audit-event-schema.js'));

/** Most events in one store write (DynamoDB's BatchWriteItem limit). */
export const AUDIT_BATCH = 25;

interface Pending {
  readonly event: AuditEvent;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const HMAC_CONTEXT = { purpose: 'audit-hmac' };

/** The deployment's HMAC key: generated once, stored wrapped by the key provider, unwrapped once per process. */
export class AuditHmac {
  private key: Promise<Buffer> | undefined;

  constructor(
    private readonly store: Pick<AuditStore, 'wrappedHmacKey' | 'putWrappedHmacKeyIfAbsent'>,
    private readonly wrapper: KeyWrapper,
  ) {}

  async of(value: string): Promise<string> {
    const key = await this.load();
    return `hmac-sha256:${createHmac('sha256', key).update(value, 'utf8').digest('hex')}`;
  }

  private load(): Promise<Buffer> {
    this.key ??= (async () => {
      let wrapped = await this.store.wrappedHmacKey();
      if (!wrapped) {
        const created = await this.wrapper.generateDataKey(HMAC_CONTEXT);
        created.plaintext.fill(0);
        wrapped = await this.store.putWrappedHmacKeyIfAbsent(created.wrapped);
      }
      return this.wrapper.unwrap(wrapped, HMAC_CONTEXT);
    })().catch((error: unknown) => {
      this.key = undefined;
      throw error;
    });
    return this.key;
  }
}

export class AuditLog {
  private queue: Pending[] = [];
  private writing = false;
  private genesis: Promise<string> | undefined;

  constructor(
    private readonly store: AuditStore,
    private readonly hmac: AuditHmac,
    private readonly metrics: AuditLogMetrics,
    private readonly forwarder?: AuditForwarder,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Writes one event and resolves once it is durable. Throws
   * DependencyUnavailableError('audit') when it could not be written.
   */
  async record(draft: AuditDraft): Promise<AuditEvent> {
    let event: AuditEvent;
    try {
      event = await this.prepare(draft);
    } catch (error) {
      if (error instanceof Error && error.name === 'InvalidAuditEventError') throw error;
      this.metrics.auditWriteFailed();
      throw new DependencyUnavailableError('audit', { cause: error });
    }
    await new Promise<void>((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.writing) void this.drain();
    });
    this.metrics.auditWritten(event.outcome, event.type);
    this.forwarder?.send(event);
    return event;
  }

  /** HMAC of a value under the audit key, so an operator can find the records that carry a known value. */
  hash(value: string): Promise<string> {
    return this.hmac.of(value);
  }

  private async prepare(draft: AuditDraft): Promise<AuditEvent> {
    // The chain's start is recorded before the first event, so no event is older than it.
    await (this.genesis ??= this.store.ensureGenesis(genesisTime(this.now())).catch((error: unknown) => {
      this.genesis = undefined;
      throw error;
    }));
    const { sensitive, details, ...fields } = draft;
    let hmac: Record<string, string> | undefined;
    for (const [name, value] of Object.entries(sensitive ?? {})) (hmac ??= {})[name] = await this.hmac.of(value);
    // Absent rather than empty: the stored item reads back as the very same event (and leaf hash).
    const present = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== ''));
    const { validateAuditEvent } = await recordSchema();
    return validateAuditEvent({
      ...(present as unknown as Omit<AuditEvent, 'eventId' | 'time'>),
      eventId: newAuditEventId(),
      time: new Date(this.now()).toISOString(),
      ...(hmac ? { hmac } : {}),
      ...(details && Object.keys(details).length > 0 ? { details } : {}),
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        const chunks: Pending[][] = [];
        for (let i = 0; i < batch.length; i += AUDIT_BATCH) chunks.push(batch.slice(i, i + AUDIT_BATCH));
        await Promise.all(
          chunks.map(async (chunk) => {
            try {
              await this.store.append(chunk.map((pending) => pending.event));
              for (const pending of chunk) pending.resolve();
            } catch (error) {
              const failure = new DependencyUnavailableError('audit', { cause: error });
              // Counted per event, like a failed prepare: the counter is events refused, not writes.
              for (const pending of chunk) {
                this.metrics.auditWriteFailed();
                pending.reject(failure);
              }
            }
          }),
        );
      }
    } finally {
      this.writing = false;
    }
  }
}

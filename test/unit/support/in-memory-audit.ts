import { auditKeyOf, type AuditEvent } from '../../../functions/domain/audit/audit-event.js';
import { ConflictError } from '../../../functions/domain/errors.js';
import type {
  AuditAnchors,
  AuditBlock,
  AuditQuery,
  AuditStore,
  DetectionState,
  ExportSink,
  ExportTarget,
  StoredAuditEvent,
  VerificationRecord,
} from '../../../functions/domain/ports/audit.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const matches = (event: AuditEvent, query: AuditQuery): boolean =>
  (query.type === undefined || event.type === query.type) &&
  (query.identityId === undefined || event.identityId === query.identityId) &&
  (query.tenantId === undefined || event.tenantId === query.tenantId) &&
  (query.outcome === undefined || event.outcome === query.outcome) &&
  (query.path === undefined || (query.path.endsWith('*') ? (event.path ?? '').startsWith(query.path.slice(0, -1)) : event.path === query.path));

/**
 * The AuditStore port in memory, with the DynamoDB adapter's conditions
 * (write-once events and blocks, first genesis and HMAC key win). Records are
 * deep-copied in and out; `events` and `blocks` are open so a test can tamper
 * with storage the way an attacker with table access would.
 */
export class InMemoryAuditStore implements AuditStore {
  readonly items = new Map<string, AuditEvent>();
  readonly blockItems = new Map<number, AuditBlock>();
  readonly verifications: VerificationRecord[] = [];
  /** Sizes of the batches `append` was called with, failed ones included. */
  readonly appendBatches: number[] = [];
  /** When set, every append throws it. */
  appendFailure: Error | undefined;
  /** Appends that threw appendFailure. */
  appendsFailed = 0;
  genesisTime: string | undefined;
  hmacKey: Uint8Array | undefined;

  async append(events: readonly AuditEvent[]): Promise<void> {
    this.appendBatches.push(events.length);
    await tick();
    if (this.appendFailure) {
      this.appendsFailed += 1;
      throw this.appendFailure;
    }
    const keys = events.map(auditKeyOf);
    if (keys.some((key) => this.items.has(key))) throw new ConflictError('audit event exists');
    events.forEach((event, i) => this.items.set(keys[i]!, structuredClone(event)));
  }

  async ensureGenesis(time: string): Promise<string> {
    await tick();
    this.genesisTime ??= time;
    return this.genesisTime;
  }

  async genesis(): Promise<string | undefined> {
    return this.genesisTime;
  }

  async events(query: AuditQuery, limit = Number.POSITIVE_INFINITY): Promise<StoredAuditEvent[]> {
    await tick();
    return [...this.items.keys()]
      .filter((key) => key > query.afterKey && key <= query.throughKey)
      .sort()
      .map((key) => ({ key, event: structuredClone(this.items.get(key)!) }))
      .filter((stored) => matches(stored.event, query))
      .slice(0, limit);
  }

  /** Memory is read at once: a page never stops early. */
  async eventsPage(query: AuditQuery, limit: number): Promise<{ events: StoredAuditEvent[]; resumeAfter?: string }> {
    return { events: await this.events(query, limit) };
  }

  async countEventsAfter(afterKey: string): Promise<number> {
    await tick();
    return [...this.items.keys()].filter((key) => key > afterKey).length;
  }

  async latestBlock(): Promise<AuditBlock | undefined> {
    await tick();
    const seqs = [...this.blockItems.keys()];
    return seqs.length ? structuredClone(this.blockItems.get(Math.max(...seqs))) : undefined;
  }

  async putBlock(block: AuditBlock): Promise<boolean> {
    await tick();
    if (this.blockItems.has(block.seq)) return false;
    this.blockItems.set(block.seq, structuredClone(block));
    return true;
  }

  async block(seq: number): Promise<AuditBlock | undefined> {
    await tick();
    return structuredClone(this.blockItems.get(seq));
  }

  async blocks(fromSeq: number, limit: number): Promise<AuditBlock[]> {
    await tick();
    return [...this.blockItems.keys()]
      .filter((seq) => seq >= fromSeq)
      .sort((a, b) => a - b)
      .slice(0, limit)
      .map((seq) => structuredClone(this.blockItems.get(seq)!));
  }

  async firstBlockThrough(key: string): Promise<AuditBlock | undefined> {
    await tick();
    const found = [...this.blockItems.values()].filter((block) => block.throughKey >= key).sort((a, b) => (a.throughKey < b.throughKey ? -1 : 1))[0];
    return structuredClone(found);
  }

  async appendVerification(record: VerificationRecord): Promise<void> {
    await tick();
    this.verifications.push(structuredClone(record));
  }

  async latestVerification(kind: 'any' | 'divergent' | 'clean-full'): Promise<VerificationRecord | undefined> {
    await tick();
    const wanted = this.verifications.filter(
      (record) => kind === 'any' || (kind === 'divergent' ? record.divergence !== undefined : record.full && !record.divergence),
    );
    return structuredClone(wanted.at(-1));
  }

  async wrappedHmacKey(): Promise<Uint8Array | undefined> {
    return this.hmacKey;
  }

  async putWrappedHmacKeyIfAbsent(wrapped: Uint8Array): Promise<Uint8Array> {
    await tick();
    this.hmacKey ??= wrapped;
    return this.hmacKey;
  }

  /** The stored event with this id, and its key. */
  find(eventId: string): StoredAuditEvent {
    for (const [key, event] of this.items) if (event.eventId === eventId) return { key, event };
    throw new Error(`no stored event ${eventId}`);
  }
}

/** Anchors in memory, copied like the JSON objects S3 holds; `objects` is open for tampering. */
export class InMemoryAuditAnchors implements AuditAnchors {
  readonly objects = new Map<number, AuditBlock>();
  puts = 0;

  async put(block: AuditBlock): Promise<void> {
    await tick();
    this.puts += 1;
    this.objects.set(block.seq, structuredClone(block));
  }

  async get(seq: number): Promise<AuditBlock | undefined> {
    await tick();
    return structuredClone(this.objects.get(seq));
  }

  async exists(seq: number): Promise<boolean> {
    await tick();
    return this.objects.has(seq);
  }
}

/** The detections' memory: last read per path and readers per sensitive path. */
export class InMemoryDetectionState implements DetectionState {
  readonly lastRead = new Map<string, number>();
  readonly readers = new Set<string>();

  async swapLastRead(tenantId: string, path: string, at: number): Promise<number | undefined> {
    const key = `${tenantId}\u0000${path}`;
    const previous = this.lastRead.get(key);
    this.lastRead.set(key, at);
    return previous;
  }

  async markReader(tenantId: string, path: string, identityId: string): Promise<boolean> {
    const key = `${tenantId}\u0000${path}\u0000${identityId}`;
    if (this.readers.has(key)) return false;
    this.readers.add(key);
    return true;
  }
}

/** Objects in memory; a sink's bytes land only on close, like a completed multipart upload. */
export class InMemoryExportTarget implements ExportTarget {
  readonly bucket = 'audit-bucket';
  readonly objects = new Map<string, Buffer>();
  readonly json = new Map<string, string>();
  opened = 0;
  aborted = 0;

  open(key: string): ExportSink {
    this.opened += 1;
    const chunks: Buffer[] = [];
    return {
      write: async (chunk) => {
        chunks.push(Buffer.from(chunk));
      },
      close: async () => {
        this.objects.set(key, Buffer.concat(chunks));
      },
      abort: async () => {
        this.aborted += 1;
      },
    };
  }

  async putJson(key: string, value: unknown): Promise<void> {
    this.json.set(key, JSON.stringify(value));
  }

  async getJson<T>(key: string): Promise<T | undefined> {
    const text = this.json.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }
}

/** 2026-04-21T12:00:00.000Z: the tests' epoch. */
export const T0 = Date.parse('2026-04-21T12:00:00.000Z');

/** A clock a test moves by hand. */
export const auditClock = (start = T0) => {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms), set: (ms: number) => void (now = ms) };
};

let eventCounter = 0;

/** A valid event with a fresh id; `time` defaults to T0. */
export const sampleEvent = (overrides: Partial<AuditEvent> = {}): AuditEvent => {
  eventCounter += 1;
  return {
    eventId: `aev_${eventCounter.toString(16).padStart(32, '0')}`,
    time: new Date(T0).toISOString(),
    type: 'secret.read',
    outcome: 'success',
    tenantId: 'acme',
    identityId: 'user:alice',
    path: 'app/db/password',
    ...overrides,
  };
};

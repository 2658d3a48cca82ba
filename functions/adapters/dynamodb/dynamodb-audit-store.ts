import { BatchWriteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { randomUUID } from 'node:crypto';
import { auditKeyOf, type AuditEvent } from '../../domain/audit/audit-event.js';
import { DependencyUnavailableError, OutcomeUnknownError } from '../../domain/errors.js';
import { dynamoCall, putIfAbsent } from './dynamodb-call.js';
import type { AuditBlock, AuditQuery, AuditStore, StoredAuditEvent, VerificationRecord } from '../../domain/ports/audit.js';

// The audit table holds only items that are written once:
//   DAY#<yyyy-mm-dd> / <time>#<event id>   one event, its fields as attributes
//   BLOCK / <seq, 12 digits>                one sealed block (also in the byEnd index by throughKey)
//   CHAIN / GENESIS, CHAIN / HMACKEY        the chain's start and the wrapped HMAC key
//   VERIFY[#DIVERGENT|#CLEAN_FULL] / <time>#<n>  verification runs
// Day partitions keep a query for a time range to the days it spans.

export const BLOCK_INDEX = 'byEnd';
const EVENT_FIELDS = [
  'eventId',
  'time',
  'type',
  'outcome',
  'tenantId',
  'identityId',
  'path',
  'requestId',
  'sourceAddress',
  'userAgent',
  'method',
  'status',
  'hmac',
  'details',
] as const;
const DAY_MS = 86_400_000;
const seqKey = (seq: number): string => String(seq).padStart(12, '0');
const dayOf = (key: string): string => key.slice(0, 10);

const toEvent = (item: Record<string, unknown>): AuditEvent => {
  const event: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) if (item[field] !== undefined) event[field] = item[field];
  return event as unknown as AuditEvent;
};

const toBlock = (item: Record<string, unknown>): AuditBlock => ({
  seq: Number(item.seq),
  afterKey: String(item.afterKey),
  throughKey: String(item.throughKey),
  count: Number(item.count),
  merkleRoot: String(item.merkleRoot),
  prevHash: String(item.prevHash),
  sealedAt: String(item.sealedAt),
  hash: String(item.hash),
  leaves: item.leaves ? String(item.leaves).split('\n') : [],
});

const blockItem = (block: AuditBlock): Record<string, unknown> => ({
  pk: 'BLOCK',
  sk: seqKey(block.seq),
  gpk: 'BLOCKS',
  gsk: block.throughKey,
  seq: block.seq,
  afterKey: block.afterKey,
  throughKey: block.throughKey,
  count: block.count,
  merkleRoot: block.merkleRoot,
  prevHash: block.prevHash,
  sealedAt: block.sealedAt,
  hash: block.hash,
  // DynamoDB rejects empty strings only in keys; an empty block stores no leaves attribute.
  ...(block.leaves.length ? { leaves: block.leaves.join('\n') } : {}),
});

const days = (afterKey: string, throughKey: string): string[] => {
  const list: string[] = [];
  const last = Date.parse(dayOf(throughKey));
  for (let day = Date.parse(dayOf(afterKey)); day <= last; day += DAY_MS) list.push(new Date(day).toISOString().slice(0, 10));
  return list;
};

const filterOf = (query: AuditQuery): { expression?: string; names: Record<string, string>; values: Record<string, AttributeValue> } => {
  const clauses: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, AttributeValue> = {};
  const equal = (field: string, value: string | undefined) => {
    if (value === undefined) return;
    names[`#${field}`] = field;
    values[`:${field}`] = { S: value };
    clauses.push(`#${field} = :${field}`);
  };
  equal('type', query.type);
  equal('identityId', query.identityId);
  equal('tenantId', query.tenantId);
  equal('outcome', query.outcome);
  if (query.path?.endsWith('*')) {
    names['#path'] = 'path';
    values[':path'] = { S: query.path.slice(0, -1) };
    clauses.push('begins_with(#path, :path)');
  } else equal('path', query.path);
  return { expression: clauses.length ? clauses.join(' AND ') : undefined, names, values };
};

export class DynamoDbAuditStore implements AuditStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    /**
     * A batch is tried again only while its oldest event is younger than this: past the sealer's grace,
     * a late landing (a try resumed after Lambda thawed the container) would fall into a sealed window
     * and read as tampering. The composition passes half the seal grace.
     */
    private readonly retryWithinMs = 15_000,
    private readonly now: () => number = Date.now,
  ) {}

  async append(events: readonly AuditEvent[]): Promise<void> {
    let requests: { PutRequest: { Item: Record<string, AttributeValue> } }[] = events.map((event) => ({
      PutRequest: { Item: marshall({ pk: `DAY#${event.time.slice(0, 10)}`, sk: auditKeyOf(event), ...event }, { removeUndefinedValues: true }) },
    }));
    const oldest = Math.min(...events.map((event) => Date.parse(event.time)));
    // Unprocessed items (throttling) are tried again a few times with a short pause; then the batch fails closed.
    // So is a batch sent with no answer (a kept-alive connection closed under it): each event is an
    // unconditional put of the same item under its own key, so a second landing changes nothing.
    let failure: Error = new DependencyUnavailableError('dynamodb', { cause: new Error('audit events left unprocessed') });
    for (let attempt = 0; requests.length > 0; attempt += 1) {
      if (attempt > 0) {
        if (attempt === 4 || this.now() - oldest >= this.retryWithinMs) throw failure;
        await new Promise((resolve) => setTimeout(resolve, 20 * 2 ** attempt));
      }
      try {
        const result = await dynamoCall(() => this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: requests } })));
        requests = (result.UnprocessedItems?.[this.table] ?? []) as typeof requests;
        failure = new DependencyUnavailableError('dynamodb', { cause: new Error(`${requests.length} audit events left unprocessed`) });
      } catch (error) {
        if (!(error instanceof OutcomeUnknownError)) throw error;
        failure = error;
      }
    }
  }

  ensureGenesis(time: string): Promise<string> {
    return this.chainValueOnce('GENESIS', 'time', time);
  }

  async genesis(): Promise<string | undefined> {
    return (await this.get('CHAIN', 'GENESIS'))?.time as string | undefined;
  }

  /** A COUNT query per day partition from `afterKey`'s day to today: the events are not read, only counted. */
  async countEventsAfter(afterKey: string): Promise<number> {
    const today = new Date().toISOString();
    if (afterKey >= today) return 0;
    let total = 0;
    for (const day of days(afterKey, today)) {
      const first = day === dayOf(afterKey);
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await dynamoCall(() =>
          this.client.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: first ? 'pk = :pk AND sk > :after' : 'pk = :pk',
              ExpressionAttributeValues: { ':pk': { S: `DAY#${day}` }, ...(first ? { ':after': { S: afterKey } } : {}) },
              Select: 'COUNT',
              ExclusiveStartKey: start,
            }),
          ),
        );
        total += page.Count ?? 0;
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return total;
  }

  async events(query: AuditQuery, limit = Number.POSITIVE_INFINITY): Promise<StoredAuditEvent[]> {
    return (await this.eventsPage(query, limit)).events;
  }

  /**
   * Like `events`, but stops once `untilMs` has passed (a filter over a long
   * range can read many items to find few): `resumeAfter` is then the key up to
   * which everything was looked at, to continue from.
   */
  async eventsPage(query: AuditQuery, limit: number, untilMs = Number.POSITIVE_INFINITY): Promise<{ events: StoredAuditEvent[]; resumeAfter?: string }> {
    const found: StoredAuditEvent[] = [];
    if (query.afterKey >= query.throughKey) return { events: found };
    const filter = filterOf(query);
    for (const day of days(query.afterKey, query.throughKey)) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const remaining = limit - found.length;
        const page = await dynamoCall(() =>
          this.client.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :through',
              FilterExpression: filter.expression,
              ExpressionAttributeNames: filter.expression ? filter.names : undefined,
              ExpressionAttributeValues: { ':pk': { S: `DAY#${day}` }, ':from': { S: query.afterKey }, ':through': { S: query.throughKey }, ...filter.values },
              // The sealer must see every event already acknowledged.
              ConsistentRead: true,
              Limit: filter.expression || !Number.isFinite(remaining) ? undefined : remaining + 1,
              ExclusiveStartKey: start,
            }),
          ),
        );
        for (const raw of page.Items ?? []) {
          const item = unmarshall(raw);
          // BETWEEN is inclusive; afterKey is not part of the range.
          if (item.sk === query.afterKey) continue;
          found.push({ key: String(item.sk), event: toEvent(item) });
          if (found.length >= limit) return { events: found };
        }
        start = page.LastEvaluatedKey;
        if (Date.now() >= untilMs) {
          const scanned = start ? String(unmarshall(start).sk) : `${day}T23:59:59.999Z#~`;
          // Only a point past where this call started is progress (a resumed call re-enters that day first).
          if (scanned > query.afterKey && scanned < query.throughKey) return { events: found, resumeAfter: scanned };
        }
      } while (start);
    }
    return { events: found };
  }

  async latestBlock(): Promise<AuditBlock | undefined> {
    const page = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'BLOCK' } },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const item = page.Items?.[0];
    return item ? toBlock(unmarshall(item)) : undefined;
  }

  putBlock(block: AuditBlock): Promise<boolean> {
    return putIfAbsent(this.client, this.table, blockItem(block));
  }

  async block(seq: number): Promise<AuditBlock | undefined> {
    const item = await this.get('BLOCK', seqKey(seq));
    return item ? toBlock(item) : undefined;
  }

  async blocks(fromSeq: number, limit: number): Promise<AuditBlock[]> {
    const page = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk >= :from',
          ExpressionAttributeValues: { ':pk': { S: 'BLOCK' }, ':from': { S: seqKey(fromSeq) } },
          Limit: limit,
          ConsistentRead: true,
        }),
      ),
    );
    return (page.Items ?? []).map((item) => toBlock(unmarshall(item)));
  }

  async firstBlockThrough(key: string): Promise<AuditBlock | undefined> {
    const page = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          IndexName: BLOCK_INDEX,
          KeyConditionExpression: 'gpk = :pk AND gsk >= :key',
          ExpressionAttributeValues: { ':pk': { S: 'BLOCKS' }, ':key': { S: key } },
          Limit: 1,
        }),
      ),
    );
    const item = page.Items?.[0];
    return item ? toBlock(unmarshall(item)) : undefined;
  }

  async appendVerification(record: VerificationRecord): Promise<void> {
    const sk = `${record.at}#${randomUUID()}`;
    const partitions = ['VERIFY', record.divergence ? 'VERIFY#DIVERGENT' : record.full ? 'VERIFY#CLEAN_FULL' : undefined].filter(Boolean) as string[];
    for (const pk of partitions) {
      await dynamoCall(() =>
        this.client.send(new PutItemCommand({ TableName: this.table, Item: marshall({ pk, sk, ...record }, { removeUndefinedValues: true }) })),
      );
    }
  }

  async latestVerification(kind: 'any' | 'divergent' | 'clean-full'): Promise<VerificationRecord | undefined> {
    const pk = { any: 'VERIFY', divergent: 'VERIFY#DIVERGENT', 'clean-full': 'VERIFY#CLEAN_FULL' }[kind];
    const page = await dynamoCall(() =>
      this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: pk } },
          ScanIndexForward: false,
          Limit: 1,
          ConsistentRead: true,
        }),
      ),
    );
    const item = page.Items?.[0];
    if (!item) return undefined;
    const { pk: _pk, sk: _sk, ...record } = unmarshall(item);
    return record as VerificationRecord;
  }

  async wrappedHmacKey(): Promise<Uint8Array | undefined> {
    return (await this.get('CHAIN', 'HMACKEY'))?.wrapped as Uint8Array | undefined;
  }

  putWrappedHmacKeyIfAbsent(wrapped: Uint8Array): Promise<Uint8Array> {
    return this.chainValueOnce('HMACKEY', 'wrapped', wrapped);
  }

  /** Writes a chain-wide value once: the first writer's value is kept and returned to every later one. */
  private async chainValueOnce<T>(sk: string, attribute: string, value: T): Promise<T> {
    if (await putIfAbsent(this.client, this.table, { pk: 'CHAIN', sk, [attribute]: value })) return value;
    const stored = (await this.get('CHAIN', sk))?.[attribute] as T | undefined;
    if (stored === undefined) throw new DependencyUnavailableError('dynamodb', { cause: new Error(`CHAIN/${sk} vanished`) });
    return stored;
  }

  private async get(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const result = await dynamoCall(() => this.client.send(new GetItemCommand({ TableName: this.table, Key: marshall({ pk, sk }), ConsistentRead: true })));
    return result.Item ? unmarshall(result.Item) : undefined;
  }
}

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAuditStore } from '../../functions/adapters/dynamodb/dynamodb-audit-store.js';
import { guardWriteOutcomes } from '../../functions/adapters/dynamodb/write-outcome.js';
import { auditKeyOf } from '../../functions/domain/audit/audit-event.js';
import { AUDIT_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { sampleEvent } from '../unit/support/in-memory-audit.js';
import { DynaliteProcess } from './support/processes.js';
import { SlowProxy } from './support/slow-proxy.js';

// The DynamoDB audit store against dynalite: day partitions, range bounds and
// a query that runs out of time answering where to resume.
describe('DynamoDbAuditStore on dynalite', () => {
  let dynalite: DynaliteProcess;
  let client: DynamoDBClient;
  let store: DynamoDbAuditStore;
  const days = ['2026-11-19', '2026-11-20', '2026-11-21'];
  const written = days.flatMap((day) => [1, 2, 3].map((n) => sampleEvent({ time: `${day}T1${n}:00:00.000Z`, type: n === 2 ? 'secret.write' : 'secret.read' })));

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ensureTable(client, AUDIT_TABLE);
    store = new DynamoDbAuditStore(client, AUDIT_TABLE.id);
    await store.append(written);
  });

  afterAll(async () => {
    client.destroy();
    await dynalite.stop();
  });

  it('reads a range across day partitions in key order, afterKey exclusive and throughKey inclusive', async () => {
    const all = await store.events({ afterKey: '2026-11-19T00:00:00.000Z', throughKey: '2026-11-21T23:59:59.999Z#~' });
    expect(all.map((stored) => stored.key)).toEqual(written.map(auditKeyOf));
    expect(all.map((stored) => stored.event)).toEqual(written);
    const inner = await store.events({ afterKey: auditKeyOf(written[1]!), throughKey: auditKeyOf(written[7]!) });
    expect(inner.map((stored) => stored.event.eventId)).toEqual(written.slice(2, 8).map((event) => event.eventId));
    expect(await store.events({ afterKey: '2026-11-19T00:00:00.000Z', throughKey: '2026-11-21T23:59:59.999Z#~', type: 'secret.write' }, 2)).toHaveLength(2);
  });

  it('answers where to resume when out of time, and resuming finds the rest once', async () => {
    const query = { afterKey: '2026-11-19T00:00:00.000Z', throughKey: '2026-11-21T23:59:59.999Z#~', type: 'secret.write' };
    const seen: string[] = [];
    let afterKey = query.afterKey;
    let pages = 0;
    for (;;) {
      // A budget already spent: each call reads one page, then says where it stopped.
      const page = await store.eventsPage({ ...query, afterKey }, 100, 0);
      seen.push(...page.events.map((stored) => stored.event.eventId));
      pages += 1;
      if (!page.resumeAfter) break;
      expect(page.resumeAfter > afterKey).toBe(true);
      afterKey = page.resumeAfter;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(written.filter((event) => event.type === 'secret.write').map((event) => event.eventId));
  });

  it('sends a batch again when its connection closed with no answer, and a second landing of the same events changes nothing', async () => {
    const proxy = await SlowProxy.start(dynalite.port);
    const proxied = guardWriteOutcomes(
      new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    );
    try {
      const now = Date.now();
      const fresh = [now - 2000, now - 1000].map((ms) => sampleEvent({ time: new Date(ms).toISOString() }));
      let cut = 0;
      // The first batch's connection is reset as it is sent: for the client, a write with no answer.
      proxy.failWhen = (request) => request.includes('BatchWriteItem') && (cut += 1) === 1;
      await new DynamoDbAuditStore(proxied, AUDIT_TABLE.id, 15_000).append(fresh);
      expect(cut).toBe(2);
      await store.append(fresh);
      const range = { afterKey: auditKeyOf(fresh[0]!).slice(0, 24), throughKey: `${auditKeyOf(fresh[1]!).slice(0, 24)}#~` };
      expect((await store.events(range)).map((stored) => stored.event)).toEqual(fresh);

      // A batch whose events are older than the window is not tried again: by now the sealer may have
      // closed their window, and a late landing there would read as tampering.
      const late = [sampleEvent({ time: new Date(now - 20_000).toISOString() })];
      cut = 0;
      await expect(new DynamoDbAuditStore(proxied, AUDIT_TABLE.id, 15_000).append(late)).rejects.toThrow('a write to dynamodb got no answer');
      expect(cut).toBe(1);
    } finally {
      proxied.destroy();
      await proxy.stop();
    }
  });
});

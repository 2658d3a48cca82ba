import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { AuditHmac, AuditLog } from '../../functions/domain/audit/audit-log.js';
import { DependencyUnavailableError } from '../../functions/domain/errors.js';
import { RequestAudit } from '../../functions/http/request-audit.js';
import { apiEvent } from './support/api-event.js';
import { auditClock, InMemoryAuditStore } from './support/in-memory-audit.js';

// A read's record written ahead, beside the read (functions/http/request-audit.ts).

const READ = { method: 'GET', category: 'secrets', audit: 'secret.read' } as const;

const setup = () => {
  const store = new InMemoryAuditStore();
  const metrics = { auditWritten: () => undefined, auditWriteFailed: () => undefined };
  const log = new AuditLog(store, new AuditHmac(store, new LocalKeyWrapper(randomBytes(32))), metrics, undefined, auditClock().now);
  const lost: unknown[] = [];
  const audit = new RequestAudit(log, READ, apiEvent({ headers: { authorization: `Bearer svt_${'a'.repeat(43)}` } }), {
    who: () => ({ requestId: 'req-1', sourceIp: '127.0.0.1', tenantId: 'acme', identityId: 'sa:reader', path: 'app/db' }),
    onLost: (error) => void lost.push(error),
  });
  const records = () => [...store.items.values()].map(({ eventId, outcome, status, details }) => ({ eventId, outcome, status, details }));
  return { store, audit, records, lost };
};

describe('RequestAudit: a read recorded ahead', () => {
  it('writes one record, while the read runs, that stands as the outcome when the read returns the version it names', async () => {
    const { store, audit, records } = setup();
    audit.recordAhead({ version: 3 });
    // Started before the read resolves: the store is asked to append while the outcome is still unknown.
    await vi.waitFor(() => expect(store.appendBatches).toEqual([1]), { timeout: 2000, interval: 1 });
    audit.detail('version', 3);
    await audit.outcome(200);
    expect(records()).toEqual([{ eventId: expect.any(String), outcome: 'success', status: 200, details: { version: 3 } }]);
    const [event] = [...store.items.values()];
    expect(event).toMatchObject({ type: 'secret.read', identityId: 'sa:reader', path: 'app/db', requestId: 'req-1', hmac: { token: expect.any(String) } });
  });

  it('records the version actually returned, voiding the record written ahead, when another version was current', async () => {
    const { audit, records } = setup();
    audit.recordAhead({ version: 3 });
    audit.detail('version', 4);
    await audit.outcome(200);
    const [ahead, actual] = records();
    expect(ahead).toMatchObject({ outcome: 'success', details: { version: 3 } });
    expect(actual).toEqual({ eventId: expect.any(String), outcome: 'success', status: 200, details: { version: 4, voids: ahead!.eventId } });
  });

  it('records a failed read as failed, voiding the record written ahead', async () => {
    const { audit, records } = setup();
    audit.recordAhead({ version: 3 });
    await audit.outcome(404);
    const [ahead, actual] = records();
    expect(actual).toMatchObject({ outcome: 'failure', status: 404, details: { version: 3, voids: ahead!.eventId } });
  });

  it('refuses to release the value (throws 503) when the record written ahead could not be written', async () => {
    const { store, audit, records, lost } = setup();
    store.appendFailure = new Error('audit table unavailable');
    audit.recordAhead({ version: 3 });
    audit.detail('version', 3);
    await expect(audit.outcome(200)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(records()).toEqual([]);
    expect(lost).toEqual([]);
  });

  it('records a failed read whose record ahead was lost as failed, with nothing to void', async () => {
    const { store, audit, records } = setup();
    store.appendFailure = new Error('audit table unavailable');
    audit.recordAhead({ version: 3 });
    // Until the append written ahead has failed: a fixed pause could end before it was even tried on a busy machine.
    await vi.waitFor(() => expect(store.appendsFailed).toBe(1), { timeout: 5000, interval: 1 });
    store.appendFailure = undefined;
    await audit.outcome(503);
    expect(records()).toEqual([{ eventId: expect.any(String), outcome: 'error', status: 503, details: { version: 3 } }]);
  });

  it('writes nothing ahead for a change', async () => {
    const { store, records } = setup();
    const metrics = { auditWritten: () => undefined, auditWriteFailed: () => undefined };
    const audit = new RequestAudit(
      new AuditLog(store, new AuditHmac(store, new LocalKeyWrapper(randomBytes(32))), metrics),
      { method: 'PUT', category: 'secrets', audit: 'secret.write' },
      apiEvent(),
      { who: () => ({ requestId: 'req-2', sourceIp: '127.0.0.1', tenantId: 'acme', identityId: 'sa:writer', path: 'app/db' }), onLost: () => undefined },
    );
    audit.recordAhead({ version: 3 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(records()).toEqual([]);
  });
});

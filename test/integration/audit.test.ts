import {
  DeleteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SD_ID } from '../../functions/adapters/syslog/rfc5424.js';
import type { AuditEvent } from '../../functions/domain/audit/audit-event.js';
import { validateAuditEvent } from '../../functions/domain/audit/audit-event-schema.js';
import { leafHash, verifyProof, type ProofStep } from '../../functions/domain/audit/merkle.js';
import { AUDIT_BUCKET, AUDIT_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { parseRfc5424, RsyslogServer } from '../support/rsyslog-server.js';
import { parseExposition, sumOf } from './support/exposition.js';
import { DynaliteProcess, waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';

// The audit trail end to end: every request over real HTTP leaves schema-valid
// records in DynamoDB, the scheduler seals them into an anchored hash chain,
// verify names a record changed behind the vault's back, exports carry proofs
// a SIEM can check, rsyslog receives each record, and a vault that cannot
// write its trail refuses to act.

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' } };

interface ExportLine {
  readonly event: AuditEvent;
  readonly block: { readonly seq: number; readonly hash: string; readonly merkle_root: string };
  readonly leaf: string;
  readonly proof: ProofStep[];
}

/** An S3 client on the vault's in-memory S3 (fauxqs), at the endpoint its startup log line names. */
const fauxqsOf = async (vault: VaultProcess): Promise<S3Client> => {
  const ready = vault.logLines().find((line) => line.message === 'embedded stack ready');
  const endpoint = ready?.sqs_and_s3;
  if (typeof endpoint !== 'string') throw new Error('the vault logged no embedded S3 endpoint');
  const client = new S3Client({ ...LOCAL, endpoint, forcePathStyle: true, maxAttempts: 1 });
  await client.send(new HeadBucketCommand({ Bucket: AUDIT_BUCKET.id }));
  return client;
};

// The tests share one vault and run in order: later ones check the records
// earlier ones made, and the outage test, which drops the table, comes last.
describe('audit trail', () => {
  let dynalite: DynaliteProcess;
  let relay: RsyslogServer;
  let vault: VaultProcess;
  let dynamodb: DynamoDBClient;
  let s3: S3Client;
  let startedAt: string;
  /** Every secret value and token this file used: none may appear in a record, a log line, a syslog message or an export. */
  const secrets: string[] = [];

  const events = async (query: Record<string, string> = {}): Promise<AuditEvent[]> => {
    const response = await vault.request('GET', `/v1/audit/events?${new URLSearchParams({ from: startedAt, limit: '1000', ...query })}`);
    expect(response.status, response.text).toBe(200);
    expect(response.body.next_cursor).toBeNull();
    return response.body.events as AuditEvent[];
  };
  const ofRequest = async (requestId: string): Promise<AuditEvent[]> => (await events()).filter((event) => event.requestId === requestId);
  const hmacOf = async (input: string): Promise<string> => {
    const response = await vault.request('POST', '/v1/audit/hash', { body: { input } });
    expect(response.status, response.text).toBe(200);
    return response.body.hmac as string;
  };
  const verify = async () => {
    const response = await vault.request('GET', '/v1/audit/verify');
    expect(response.status, response.text).toBe(200);
    return response.body as {
      ok: boolean;
      complete: boolean;
      checked_blocks: number;
      checked_events: number;
      first_divergence: { block: number; event_id: string | null; event_key: string | null; reason: string } | null;
      head: { block: number; hash: string; sealed_through: string; sealed_at: string } | null;
    };
  };
  /** Polls verify until the sealed head covers `time`; returns the head. */
  const sealedPast = async (time: string) => {
    let head: Awaited<ReturnType<typeof verify>>['head'] = null;
    await waitFor(
      async () => {
        head = (await verify()).head;
        return head !== null && head.sealed_through > time;
      },
      15_000,
      `a seal past ${time}`,
    );
    return head!;
  };
  const metrics = async (): Promise<Map<string, number>> => {
    const response = await vault.request('GET', '/v1/metrics');
    expect(response.status, response.text).toBe(200);
    return parseExposition(response.text);
  };
  const eventKey = (event: AuditEvent) => ({ pk: { S: `DAY#${event.time.slice(0, 10)}` }, sk: { S: `${event.time}#${event.eventId}` } });
  /** The sealed block whose leaf list holds `event`, read straight from the table. */
  const blockHolding = async (event: AuditEvent): Promise<number> => {
    const blocks = await dynamodb.send(
      new QueryCommand({ TableName: AUDIT_TABLE.id, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'BLOCK' } } }),
    );
    const holding = (blocks.Items ?? []).find((item) => (item.leaves?.S ?? '').includes(`${event.time}#${event.eventId} `));
    expect(holding, `a block holding ${event.eventId}`).toBeDefined();
    return Number(holding!.seq!.N);
  };

  beforeAll(async () => {
    startedAt = new Date(Date.now() - 1000).toISOString();
    [dynalite, relay] = await Promise.all([DynaliteProcess.start(), RsyslogServer.start()]);
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '1000',
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
        SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '1',
        SCAIVAULT_METRICS_FLUSH_SECONDS: '0.5',
        SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
        SCAIVAULT_SYSLOG_URL: relay.url('tcp'),
      },
    });
    secrets.push(vault.rootToken);
    dynamodb = new DynamoDBClient({ ...LOCAL, endpoint: dynalite.endpoint });
    s3 = await fauxqsOf(vault);
  });

  afterAll(async () => {
    dynamodb?.destroy();
    s3?.destroy();
    await vault?.stop();
    await Promise.all([dynalite?.stop(), relay?.stop()]);
  });

  it('answers a range past the chain head as an empty verified range, without moving the divergence gauge', async () => {
    for (const from of ['1000000', '999']) {
      const response = await vault.request('GET', `/v1/audit/verify?from_block=${from}`);
      expect(response.status, response.text).toBe(200);
      expect(response.body).toMatchObject({ ok: true, complete: true, checked_blocks: 0, first_divergence: null, from_block: Number(from) });
    }
    expect(sumOf(await metrics(), 'scaivault_audit_chain_divergence')).toBe(0);
    expect((await verify()).ok).toBe(true);
  });

  it('records a secret write as attempted, then success, with the token and value only as HMACs', async () => {
    const value = `audit-value-${Math.random().toString(36).slice(2)}`;
    secrets.push(value);
    const put = await vault.request('PUT', '/v1/secrets/audited/db', {
      body: { value },
      headers: { 'x-request-id': 'it-audit-put-1', 'user-agent': 'audit-it/1' },
    });
    expect(put.status, put.text).toBe(201);

    const [attempted, success, ...rest] = await ofRequest('it-audit-put-1');
    expect(rest).toEqual([]);
    for (const event of [attempted!, success!]) expect(validateAuditEvent(event)).toBe(event);
    const tokenHmac = await hmacOf(vault.rootToken);
    const valueHmac = await hmacOf(value);
    expect(tokenHmac).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(valueHmac).not.toBe(tokenHmac);
    const common = {
      type: 'secret.write',
      tenantId: 'default',
      identityId: 'sa:root',
      path: 'audited/db',
      requestId: 'it-audit-put-1',
      method: 'PUT',
      userAgent: 'audit-it/1',
      sourceAddress: '127.0.0.1',
    };
    expect(attempted).toMatchObject({ ...common, outcome: 'attempted', hmac: { token: tokenHmac } });
    expect(attempted!.status).toBeUndefined();
    expect(success).toMatchObject({ ...common, outcome: 'success', status: 201, hmac: { token: tokenHmac, value: valueHmac }, details: { version: 1 } });
    expect(attempted!.time <= success!.time).toBe(true);

    // A read's record is written before its answer leaves: no polling.
    const read = await vault.request('GET', '/v1/secrets/audited/db', { headers: { 'x-request-id': 'it-audit-get-1' } });
    expect(read.body.value).toBe(value);
    expect(await ofRequest('it-audit-get-1')).toMatchObject([
      { type: 'secret.read', outcome: 'success', status: 200, path: 'audited/db', method: 'GET', details: { version: 1 }, hmac: { token: tokenHmac } },
    ]);
    const versions = await vault.request('GET', '/v1/secrets/audited/db/versions', { headers: { 'x-request-id': 'it-audit-versions-1' } });
    expect(versions.status).toBe(200);
    expect(await ofRequest('it-audit-versions-1')).toMatchObject([{ type: 'secret.versions', outcome: 'success', path: 'audited/db' }]);
    const deleted = await vault.request('DELETE', '/v1/secrets/audited/db', { headers: { 'x-request-id': 'it-audit-delete-1' } });
    expect(deleted.status, deleted.text).toBeLessThan(300);
    expect((await ofRequest('it-audit-delete-1')).map((e) => [e.type, e.outcome, e.details?.destroy])).toEqual([
      ['secret.delete', 'attempted', undefined],
      ['secret.delete', 'success', false],
    ]);
    const restored = await vault.request('POST', '/v1/secrets/audited/db/restore', { headers: { 'x-request-id': 'it-audit-restore-1' } });
    expect(restored.status, restored.text).toBe(200);
    expect((await ofRequest('it-audit-restore-1')).map((e) => [e.type, e.outcome])).toEqual([
      ['secret.restore', 'attempted'],
      ['secret.restore', 'success'],
    ]);

    const all = await events();
    for (const event of all) expect(() => validateAuditEvent(event)).not.toThrow();
    const stored = JSON.stringify(all);
    for (const secret of secrets) expect(stored).not.toContain(secret);
  });

  it('records a 403 as policy_violation naming the attempted action, and a 401 as auth.failed', async () => {
    const token = await createIdentity(vault, { tenant: 'audit-deny', identity: 'sa:limited', rules: [{ path: 'app/**', capabilities: ['read'] }] });
    secrets.push(token);
    const denied = await vault.request('PUT', '/v1/secrets/other/x', { token, body: { value: 'never-written' }, headers: { 'x-request-id': 'it-audit-403' } });
    expect(denied.status).toBe(403);
    const tokenHmac = await hmacOf(token);
    expect(await ofRequest('it-audit-403')).toMatchObject([
      { type: 'secret.write', outcome: 'attempted', tenantId: 'audit-deny', identityId: 'sa:limited', path: 'other/x', hmac: { token: tokenHmac } },
      {
        type: 'policy_violation',
        outcome: 'denied',
        status: 403,
        tenantId: 'audit-deny',
        identityId: 'sa:limited',
        path: 'other/x',
        details: { action: 'secret.write' },
      },
    ]);
    // The operator routes are the operator's alone, and a refused look is itself a violation.
    expect((await vault.request('GET', '/v1/audit/events', { token, headers: { 'x-request-id': 'it-audit-403-query' } })).status).toBe(403);
    expect(await ofRequest('it-audit-403-query')).toMatchObject([{ type: 'policy_violation', outcome: 'denied', details: { action: 'audit.query' } }]);

    const bogus = `svt_${'q'.repeat(43)}`;
    secrets.push(bogus);
    expect((await vault.request('GET', '/v1/secrets/audited/db', { token: bogus, headers: { 'x-request-id': 'it-audit-401' } })).status).toBe(401);
    const [failed, ...more] = await ofRequest('it-audit-401');
    expect(more).toEqual([]);
    expect(failed).toMatchObject({
      type: 'auth.failed',
      outcome: 'denied',
      status: 401,
      method: 'GET',
      path: 'audited/db',
      details: { action: 'secret.read' },
      hmac: { token: await hmacOf(bogus) },
    });
    expect(failed!.identityId).toBeUndefined();
    expect(
      (await vault.request('PUT', '/v1/secrets/audited/db', { token: null, body: { value: 'x' }, headers: { 'x-request-id': 'it-audit-401-none' } })).status,
    ).toBe(401);
    const [anonymous, ...again] = await ofRequest('it-audit-401-none');
    expect(again).toEqual([]);
    expect(anonymous).toMatchObject({ type: 'auth.failed', outcome: 'denied', status: 401, details: { action: 'secret.write' } });
    expect(anonymous!.hmac).toBeUndefined();
  });

  it('does not audit the public probes or unknown paths', async () => {
    const probes: [string, string | null][] = [
      ['/v1/health', null],
      ['/v1/health/ready', null],
      ['/v1/metrics', vault.rootToken],
      ['/v1/no-such-route', vault.rootToken],
      ['/nowhere', null],
    ];
    for (const [index, [path, token]] of probes.entries()) {
      const response = await vault.request('GET', path, { token, headers: { 'x-request-id': `it-audit-probe-${index}` } });
      expect(response.status, path).toBeLessThan(500);
    }
    // A request that is audited, after the probes: its record proves the probes' would be there by now.
    await vault.request('GET', '/v1/secrets/audited/db', { headers: { 'x-request-id': 'it-audit-after-probes' } });
    const all = await events();
    expect(all.filter((event) => event.requestId === 'it-audit-after-probes')).toHaveLength(1);
    expect(all.filter((event) => event.requestId?.startsWith('it-audit-probe-'))).toEqual([]);
  });

  it('filters by type, identity, path prefix and outcome, and pages with a cursor', async () => {
    const token = await createIdentity(vault, {
      tenant: 'audit-filter',
      identity: 'sa:filter',
      rules: [{ path: 'filt/**', capabilities: ['read', 'write', 'list'] }],
    });
    secrets.push(token);
    for (const [method, path, body] of [
      ['PUT', 'filt/a', { value: 'filter-a-value' }],
      ['PUT', 'filt/b', { value: 'filter-b-value' }],
      ['GET', 'filt/a', undefined],
      ['GET', 'filt/missing', undefined],
      ['PUT', 'other/x', { value: 'filter-denied-value' }],
      ['GET', 'filt/a/versions', undefined],
    ] as const) {
      const response = await vault.request(method, `/v1/secrets/${path}`, { token, body });
      expect([200, 201, 403, 404]).toContain(response.status);
    }
    secrets.push('filter-a-value', 'filter-b-value', 'filter-denied-value');
    const filterIdentity = 'sa:filter';
    expect(new Set((await events({ tenant_id: 'audit-filter' })).map((e) => e.identityId))).toEqual(new Set([filterIdentity]));

    const writes = await events({ type: 'secret.write', path: 'filt/*' });
    expect(writes.map((e) => [e.path, e.outcome])).toEqual([
      ['filt/a', 'attempted'],
      ['filt/a', 'success'],
      ['filt/b', 'attempted'],
      ['filt/b', 'success'],
    ]);
    expect((await events({ type: 'secret.write', path: 'filt/*', outcome: 'success' })).map((e) => [e.path, e.status])).toEqual([
      ['filt/a', 201],
      ['filt/b', 201],
    ]);
    // Without a trailing * the path is exact: filt/a only, not filt/a's siblings.
    expect((await events({ path: 'filt/a' })).map((e) => [e.type, e.outcome])).toEqual([
      ['secret.write', 'attempted'],
      ['secret.write', 'success'],
      ['secret.read', 'success'],
      ['secret.versions', 'success'],
    ]);
    expect((await events({ identity_id: filterIdentity, outcome: 'denied' })).map((e) => [e.type, e.path, e.status, e.details?.action])).toEqual([
      ['policy_violation', 'other/x', 403, 'secret.write'],
    ]);
    expect((await events({ identity_id: filterIdentity, outcome: 'failure' })).map((e) => [e.type, e.path, e.status])).toEqual([
      ['secret.read', 'filt/missing', 404],
    ]);
    const byIdentity = await events({ identity_id: filterIdentity });
    expect(byIdentity).toHaveLength(9);
    expect(new Set(byIdentity.map((e) => e.identityId))).toEqual(new Set([filterIdentity]));

    const pages: AuditEvent[][] = [];
    let cursor: string | null = null;
    do {
      const query: Record<string, string> = { from: startedAt, identity_id: filterIdentity, limit: '2', ...(cursor ? { cursor } : {}) };
      const page = await vault.request('GET', `/v1/audit/events?${new URLSearchParams(query)}`);
      expect(page.status, page.text).toBe(200);
      pages.push(page.body.events as AuditEvent[]);
      cursor = page.body.next_cursor as string | null;
    } while (cursor && pages.length < 20);
    expect(pages.map((page) => page.length)).toEqual([2, 2, 2, 2, 1]);
    const walked = pages.flat().map((e) => e.eventId);
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked).toEqual(byIdentity.map((e) => e.eventId));

    expect((await vault.request('GET', '/v1/audit/events?cursor=bm90LWEta2V5')).status).toBe(400);
    expect((await vault.request('GET', '/v1/audit/events?outcome=maybe')).status).toBe(400);
  });

  it('exports a sealed range as gzipped JSON lines whose proofs check against their blocks', async () => {
    const last = (await events({ tenant_id: 'audit-filter' })).at(-1)!;
    const head = await sealedPast(last.time);
    const to = head.sealed_through;

    const tooLate = await vault.request('POST', '/v1/audit/export', { body: { from: startedAt, to: new Date(Date.now() + 3_600_000).toISOString() } });
    expect(tooLate.status, tooLate.text).toBe(409);

    const exportAndCheck = async (filters: Record<string, string>, query: Record<string, string>) => {
      const body = { from: startedAt, to, ...filters };
      const submitted = await vault.request('POST', '/v1/audit/export', { body });
      expect([200, 202], submitted.text).toContain(submitted.status);
      const exportId = submitted.body.export_id as string;
      expect(exportId).toMatch(/^exp_[0-9a-f]{32}$/);
      let status:
        | {
            status: string;
            manifest: { count: number; sha256: string; bytes: number; object_key: string; range: { from: string; to: string }; created_at: string } | null;
          }
        | undefined;
      await waitFor(
        async () => {
          const response = await vault.request('GET', `/v1/audit/exports/${exportId}`);
          status = response.body;
          return response.status === 200 && status!.status === 'succeeded';
        },
        15_000,
        `export ${exportId}`,
      );
      const manifest = status!.manifest!;
      expect(manifest).toMatchObject({ object_key: `audit/exports/${exportId}/events.jsonl.gz`, range: { from: startedAt, to } });

      const repeated = await vault.request('POST', '/v1/audit/export', { body });
      expect(repeated.status, repeated.text).toBe(200);
      expect(repeated.body).toMatchObject({ export_id: exportId, status: 'succeeded', manifest: { created_at: manifest.created_at, sha256: manifest.sha256 } });

      const object = await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: manifest.object_key }));
      const gz = Buffer.from(await object.Body!.transformToByteArray());
      expect(gz.length).toBe(manifest.bytes);
      expect(createHash('sha256').update(gz).digest('hex')).toBe(manifest.sha256);
      const stored = await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: `audit/exports/${exportId}/manifest.json` }));
      expect(JSON.parse(await stored.Body!.transformToString())).toEqual(manifest);

      const text = gunzipSync(gz).toString('utf8');
      for (const secret of secrets) expect(text).not.toContain(secret);
      const lines = text
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as ExportLine);
      expect(lines).toHaveLength(manifest.count);
      expect(lines.map((line) => line.event)).toEqual(await events({ from: startedAt, to, ...query }));
      for (const line of lines) {
        expect(leafHash(line.event)).toBe(line.leaf);
        expect(verifyProof(line.leaf, line.proof, line.block.merkle_root), `proof of ${line.event.eventId}`).toBe(true);
        // A proof is bound to its block: the same leaf does not lead to a made-up root.
        expect(verifyProof(line.leaf, line.proof, '0'.repeat(64))).toBe(false);
      }
      return { exportId, lines };
    };

    const filtered = await exportAndCheck({ tenant_id: 'audit-filter', path: 'filt/*' }, { tenant_id: 'audit-filter', path: 'filt/*' });
    expect(filtered.lines.map((line) => [line.event.type, line.event.path, line.event.outcome])).toEqual([
      ['secret.write', 'filt/a', 'attempted'],
      ['secret.write', 'filt/a', 'success'],
      ['secret.write', 'filt/b', 'attempted'],
      ['secret.write', 'filt/b', 'success'],
      ['secret.read', 'filt/a', 'success'],
      ['secret.read', 'filt/missing', 'failure'],
      ['secret.versions', 'filt/a', 'success'],
    ]);
    const everything = await exportAndCheck({}, {});
    expect(everything.lines.length).toBeGreaterThan(filtered.lines.length);
    expect(everything.lines.some((line) => line.proof.length >= 2)).toBe(true);
    // Each line names its block as the chain stores it.
    const stored = await dynamodb.send(
      new QueryCommand({ TableName: AUDIT_TABLE.id, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': { S: 'BLOCK' } } }),
    );
    const blocks = new Map(
      (stored.Items ?? []).map((item) => [Number(item.seq!.N), { seq: Number(item.seq!.N), hash: item.hash!.S, merkle_root: item.merkleRoot!.S }]),
    );
    for (const line of everything.lines) expect(line.block).toEqual(blocks.get(line.block.seq));
    // Without "to" the export runs to the sealed head; a retry of that same body after later seals is still the same export.
    const open = { from: startedAt, tenant_id: 'audit-filter' };
    const first = await vault.request('POST', '/v1/audit/export', { body: open });
    expect([200, 202], first.text).toContain(first.status);
    expect(first.body.request.to >= to).toBe(true);
    await sealedPast(first.body.request.to);
    const retried = await vault.request('POST', '/v1/audit/export', { body: open });
    expect(retried.body).toMatchObject({ export_id: first.body.export_id, request: { to: first.body.request.to } });
    // One job per distinct request: the repeats exported nothing again.
    for (const { exportId } of [filtered, everything, { exportId: first.body.export_id as string }]) {
      const done = (await events({ type: 'audit.exported' })).filter((event) => event.details?.export_id === exportId);
      expect(done).toHaveLength(1);
    }
  });

  it('forwards every record to rsyslog as RFC 5424, without secret values or tokens', async () => {
    const want = (await events()).filter((event) => event.requestId === 'it-audit-put-1' || event.requestId === 'it-audit-403');
    expect(want).toHaveLength(4);
    const received = () =>
      relay
        .messages()
        .map((line) => parseRfc5424(line))
        .filter((message) => want.some((event) => event.eventId === message.structuredData[SD_ID]?.eventId));
    await waitFor(async () => received().length >= want.length, 10_000, 'the records at rsyslog');
    const messages = received();
    expect(messages.map((message) => message.structuredData[SD_ID]!.eventId)).toEqual(want.map((event) => event.eventId));
    for (const [index, message] of messages.entries()) {
      const event = want[index]!;
      expect(message).toMatchObject({ version: 1, appName: 'scaivault', msgId: event.type, facility: 22 });
      expect(message.structuredData[SD_ID]).toMatchObject({
        type: event.type,
        outcome: event.outcome,
        requestId: event.requestId,
        tenant: event.tenantId,
        path: event.path,
      });
      expect(Date.parse(message.timestamp)).toBe(Date.parse(event.time));
    }
    const success = messages.find((message) => message.structuredData[SD_ID]!.outcome === 'success')!;
    expect(success.structuredData[SD_ID]!['hmac.value']).toBe(want.find((e) => e.outcome === 'success')!.hmac!.value);
    expect(success.severity).toBe(6);
    expect(messages.find((message) => message.structuredData[SD_ID]!.type === 'policy_violation')!.severity).toBe(4);
    const everything = relay.messages().join('\n');
    expect(relay.messages().length).toBeGreaterThan(10);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    for (const secret of secrets) expect(vault.output).not.toContain(secret);
  });

  it('names the block and event altered or deleted after sealing, in verify and in the divergence gauge', async () => {
    const [target] = (await events({ type: 'secret.write', path: 'filt/b', outcome: 'success' })) as [AuditEvent];
    const [victim] = (await events({ type: 'secret.read', path: 'filt/missing' })) as [AuditEvent];
    await sealedPast(victim.time > target.time ? victim.time : target.time);
    // The scheduler keeps sealing (the verify calls are audited too): a pass may end before a block sealed meanwhile.
    let clean = await verify();
    await waitFor(async () => (clean = await verify()).complete, 10_000, 'a verify pass that reaches the head');
    expect(clean).toMatchObject({ ok: true, complete: true, next_block: null, first_divergence: null });
    expect(clean.checked_events).toBeGreaterThan(10);
    // A long chain is verified in pages.
    const page = await vault.request('GET', '/v1/audit/verify?from_block=0&max_blocks=1');
    expect(page.body).toMatchObject({ ok: true, complete: false, from_block: 0, next_block: 1, checked_blocks: 1 });
    expect(sumOf(await metrics(), 'scaivault_audit_chain_divergence')).toBe(0);
    expect(sumOf(await metrics(), 'scaivault_audit_last_seal_timestamp_seconds')).toBeGreaterThan(Date.parse(startedAt) / 1000);

    // An insider with table access rewrites one attribute of one sealed record.
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: AUDIT_TABLE.id,
        Key: eventKey(target),
        UpdateExpression: 'SET outcome = :o',
        ExpressionAttributeValues: { ':o': { S: 'failure' } },
      }),
    );
    const targetBlock = await blockHolding(target);
    const altered = await verify();
    expect(altered.ok).toBe(false);
    expect(altered.first_divergence).toEqual({
      block: targetBlock,
      event_id: target.eventId,
      event_key: `${target.time}#${target.eventId}`,
      reason: 'event altered after sealing',
    });
    expect(altered.checked_blocks).toBe(targetBlock);
    await waitFor(async () => sumOf(await metrics(), 'scaivault_audit_chain_divergence') === 1, 10_000, 'the divergence gauge at 1');
    await waitFor(
      async () => (await events({ type: 'audit.divergence' })).some((e) => e.details?.event_id === target.eventId && e.details?.block === targetBlock),
      10_000,
      'the scheduler to record the divergence',
    );
    expect(vault.logLines().some((line) => line.message === 'audit chain divergence' && line.event_id === target.eventId)).toBe(true);

    // Put back, the chain verifies again and the gauge clears after the next clean full pass.
    await dynamodb.send(
      new UpdateItemCommand({
        TableName: AUDIT_TABLE.id,
        Key: eventKey(target),
        UpdateExpression: 'SET outcome = :o',
        ExpressionAttributeValues: { ':o': { S: 'success' } },
      }),
    );
    expect((await verify()).ok).toBe(true);
    await waitFor(async () => sumOf(await metrics(), 'scaivault_audit_chain_divergence') === 0, 10_000, 'the divergence gauge back at 0');

    const original = await dynamodb.send(new GetItemCommand({ TableName: AUDIT_TABLE.id, Key: eventKey(victim), ConsistentRead: true }));
    expect(original.Item).toBeDefined();
    await dynamodb.send(new DeleteItemCommand({ TableName: AUDIT_TABLE.id, Key: eventKey(victim) }));
    const missing = await verify();
    expect(missing.ok).toBe(false);
    expect(missing.first_divergence).toEqual({
      block: await blockHolding(victim),
      event_id: victim.eventId,
      event_key: `${victim.time}#${victim.eventId}`,
      reason: 'sealed event missing from storage',
    });
    await waitFor(async () => sumOf(await metrics(), 'scaivault_audit_chain_divergence') === 1, 10_000, 'the divergence gauge at 1 after a deletion');
    await dynamodb.send(new PutItemCommand({ TableName: AUDIT_TABLE.id, Item: original.Item! }));
    expect((await verify()).ok).toBe(true);
  });

  it('refuses requests with 503 and changes nothing while the audit table is unavailable', async () => {
    expect((await vault.request('PUT', '/v1/secrets/outage/key', { body: { value: 'before-outage' } })).status).toBe(201);
    const failuresBefore = sumOf(await metrics(), 'scaivault_audit_write_failures_total');

    await dynamodb.send(new DeleteTableCommand({ TableName: AUDIT_TABLE.id }));
    await waitFor(
      () =>
        dynamodb.send(new DescribeTableCommand({ TableName: AUDIT_TABLE.id })).then(
          () => false,
          (error: Error) => error.name === 'ResourceNotFoundException',
        ),
      5_000,
      'the audit table to go',
    );

    const write = await vault.request('PUT', '/v1/secrets/outage/key', { body: { value: 'during-outage' } });
    expect(write.status, write.text).toBe(503);
    expect(write.headers.get('content-type')).toBe('application/problem+json');
    expect(write.body).toMatchObject({ status: 503, request_id: expect.any(String) });
    expect(write.text).not.toMatch(/127\.0\.0\.1|ResourceNotFound|scaivault-audit|at .*\.ts/);
    expect((await vault.request('PUT', '/v1/secrets/outage/new', { body: { value: 'never-stored' } })).status).toBe(503);
    expect((await vault.request('DELETE', '/v1/secrets/outage/key')).status).toBe(503);
    // A read cannot be recorded either, so it is refused too.
    expect((await vault.request('GET', '/v1/secrets/outage/key')).status).toBe(503);

    const ready = await vault.request('GET', '/v1/health/ready', { token: null });
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'not_ready',
      checks: { audit_sink: { status: 'down' }, dynamodb: { status: 'up' }, audit_bucket: { status: 'up' } },
    });
    await waitFor(async () => sumOf(await metrics(), 'scaivault_audit_write_failures_total') >= failuresBefore + 4, 10_000, 'the write failures counted');

    await ensureTable(dynamodb, AUDIT_TABLE);
    await waitFor(async () => (await vault.request('GET', '/v1/health/ready', { token: null })).status === 200, 10_000, 'readiness');
    const read = await vault.request('GET', '/v1/secrets/outage/key');
    expect(read.status, read.text).toBe(200);
    expect(read.body).toMatchObject({ version: 1, value: 'before-outage' });
    expect((await vault.request('GET', '/v1/secrets/outage/key/versions')).body.versions).toHaveLength(1);
    expect((await vault.request('GET', '/v1/secrets/outage/new')).status).toBe(404);
  });
});

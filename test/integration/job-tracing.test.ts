import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type OtlpReceiver, SPAN_KIND, STATUS_CODE, type ReceivedSpan } from './support/otlp-receiver.js';
import { waitFor } from './support/processes.js';
import type { VaultProcess } from './support/vault.js';
import { startTracedVault, stopTracedVault } from './support/traced-vault.js';

const INITIAL_VALUE = 'j0b-trace-initial-s3cret';
const SCHEDULER_STEPS = [
  'dependency check',
  'jobs due',
  'leases due',
  'acme orders',
  'key rotation',
  'pki maintenance',
  'token expiry',
  'audit seal',
  'audit detect',
  'audit verify',
  'metrics publish',
  'metrics flush',
];

/** The job span of a trace, once it has arrived. */
const jobSpanOf = async (receiver: OtlpReceiver, traceId: string, name: string): Promise<ReceivedSpan> => {
  let job: ReceivedSpan | undefined;
  await waitFor(
    async () => {
      job = receiver.trace(traceId).find((span) => span.name === name);
      return job !== undefined;
    },
    20_000,
    `the ${name} span`,
  );
  return job!;
};

const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((span) => span.parentSpanId === parent.spanId);

describe('every job is a trace, on the embedded stack', () => {
  let receiver: OtlpReceiver;
  let vault: VaultProcess;

  beforeAll(async () => {
    ({ receiver, vault } = await startTracedVault({
      SCAIVAULT_TRACES_FLUSH: 'invocation',
      SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '1',
      SCAIVAULT_AUDIT_SEAL_GRACE_SECONDS: '1',
    }));
  });
  afterAll(() => stopTracedVault(vault, receiver));

  it("continues a rotate request's trace into the rotation worker's job span, with the worker's DynamoDB calls beneath it", async () => {
    const traceId = randomBytes(16).toString('hex');
    const written = await vault.request('PUT', '/v1/secrets/jobtrace/app-password', {
      body: { value: INITIAL_VALUE, type: 'password', rotation: { interval_days: 30, rotator: 'password', options: { length: 24 } } },
    });
    expect(written.status).toBe(201);
    const requested = await vault.request('POST', '/v1/secrets/jobtrace/app-password/rotate', { headers: { 'x-request-id': traceId } });
    expect(requested.status).toBe(202);
    const jobId = String(requested.body.job_id);

    const job = await jobSpanOf(receiver, traceId, 'rotation job');
    const spans = receiver.trace(traceId);
    const request = spans.find((span) => span.name === 'POST /v1/secrets/{path+}/rotate' && span.kind === SPAN_KIND.server);
    expect(request).toBeDefined();
    // The job continues the request: its parent is the request span that sent the message.
    expect(job.parentSpanId).toBe(request!.spanId);
    expect(job.kind).toBe(SPAN_KIND.server);
    expect(job.statusCode).toBe(STATUS_CODE.unset);
    expect(job.attributes).toMatchObject({
      'scaivault.job.type': 'rotation',
      'scaivault.job.id': jobId,
      'scaivault.job.attempt': 1,
      'scaivault.job.result': 'done',
      'messaging.system': 'aws_sqs',
    });
    // The request's SQS send is its child; the worker's reads and writes are the job's.
    expect(childrenOf(spans, request!).map((span) => span.name)).toContain('SQS.SendMessage');
    const calls = childrenOf(spans, job).filter((span) => span.kind === SPAN_KIND.client);
    expect(calls.map((span) => span.name)).toEqual(expect.arrayContaining(['DynamoDB.GetItem']));
    expect(calls.some((span) => span.name === 'DynamoDB.TransactWriteItems' || span.name === 'DynamoDB.PutItem')).toBe(true);

    const rotated = await vault.request('GET', '/v1/secrets/jobtrace/app-password');
    expect(rotated.body.version).toBe(2);
    const everything = receiver.payloads.join('\n');
    for (const secret of [INITIAL_VALUE, String(rotated.body.value), 'jobtrace/app-password']) expect(everything).not.toContain(secret);
  });

  it("continues an audit export request's trace into the export job span", async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    let sealedThrough = '';
    await waitFor(
      async () => {
        sealedThrough = (await vault.request('GET', '/v1/audit/verify')).body.head?.sealed_through ?? '';
        return sealedThrough > from;
      },
      15_000,
      'a sealed block',
    );
    const traceId = randomBytes(16).toString('hex');
    const submitted = await vault.request('POST', '/v1/audit/export', { body: { from, to: sealedThrough }, headers: { 'x-request-id': traceId } });
    expect([200, 202], submitted.text).toContain(submitted.status);
    const job = await jobSpanOf(receiver, traceId, 'audit-export job');
    expect(job.attributes).toMatchObject({ 'scaivault.job.type': 'audit-export', 'scaivault.job.id': submitted.body.export_id, 'scaivault.job.attempt': 1 });
    const calls = childrenOf(receiver.trace(traceId), job).map((span) => span.name);
    expect(calls).toContain('S3.PutObject');
  });

  it('makes each scheduler run one trace: its steps as spans, their SDK calls beneath them', async () => {
    let run: ReceivedSpan | undefined;
    await waitFor(
      async () => {
        run = receiver.spans.find((span) => span.name === 'scheduler run' && childrenOf(receiver.trace(span.traceId), span).length >= SCHEDULER_STEPS.length);
        return run !== undefined;
      },
      20_000,
      'a scheduler run span',
    );
    const spans = receiver.trace(run!.traceId);
    expect(run!.kind).toBe(SPAN_KIND.server);
    expect(run!.parentSpanId).toBeUndefined();
    const steps = childrenOf(spans, run!);
    expect(steps.map((span) => span.name).sort()).toEqual([...SCHEDULER_STEPS].sort());
    const step = (name: string) => steps.find((span) => span.name === name)!;
    for (const name of ['dependency check', 'jobs due', 'token expiry', 'audit seal']) {
      const calls = childrenOf(spans, step(name)).filter((span) => span.kind === SPAN_KIND.client);
      expect(calls.length, `SDK calls under "${name}"`).toBeGreaterThan(0);
      for (const call of calls) expect(call.attributes['rpc.system']).toBe('aws-api');
    }
    expect(step('metrics publish').attributes).toMatchObject({ 'scaivault.publish.configured': false });
    expect(step('audit verify').attributes).toMatchObject({ 'scaivault.audit.chain_ok': true });
  });
});

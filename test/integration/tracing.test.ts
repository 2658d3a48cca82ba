import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpReceiver, SPAN_KIND, STATUS_CODE } from './support/otlp-receiver.js';
import { VaultProcess } from './support/vault.js';
import { startTracedVault, stopTracedVault } from './support/traced-vault.js';

const SECRET_VALUE = 'tr4ce-me-n0t-s3cr3t-value';
const REQUEST_ID = '0af7651916cd43dd8448eb211c80319c';

const newTraceparent = () => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') });

describe('traces over OTLP from the embedded stack', () => {
  let receiver: OtlpReceiver;
  let vault: VaultProcess;

  beforeAll(async () => {
    ({ receiver, vault } = await startTracedVault({
      OTEL_SERVICE_NAME: 'scaivault-test',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
      // Lambda's mode: every invocation's spans are exported before it returns.
      SCAIVAULT_TRACES_FLUSH: 'invocation',
    }));
  });
  afterAll(() => stopTracedVault(vault, receiver));

  it('exports a read as one SERVER span whose trace id is the X-Request-ID, with DynamoDB CLIENT children', async () => {
    const written = await vault.request('PUT', '/v1/secrets/traced/db/password', { body: { value: SECRET_VALUE, type: 'password' } });
    expect(written.status).toBe(201);

    const read = await vault.request('GET', '/v1/secrets/traced/db/password', { headers: { 'x-request-id': REQUEST_ID } });
    expect(read.status).toBe(200);
    expect(read.body.value).toBe(SECRET_VALUE);

    // Spans are exported before the invocation returns, so they are already here.
    const spans = receiver.trace(REQUEST_ID);
    const servers = spans.filter((span) => span.kind === SPAN_KIND.server);
    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    expect(server.name).toBe('GET /v1/secrets/{path+}');
    expect(server.parentSpanId).toBeUndefined();
    expect(server.statusCode).toBe(STATUS_CODE.unset);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/v1/secrets/{path+}',
      'http.response.status_code': 200,
      'scaivault.request_id': REQUEST_ID,
      'scaivault.tenant_id': expect.any(String),
      'scaivault.identity_id': expect.any(String),
      'scaivault.path_category': 'secrets',
    });
    expect(server.resource).toMatchObject({ 'service.name': 'scaivault-test', 'deployment.environment': 'test' });
    expect(read.headers.get('traceparent')).toBe(`00-${REQUEST_ID}-${server.spanId}-01`);
    expect(read.headers.get('x-request-id')).toBe(REQUEST_ID);

    const clients = spans.filter((span) => span.kind === SPAN_KIND.client);
    const gets = clients.filter((span) => span.name === 'DynamoDB.GetItem');
    expect(gets.length).toBeGreaterThanOrEqual(1);
    for (const span of clients) expect(span.parentSpanId).toBe(server.spanId);
    for (const get of gets) {
      expect(get.attributes).toMatchObject({ 'rpc.system': 'aws-api', 'rpc.service': 'DynamoDB', 'rpc.method': 'GetItem' });
      expect(get.attributes['aws.dynamodb.table_names']).toEqual([expect.any(String)]);
      expect(get.resource['service.name']).toBe('scaivault-test');
    }

    // The write was traced too (its own trace), and nothing anywhere carries the value, the token or the raw path.
    expect(receiver.spans.some((span) => span.name === 'PUT /v1/secrets/{path+}' && span.kind === SPAN_KIND.server)).toBe(true);
    expect(receiver.spans.some((span) => span.name === 'DynamoDB.PutItem')).toBe(true);
    const everything = receiver.payloads.join('\n');
    expect(everything).not.toContain(SECRET_VALUE);
    expect(everything).not.toContain(vault.rootToken);
    expect(everything).not.toContain(vault.rootToken.slice(4, 24));
    expect(everything).not.toContain('traced/db/password');
  });

  it('continues an incoming W3C traceparent and echoes its own span as the new parent', async () => {
    const upstream = newTraceparent();
    const response = await vault.request('GET', '/v1/secrets/traced/db/password', {
      headers: { traceparent: `00-${upstream.traceId}-${upstream.spanId}-01`, 'x-request-id': REQUEST_ID },
    });
    expect(response.status).toBe(200);
    const [server, ...others] = receiver.trace(upstream.traceId).filter((span) => span.kind === SPAN_KIND.server);
    expect(others).toHaveLength(0);
    expect(server?.parentSpanId).toBe(upstream.spanId);
    expect(response.headers.get('traceparent')).toBe(`00-${upstream.traceId}-${server!.spanId}-01`);
  });

  it('hashes a non-hex X-Request-ID into the trace id, the same way every time', async () => {
    const requestId = `checkout:run-${randomBytes(4).toString('hex')}`;
    const expected = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 32);
    const first = await vault.request('GET', '/v1/secrets/traced/db/password', { headers: { 'x-request-id': requestId } });
    const second = await vault.request('GET', '/v1/secrets/traced/db/password', { headers: { 'x-request-id': requestId } });
    expect(first.headers.get('traceparent')?.split('-')[1]).toBe(expected);
    expect(second.headers.get('traceparent')?.split('-')[1]).toBe(expected);
    expect(receiver.trace(expected).filter((span) => span.kind === SPAN_KIND.server)).toHaveLength(2);
  });

  it('treats a 404 as no error, and names an unmatched route by its method alone', async () => {
    const missing = await vault.request('GET', '/v1/secrets/traced/never-written', { headers: { 'x-request-id': 'missing-secret-1' } });
    expect(missing.status).toBe(404);
    const traceId = missing.headers.get('traceparent')!.split('-')[1]!;
    const server = receiver.trace(traceId).find((span) => span.kind === SPAN_KIND.server)!;
    expect(server.statusCode).toBe(STATUS_CODE.unset);
    expect(server.attributes['http.response.status_code']).toBe(404);

    const unknown = await vault.request('GET', '/v1/no-such-endpoint/secret-looking-path');
    expect(unknown.status).toBe(404);
    const unmatched = receiver.trace(unknown.headers.get('traceparent')!.split('-')[1]!).find((span) => span.kind === SPAN_KIND.server)!;
    expect(unmatched.name).toBe('GET');
    expect(JSON.stringify(unmatched.attributes)).not.toContain('secret-looking-path');
  });
});

describe('parent-based sampling at ratio 0', () => {
  let receiver: OtlpReceiver;
  let vault: VaultProcess;

  beforeAll(async () => {
    ({ receiver, vault } = await startTracedVault({ OTEL_TRACES_SAMPLER_ARG: '0', SCAIVAULT_TRACES_FLUSH: 'invocation' }));
  });
  afterAll(() => stopTracedVault(vault, receiver));

  it('exports nothing for new traces but still honours an upstream sampled decision', async () => {
    const health = await vault.request('GET', '/v1/health', { token: null });
    const read = await vault.request('GET', '/v1/secrets/none', { headers: { 'x-request-id': REQUEST_ID } });
    expect(health.status).toBe(200);
    expect(read.status).toBe(404);
    expect(read.headers.get('traceparent')).toMatch(new RegExp(`^00-${REQUEST_ID}-[0-9a-f]{16}-00$`));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(receiver.spans).toHaveLength(0);

    const upstream = newTraceparent();
    await vault.request('GET', '/v1/health', { token: null, headers: { traceparent: `00-${upstream.traceId}-${upstream.spanId}-01` } });
    expect(receiver.trace(upstream.traceId).map((span) => [span.name, span.parentSpanId])).toEqual([['GET /v1/health', upstream.spanId]]);
    expect(receiver.spans[0]?.resource['service.name']).toBe('scaivault');
  });
});

describe('batched export in a long-lived process', () => {
  let receiver: OtlpReceiver;
  let vault: VaultProcess | undefined;

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    vault = await VaultProcess.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SCAIVAULT_TRACES_FLUSH: 'batch' } });
  });

  afterAll(async () => {
    await vault?.stop();
    await receiver?.close();
  });

  it('holds spans for the batch, and sends what is still held when the process stops', async () => {
    const read = await vault!.request('GET', '/v1/secrets/none', { headers: { 'x-request-id': REQUEST_ID } });
    expect(read.status).toBe(404);
    // The batch waits up to 5 s: nothing has left yet.
    expect(receiver.trace(REQUEST_ID)).toHaveLength(0);

    expect(await vault!.stop()).toBe(0);
    vault = undefined;
    const server = receiver.trace(REQUEST_ID).find((span) => span.kind === SPAN_KIND.server);
    expect(server?.name).toBe('GET /v1/secrets/{path+}');
  });
});

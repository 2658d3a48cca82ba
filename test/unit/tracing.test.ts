import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import middy from '@middy/core';
import { context as otelContext, ROOT_CONTEXT, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tracedFetch } from '../../functions/adapters/traced-fetch.js';
import { ConfigError } from '../../functions/config.js';
import { newRequestState, type VaultContext } from '../../functions/http/api-app.js';
import { httpTracing, withRequestSpan } from '../../functions/observability/tracing-middleware.js';
import { loadTracingConfig, traceAwsClient, traceIdFromRequestId, Tracing } from '../../functions/observability/tracing.js';
import { UNIT_TRACING_CONFIG } from './support/tracing-config.js';

const CONFIG = UNIT_TRACING_CONFIG;

const sha256TraceId = (value: string): string => createHash('sha256').update(value).digest('hex').slice(0, 32);

describe('traceIdFromRequestId', () => {
  it('uses 32 hex digits as the trace id, lower-cased', () => {
    expect(traceIdFromRequestId('0af7651916cd43dd8448eb211c80319c')).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(traceIdFromRequestId('0AF7651916CD43DD8448EB211C80319C')).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('hashes anything else to 128 bits of SHA-256, deterministically', () => {
    expect(traceIdFromRequestId('checkout-42')).toBe(sha256TraceId('checkout-42'));
    expect(traceIdFromRequestId('checkout-42')).toBe(traceIdFromRequestId('checkout-42'));
    expect(traceIdFromRequestId('checkout-43')).not.toBe(traceIdFromRequestId('checkout-42'));
    // A UUID is not 32 hex digits (it has dashes), and 31 or 33 digits are not either.
    const uuid = '0af76519-16cd-43dd-8448-eb211c80319c';
    expect(traceIdFromRequestId(uuid)).toBe(sha256TraceId(uuid));
    expect(traceIdFromRequestId('0af7651916cd43dd8448eb211c80319')).toBe(sha256TraceId('0af7651916cd43dd8448eb211c80319'));
    expect(traceIdFromRequestId('0af7651916cd43dd8448eb211c80319cc')).toMatch(/^[0-9a-f]{32}$/);
  });

  it('never yields the invalid all-zero trace id, and nothing for no id', () => {
    const zeros = '0'.repeat(32);
    expect(traceIdFromRequestId(zeros)).toBe(sha256TraceId(zeros));
    expect(traceIdFromRequestId(undefined)).toBeUndefined();
    expect(traceIdFromRequestId('')).toBeUndefined();
  });
});

describe('loadTracingConfig', () => {
  it('is off without an endpoint, with the documented defaults', () => {
    expect(loadTracingConfig({})).toEqual({
      tracesUrl: undefined,
      protocol: 'http/protobuf',
      serviceName: 'scaivault',
      resourceAttributes: {},
      sampleRatio: 1,
      flushEachInvocation: false,
    });
    // In Lambda every invocation exports before it returns; elsewhere spans go out in batches.
    expect(loadTracingConfig({ AWS_LAMBDA_FUNCTION_NAME: 'scaivault-api' }).flushEachInvocation).toBe(true);
    expect(loadTracingConfig({ SCAIVAULT_TRACES_FLUSH: 'invocation' }).flushEachInvocation).toBe(true);
    expect(() => loadTracingConfig({ SCAIVAULT_TRACES_FLUSH: 'sometimes' })).toThrow(ConfigError);
  });

  it('appends /v1/traces to the base endpoint; the traces endpoint is used as given', () => {
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracesUrl).toBe('http://collector:4318/v1/traces');
    expect(
      loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://other:9999/custom' }).tracesUrl,
    ).toBe('http://other:9999/custom');
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracesUrl).toBeUndefined();
  });

  it('speaks the OTLP protocol the spec variables name, the traces one winning, http/protobuf by default', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(loadTracingConfig(endpoint).protocol).toBe('http/protobuf');
    expect(loadTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(loadTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' }).protocol).toBe('grpc');
    expect(() => loadTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http' })).toThrow(ConfigError);
    expect(() => loadTracingConfig({ ...endpoint, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc/json' })).toThrow(ConfigError);
  });

  it('gives gRPC the endpoint itself: it names a service, not a /v1/traces path', () => {
    const grpc = { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
    expect(loadTracingConfig({ ...grpc, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4317' }).tracesUrl).toBe('http://otel-collector:4317');
    expect(
      loadTracingConfig({ ...grpc, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector:4317', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces:4317' })
        .tracesUrl,
    ).toBe('https://traces:4317');
    expect(loadTracingConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracesUrl).toBe(
      'http://c:4318/v1/traces',
    );
  });

  it('reads service name and percent-encoded resource attributes; OTEL_SERVICE_NAME wins', () => {
    const config = loadTracingConfig({ OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod, team=a%2Cb,service.name=from-attrs' });
    expect(config.resourceAttributes).toEqual({ 'deployment.environment': 'prod', team: 'a,b', 'service.name': 'from-attrs' });
    expect(config.serviceName).toBe('from-attrs');
    expect(loadTracingConfig({ OTEL_SERVICE_NAME: 'api', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attrs' }).serviceName).toBe('api');
  });

  it('rejects malformed values instead of guessing', () => {
    expect(() => loadTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '1.5' })).toThrow(ConfigError);
    expect(() => loadTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '-0.1' })).toThrow(ConfigError);
    expect(() => loadTracingConfig({ OTEL_RESOURCE_ATTRIBUTES: 'novalue' })).toThrow(ConfigError);
    expect(loadTracingConfig({ OTEL_TRACES_SAMPLER_ARG: '0.25' }).sampleRatio).toBe(0.25);
  });
});

// ---- request spans through a middy handler shaped like the api's ----

const event = (headers: Record<string, string>, path = '/v1/secrets/app/db/password'): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: { http: { method: 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' } },
    isBase64Encoded: false,
  }) as unknown as APIGatewayProxyEventV2;

const lambdaContext = (): VaultContext => ({ awsRequestId: 'unit', getRemainingTimeInMillis: () => 10_000 }) as unknown as VaultContext;

/** A DynamoDB endpoint that answers every call with one canned response. */
const stubDynamoDb = async (status: number, body: unknown): Promise<{ server: Server; client: DynamoDBClient }> => {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'REQ123' });
      response.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'unit', secretAccessKey: 'unit' },
    maxAttempts: 1,
  });
  return { server, client };
};

const SECRET_VALUE = 'hunter2-top-secret';
const TOKEN = 'svt_unit_token_should_never_appear';

const attributesText = (spans: readonly ReadableSpan[]): string => JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes })));

describe('httpTracing middleware', () => {
  const exporter = new InMemorySpanExporter();
  const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
  let dynamo: { server: Server; client: DynamoDBClient };

  beforeAll(async () => {
    dynamo = await stubDynamoDb(200, { Item: { pk: { S: 'tenant-a#app/db/password' }, value: { S: SECRET_VALUE } } });
    traceAwsClient(dynamo.client, tracing);
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    dynamo.client.destroy();
    await new Promise((resolve) => dynamo.server.close(resolve));
    await tracing.shutdown();
  });

  /** An api-like handler: RequestState filled by "dispatch", one DynamoDB call, a chosen status. */
  const apiHandler = (status: number, options: { throws?: boolean; tracer?: Tracing; xrayHeader?: string } = {}) =>
    middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>()
      .use(httpTracing(options.tracer ?? tracing, () => options.xrayHeader))
      .before((request) => {
        request.context.vault ??= newRequestState(request.event);
      })
      .handler(
        withRequestSpan(async (_event, context) => {
          const state = context.vault!;
          state.route = '/v1/secrets/{path+}';
          state.category = 'secrets';
          state.tenantId = 'tenant-a';
          state.identityId = 'sa:reporting';
          await dynamo.client.send(new GetItemCommand({ TableName: 'scaivault-state', Key: { pk: { S: 'tenant-a#app/db/password' } } }));
          if (options.throws) throw new Error(`boom ${SECRET_VALUE}`);
          return { statusCode: status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: SECRET_VALUE }) };
        }),
      );

  it('makes one SERVER span named by route pattern, with the DynamoDB call as its CLIENT child', async () => {
    const response = await apiHandler(200)(event({ 'x-request-id': '0af7651916cd43dd8448eb211c80319c', authorization: `Bearer ${TOKEN}` }), lambdaContext());
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.kind === SpanKind.SERVER)!;
    const client = spans.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(spans).toHaveLength(2);
    expect(server.name).toBe('GET /v1/secrets/{path+}');
    expect(server.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(server.parentSpanContext).toBeUndefined();
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/v1/secrets/{path+}',
      'http.response.status_code': 200,
      'scaivault.request_id': '0af7651916cd43dd8448eb211c80319c',
      'scaivault.tenant_id': 'tenant-a',
      'scaivault.identity_id': 'sa:reporting',
      'scaivault.path_category': 'secrets',
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(client.name).toBe('DynamoDB.GetItem');
    expect(client.spanContext().traceId).toBe(server.spanContext().traceId);
    expect(client.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(client.attributes).toMatchObject({
      'rpc.system': 'aws-api',
      'rpc.service': 'DynamoDB',
      'rpc.method': 'GetItem',
      'aws.dynamodb.table_names': ['scaivault-state'],
      'aws.request_id': 'REQ123',
    });
    expect(response.headers?.traceparent).toBe(`00-${server.spanContext().traceId}-${server.spanContext().spanId}-01`);
    const text = attributesText(spans);
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('app/db/password');
  });

  it('continues an incoming traceparent rather than the X-Request-ID', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const response = await apiHandler(200)(event({ traceparent, 'x-request-id': 'ignored-for-trace' }), lambdaContext());
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(server.parentSpanContext).toMatchObject({ spanId: '00f067aa0ba902b7', isRemote: true });
    expect(response.headers?.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${server.spanContext().spanId}-01`);
  });

  it("joins the Lambda service's X-Ray trace when the client names none, under Lambda's function segment", async () => {
    const xrayHeader = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1';
    const response = await apiHandler(200, { xrayHeader })(event({}), lambdaContext());
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.spanContext().traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(server.parentSpanContext).toMatchObject({ spanId: '53995c3f42cd8ad8', isRemote: true });
    expect(response.headers?.traceparent).toBe(`00-5759e988bd862e3fe1be46a994272793-${server.spanContext().spanId}-01`);
  });

  it("lets the client's traceparent or X-Request-ID win over Lambda's trace, and honours X-Ray's sampling decision", async () => {
    const xrayHeader = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    await apiHandler(200, { xrayHeader })(event({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), lambdaContext());
    await apiHandler(200, { xrayHeader })(event({ 'x-request-id': '0af7651916cd43dd8448eb211c80319c' }), lambdaContext());
    const traceIds = exporter
      .getFinishedSpans()
      .filter((s) => s.kind === SpanKind.SERVER)
      .map((s) => s.spanContext().traceId);
    expect(traceIds).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736', '0af7651916cd43dd8448eb211c80319c']);

    exporter.reset();
    const unsampled = await apiHandler(200, { xrayHeader: xrayHeader.replace('Sampled=1', 'Sampled=0') })(event({}), lambdaContext());
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    expect(unsampled.headers?.traceparent).toMatch(/^00-5759e988bd862e3fe1be46a994272793-[0-9a-f]{16}-00$/);
  });

  it('starts traces of its own with X-Ray-format ids: the epoch second in the first 4 bytes', async () => {
    await apiHandler(200)(event({}), lambdaContext());
    await apiHandler(200)(event({}), lambdaContext());
    const [first, second] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    for (const span of [first!, second!]) {
      const epoch = Number.parseInt(span.spanContext().traceId.slice(0, 8), 16);
      // The awsxray exporter's window, when its age check is on: 28 days back, 5 minutes ahead.
      expect(Math.abs(epoch - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(first!.spanContext().traceId.slice(8)).not.toBe(second!.spanContext().traceId.slice(8));
  });

  it('reads traceparent and X-Request-ID whatever the case of their names', async () => {
    await apiHandler(200)(event({ Traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), lambdaContext());
    await apiHandler(200)(event({ 'X-Request-ID': 'checkout:run-8' }), lambdaContext());
    const [continued, hashed] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(continued!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(hashed!.spanContext().traceId).toBe(sha256TraceId('checkout:run-8'));
  });

  it('hashes a non-hex X-Request-ID into the trace id', async () => {
    await apiHandler(200)(event({ 'x-request-id': 'checkout:run-7' }), lambdaContext());
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.spanContext().traceId).toBe(sha256TraceId('checkout:run-7'));
  });

  it('marks 5xx answers as errors but not 4xx ones', async () => {
    await apiHandler(503)(event({}), lambdaContext());
    await apiHandler(404)(event({}), lambdaContext());
    const [failed, missing] = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.attributes['http.response.status_code']).toBe(503);
    expect(missing!.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('ends the span as a failed 500 when the handler throws, without the error message', async () => {
    await expect(apiHandler(200, { throws: true })(event({}), lambdaContext())).rejects.toThrow('boom');
    const server = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.SERVER)!;
    expect(server.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 500, 'error.type': 'Error' });
    expect(attributesText([server]) + JSON.stringify(server.status) + JSON.stringify(server.events)).not.toContain(SECRET_VALUE);
  });

  it('samples parent-based: ratio 0 exports nothing for new traces but honours a sampled parent', async () => {
    const quiet = new InMemorySpanExporter();
    const rare = new Tracing({ ...CONFIG, sampleRatio: 0 }, new SimpleSpanProcessor(quiet));
    const unsampled = await apiHandler(200, { tracer: rare })(event({ 'x-request-id': '0af7651916cd43dd8448eb211c80319c' }), lambdaContext());
    expect(quiet.getFinishedSpans()).toHaveLength(0);
    // The decision still travels: callers see the trace id and the not-sampled flag.
    expect(unsampled.headers?.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);

    await apiHandler(200, { tracer: rare })(event({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), lambdaContext());
    expect(quiet.getFinishedSpans().map((s) => s.spanContext().traceId)).toEqual(['4bf92f3577b34da6a3ce929d0e0e4736']);
    await rare.shutdown();
  });

  it('does nothing at all when tracing is disabled', async () => {
    const off = new Tracing(CONFIG, undefined);
    expect(off.enabled).toBe(false);
    const response = await apiHandler(200, { tracer: off })(event({ 'x-request-id': '0af7651916cd43dd8448eb211c80319c' }), lambdaContext());
    expect(response.headers?.traceparent).toBeUndefined();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('traceAwsClient', () => {
  it('marks a failed call with the error class only, never its message', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
    const failing = await stubDynamoDb(400, { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: `no table for ${SECRET_VALUE}` });
    traceAwsClient(failing.client, tracing);
    const { span, context } = tracing.startServerSpan('GET /x', ROOT_CONTEXT, {});
    await expect(
      otelContext.with(context, () => failing.client.send(new GetItemCommand({ TableName: 'scaivault-state', Key: { pk: { S: 'k' } } }))),
    ).rejects.toThrow();
    span.end();
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(client.attributes).toMatchObject({
      'error.type': 'ResourceNotFoundException',
      'scaivault.error.class': 'io_permanent',
      'http.response.status_code': 400,
    });
    expect(client.status.message).toBe('io_permanent');
    expect(JSON.stringify({ a: client.attributes, s: client.status, e: client.events })).not.toContain(SECRET_VALUE);

    // Outside any traced request (start-up work) the client makes no span at all.
    exporter.reset();
    await expect(failing.client.send(new GetItemCommand({ TableName: 'scaivault-state', Key: { pk: { S: 'k' } } }))).rejects.toThrow();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
    failing.client.destroy();
    await new Promise((resolve) => failing.server.close(resolve));
    await tracing.shutdown();
  });
});

describe('tracedFetch', () => {
  let server: Server;
  let url: string;
  const seen: IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      response.writeHead(request.url?.startsWith('/fail') ? 502 : 204);
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  afterEach(() => (seen.length = 0));

  it('sends the CLIENT span as traceparent, keeps caller headers, and records no URL path or query', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
    const parent = tracing.startServerSpan('POST /hook', ROOT_CONTEXT, {}, '0af7651916cd43dd8448eb211c80319c');
    const response = await otelContext.with(parent.context, () =>
      tracedFetch(`${url}/hooks/T000/B000/XXXXSECRET?token=abc`, { method: 'post', headers: { 'x-custom': 'kept' }, body: '{}' }, tracing),
    );
    parent.span.end();
    expect(response.status).toBe(204);
    const client = exporter.getFinishedSpans().find((s) => s.kind === SpanKind.CLIENT)!;
    expect(seen[0]?.traceparent).toBe(`00-0af7651916cd43dd8448eb211c80319c-${client.spanContext().spanId}-01`);
    expect(seen[0]?.['x-custom']).toBe('kept');
    expect(client.parentSpanContext?.spanId).toBe(parent.span.spanContext().spanId);
    expect(client.name).toBe('POST');
    expect(client.attributes).toMatchObject({ 'http.request.method': 'POST', 'server.address': '127.0.0.1', 'http.response.status_code': 204 });
    expect(JSON.stringify(client.attributes)).not.toMatch(/XXXXSECRET|token=abc|hooks/);
    await tracing.shutdown();
  });

  it('carries W3C baggage from an incoming request to the calls it makes, beside its traceparent', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
    const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Error, VaultContext>()
      .use(httpTracing(tracing))
      .handler(
        withRequestSpan(async () => {
          await tracedFetch(`${url}/downstream`, {}, tracing);
          return { statusCode: 204 };
        }),
      );
    // Baggage alone (no traceparent) is propagated too, under a trace of our own.
    await handler(event({ baggage: 'tenant.tier=gold,synthetic=true;probe' }), lambdaContext());
    await handler(event({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', baggage: 'release=r42' }), lambdaContext());
    const clients = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(seen.map((headers) => headers.baggage)).toEqual(['tenant.tier=gold,synthetic=true;probe', 'release=r42']);
    expect(seen[1]?.traceparent).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${clients[1]!.spanContext().spanId}-01`);
    await tracing.shutdown();
  });

  it('marks 5xx answers and network failures as errors', async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
    await tracedFetch(`${url}/fail`, {}, tracing);
    await expect(tracedFetch('http://127.0.0.1:1/', {}, tracing)).rejects.toThrow();
    const [bad, unreachable] = exporter.getFinishedSpans();
    expect(bad!.status.code).toBe(SpanStatusCode.ERROR);
    expect(bad!.attributes['error.type']).toBe('502');
    expect(unreachable!.status.code).toBe(SpanStatusCode.ERROR);
    // A new trace still gets a well-formed traceparent.
    expect(seen[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    await tracing.shutdown();
  });

  it('is plain fetch when tracing is off', async () => {
    await tracedFetch(url, {}, new Tracing(CONFIG, undefined));
    expect(seen[0]?.traceparent).toBeUndefined();
  });
});

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpGrpcReceiver } from './support/otlp-grpc-receiver.js';
import { OtlpReceiver, SPAN_KIND, type OtlpSpanSink } from './support/otlp-receiver.js';
import { VaultProcess } from './support/vault.js';

// The three OTLP transports of the OpenTelemetry spec, each received by a
// stand-in collector that speaks only that one.

interface Transport {
  readonly name: string;
  /** What the vault is told, beside the endpoint. */
  readonly env: Record<string, string>;
  /** How the receiver saw each export arrive. */
  readonly arrivedAs: string;
  readonly receiver: () => Promise<OtlpSpanSink & { url: string; close(): Promise<void> }>;
}

const TRANSPORTS: readonly Transport[] = [
  // Nothing set: the spec's default.
  { name: 'http/protobuf (the default)', env: {}, arrivedAs: 'application/x-protobuf', receiver: () => OtlpReceiver.start() },
  // The traces-specific variable wins over the generic one.
  {
    name: 'http/json',
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' },
    arrivedAs: 'application/json',
    receiver: () => OtlpReceiver.start(),
  },
  { name: 'grpc', env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, arrivedAs: 'grpc', receiver: () => OtlpGrpcReceiver.start() },
];

const requestId = () => randomBytes(16).toString('hex');

describe.each(TRANSPORTS)('OTLP over $name', (transport) => {
  let receiver: Awaited<ReturnType<Transport['receiver']>>;
  let vault: VaultProcess | undefined;

  beforeAll(async () => {
    receiver = await transport.receiver();
    vault = await VaultProcess.start({
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'scaivault-transport', SCAIVAULT_TRACES_FLUSH: 'invocation', ...transport.env },
    });
  });

  afterAll(async () => {
    await vault?.stop();
    await receiver?.close();
  });

  it("delivers a request's span tree, exported before the response (Lambda's mode)", async () => {
    const id = requestId();
    const read = await vault!.request('GET', '/v1/secrets/transport/missing', { headers: { 'x-request-id': id } });
    expect(read.status).toBe(404);
    const spans = receiver.trace(id);
    const server = spans.find((span) => span.kind === SPAN_KIND.server);
    expect(server).toMatchObject({ name: 'GET /v1/secrets/{path+}', parentSpanId: undefined });
    expect(server?.attributes).toMatchObject({ 'http.response.status_code': 404, 'scaivault.request_id': id });
    expect(server?.resource['service.name']).toBe('scaivault-transport');
    const gets = spans.filter((span) => span.name === 'DynamoDB.GetItem');
    expect(gets.length).toBeGreaterThan(0);
    for (const get of gets) expect(get.parentSpanId).toBe(server?.spanId);
    expect(new Set(receiver.transports)).toEqual(new Set([transport.arrivedAs]));
  });

  it('sends the spans still in its batch when a long-lived process stops', async () => {
    await vault!.stop();
    vault = await VaultProcess.start({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, SCAIVAULT_TRACES_FLUSH: 'batch', ...transport.env } });
    const id = requestId();
    expect((await vault.request('GET', '/v1/health', { token: null, headers: { 'x-request-id': id } })).status).toBe(200);
    expect(receiver.trace(id)).toHaveLength(0);
    expect(await vault.stop()).toBe(0);
    vault = undefined;
    expect(receiver.trace(id).map((span) => span.name)).toEqual(['GET /v1/health']);
  });
});

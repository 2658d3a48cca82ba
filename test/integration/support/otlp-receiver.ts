import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { decodeTraceRequest } from './otlp-proto.js';

// A stand-in OpenTelemetry collector: accepts OTLP/HTTP, JSON or protobuf, on
// POST /v1/traces and keeps every span, flattened, with its resource's attributes.

export type AttributeValue = string | number | boolean | AttributeValue[] | null;

/** OTLP JSON span kinds. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3 } as const;
/** OTLP JSON status codes. */
export const STATUS_CODE = { unset: 0, ok: 1, error: 2 } as const;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly statusCode: number;
  readonly attributes: Record<string, AttributeValue>;
  readonly resource: Record<string, AttributeValue>;
  readonly scope: string | undefined;
}

interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpAnyValue[] };
}
interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  status?: { code?: number };
  attributes?: OtlpKeyValue[];
}
interface OtlpTraceRequest {
  resourceSpans?: { resource?: { attributes?: OtlpKeyValue[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[];
}

const valueOf = (value: OtlpAnyValue | undefined): AttributeValue => {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return null;
};

const attributesOf = (list: OtlpKeyValue[] | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, valueOf(value)]));

/** What a receiver keeps of every export request, whatever carried it. */
export class OtlpSpanSink {
  readonly spans: ReceivedSpan[] = [];
  /** Request bodies as received (protobuf as latin1 text too), for "this never appears anywhere" checks. */
  readonly payloads: string[] = [];
  /** How each export request arrived: its content type, or `grpc`. */
  readonly transports: string[] = [];

  /** Keeps an export request in its protobuf form. */
  acceptProtobuf(bytes: Buffer, transport: string): void {
    const body = decodeTraceRequest(bytes) as OtlpTraceRequest;
    this.accept(body, `${JSON.stringify(body)}\n${bytes.toString('latin1')}`, transport);
  }

  protected accept(body: OtlpTraceRequest, text: string, transport: string): void {
    this.payloads.push(text);
    this.transports.push(transport);
    for (const resourceSpans of body.resourceSpans ?? []) {
      const resource = attributesOf(resourceSpans.resource?.attributes);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId || undefined,
            name: span.name,
            kind: span.kind ?? 0,
            statusCode: span.status?.code ?? 0,
            attributes: attributesOf(span.attributes),
            resource,
            scope: scopeSpans.scope?.name,
          });
        }
      }
    }
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }
}

const JSON_TYPE = 'application/json';
const PROTOBUF_TYPE = 'application/x-protobuf';

export class OtlpReceiver extends OtlpSpanSink {
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {
    super();
  }

  static async start(): Promise<OtlpReceiver> {
    let receiver: OtlpReceiver | undefined;
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (request.method !== 'POST' || request.url !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim();
        if (type !== JSON_TYPE && type !== PROTOBUF_TYPE) {
          response.writeHead(415).end();
          return;
        }
        const raw = Buffer.concat(chunks);
        const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        if (type === PROTOBUF_TYPE) {
          receiver!.acceptProtobuf(body, type);
          // An empty ExportTraceServiceResponse.
          response.writeHead(200, { 'content-type': PROTOBUF_TYPE }).end();
          return;
        }
        const text = body.toString('utf8');
        receiver!.accept(JSON.parse(text) as OtlpTraceRequest, text, type);
        response.writeHead(200, { 'content-type': JSON_TYPE }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return receiver;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

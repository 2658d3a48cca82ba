import protobuf from 'protobufjs';

// The part of the OTLP trace protocol (opentelemetry-proto, collector/trace/v1
// and trace/v1) the receivers read, with the field numbers of the published
// .proto files. Unknown fields (events, links, timestamps) are skipped on decode.
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message Status { string message = 2; int32 code = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
`;

const requestType = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root.lookupType('otlp.ExportTraceServiceRequest');

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

/**
 * An ExportTraceServiceRequest in protobuf, as the OTLP/JSON mapping spells it
 * (ids as hex strings, 64-bit integers as strings), so one reader serves both.
 */
export const decodeTraceRequest = (bytes: Uint8Array): unknown => {
  const message = requestType.decode(bytes);
  const object = requestType.toObject(message, { longs: String, bytes: String });
  // bytes: String gives base64; OTLP/JSON writes ids in hex.
  return JSON.parse(JSON.stringify(object), (key, value: unknown) =>
    ID_FIELDS.has(key) && typeof value === 'string' ? Buffer.from(value, 'base64').toString('hex') : value,
  );
};

import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { OtlpSpanSink } from './otlp-receiver.js';

// A stand-in OpenTelemetry collector speaking OTLP/gRPC: implements
// opentelemetry.proto.collector.trace.v1.TraceService/Export and keeps the spans.

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

const identity = (bytes: Buffer): Buffer => bytes;

/** Export with the messages left as bytes: the request is decoded by the sink, the reply is empty. */
const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    // An empty ExportTraceServiceResponse is zero bytes.
    responseSerialize: () => Buffer.alloc(0),
    responseDeserialize: identity,
  },
};

export class OtlpGrpcReceiver extends OtlpSpanSink {
  private constructor(
    private readonly server: Server,
    /** `http://127.0.0.1:<port>`: plaintext gRPC, as OTEL_EXPORTER_OTLP_ENDPOINT names it. */
    readonly url: string,
  ) {
    super();
  }

  static async start(): Promise<OtlpGrpcReceiver> {
    const server = new Server();
    let receiver: OtlpGrpcReceiver | undefined;
    const implementation: UntypedServiceImplementation = {
      Export: (call: { request: Buffer }, callback: (error: null, response: Buffer) => void) => {
        receiver!.acceptProtobuf(call.request, 'grpc');
        callback(null, Buffer.alloc(0));
      },
    };
    server.addService(TRACE_SERVICE, implementation);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    receiver = new OtlpGrpcReceiver(server, `http://127.0.0.1:${port}`);
    return receiver;
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }
}

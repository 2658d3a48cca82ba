// The OTLP trace transports the OpenTelemetry spec names, each by the
// OpenTelemetry exporter made for it. Only the chosen one is loaded. The
// Lambda bundles carry the two HTTP transports only: a Lambda sends OTLP/HTTP
// to its collector extension, and gRPC would weigh on every cold start.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** `OTEL_EXPORTER_OTLP_PROTOCOL` values; `http/protobuf` is the spec's default. */
export const OTLP_PROTOCOLS = ['http/protobuf', 'http/json', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

type ExporterModule = { OTLPTraceExporter: new (config: { url: string }) => SpanExporter };

const MODULES: Record<OtlpProtocol, () => Promise<ExporterModule>> = {
  'http/protobuf': () => import('@opentelemetry/exporter-trace-otlp-proto'),
  'http/json': () => import('@opentelemetry/exporter-trace-otlp-http'),
  grpc: () => import('@opentelemetry/exporter-trace-otlp-grpc'),
};

/**
 * Where spans go for `protocol`: over HTTP the signal path `/v1/traces` follows
 * the base endpoint; gRPC names a service, not a path, so its base is the URL.
 * A traces-specific endpoint is always used as given.
 */
export const otlpTracesUrl = (protocol: OtlpProtocol, base: string | undefined, tracesEndpoint: string | undefined): string | undefined => {
  if (tracesEndpoint) return tracesEndpoint;
  if (!base) return undefined;
  return protocol === 'grpc' ? base : `${base.replace(/\/+$/, '')}/v1/traces`;
};

/** A span exporter that loads its transport once, on construction, and waits for it where it must. */
class LazyOtlpExporter implements SpanExporter {
  private readonly exporter: Promise<SpanExporter>;

  constructor(protocol: OtlpProtocol, url: string) {
    this.exporter = MODULES[protocol]().then(
      ({ OTLPTraceExporter }) => new OTLPTraceExporter({ url }),
      (error: unknown) => {
        // The Lambda bundles leave gRPC out (scripts/build.ts): say so instead of failing every export obscurely.
        throw new Error(`the OTLP ${protocol} exporter is not in this build; use http/protobuf or http/json`, { cause: error });
      },
    );
    // An unavailable transport is reported on each export; it must not also be an unhandled rejection.
    this.exporter.catch(() => undefined);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.exporter.then(
      (exporter) => exporter.export(spans, done),
      (error: Error) => done({ code: ExportResultCode.FAILED, error }),
    );
  }

  async forceFlush(): Promise<void> {
    await (await this.exporter).forceFlush?.();
  }

  async shutdown(): Promise<void> {
    await (await this.exporter).shutdown();
  }
}

export const createOtlpTraceExporter = (protocol: OtlpProtocol, url: string): SpanExporter => new LazyOtlpExporter(protocol, url);

// OpenTelemetry traces: OTLP out (OTEL_EXPORTER_OTLP_PROTOCOL: http/protobuf by
// default, http/json or grpc) when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. Without it nothing is registered
// and every hook here returns before doing any work.
//
// Spans carry ids, route patterns, status codes and table names only: never a
// secret value, token, header value, raw secret path or request/response body.
import {
  context as otelContext,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  RandomIdGenerator,
  TraceIdRatioBasedSampler,
  type IdGenerator,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { createHash } from 'node:crypto';
import { ConfigError, getBoolean, getChoice, getNumber, getOptionalString } from '../config.js';
import { ENV } from '../runtime/definitions.js';
import { errorClassOf, type ErrorClass } from './error-class.js';
import { createOtlpTraceExporter, OTLP_PROTOCOLS, otlpTracesUrl, type OtlpProtocol } from './otlp-exporter.js';
import { xrayTraceId } from './xray-propagation.js';

type Env = Record<string, string | undefined>;

export interface TracingConfig {
  /** Where OTLP spans are sent; tracing is off without it. */
  readonly tracesUrl: string | undefined;
  /** The OTLP transport: the traces-specific variable wins over the generic one. */
  readonly protocol: OtlpProtocol;
  readonly serviceName: string;
  readonly resourceAttributes: Readonly<Record<string, string>>;
  /** Probability a trace with no upstream decision is sampled; upstream decisions always win. */
  readonly sampleRatio: number;
  /**
   * Export every invocation's spans before it returns: required in Lambda, where a
   * frozen sandbox would strand the batch. A long-lived process exports in batches.
   */
  readonly flushEachInvocation: boolean;
}

/** `key=value,key2=value2`, values percent-encoded, as the OpenTelemetry spec defines it. */
export const parseResourceAttributes = (raw: string | undefined): Record<string, string> => {
  const attributes: Record<string, string> = {};
  if (!raw) return attributes;
  for (const part of raw
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const equals = part.indexOf('=');
    const key = part.slice(0, equals).trim();
    if (equals <= 0 || !key) throw new ConfigError(`${ENV.otelResourceAttributes} entry "${part}" is not key=value`);
    try {
      attributes[key] = decodeURIComponent(part.slice(equals + 1).trim());
    } catch {
      throw new ConfigError(`${ENV.otelResourceAttributes} value for "${key}" is not valid percent-encoding`);
    }
  }
  return attributes;
};

export const loadTracingConfig = (env: Env): TracingConfig => {
  const resourceAttributes = parseResourceAttributes(getOptionalString(env, ENV.otelResourceAttributes));
  const sampleRatio = getNumber(env, ENV.otelTracesSamplerArg, 1);
  if (sampleRatio > 1) throw new ConfigError(`environment variable ${ENV.otelTracesSamplerArg} must be between 0 and 1, got "${sampleRatio}"`);
  const protocol = getChoice(env, ENV.otelTracesProtocol, OTLP_PROTOCOLS, getChoice(env, ENV.otelExporterProtocol, OTLP_PROTOCOLS, 'http/protobuf'));
  const tracesUrl = otlpTracesUrl(protocol, getOptionalString(env, ENV.otelExporterEndpoint), getOptionalString(env, ENV.otelTracesEndpoint));
  return {
    tracesUrl: getBoolean(env, ENV.otelSdkDisabled, false) ? undefined : tracesUrl,
    protocol,
    serviceName: getOptionalString(env, ENV.otelServiceName) ?? resourceAttributes[ATTR_SERVICE_NAME] ?? 'scaivault',
    resourceAttributes,
    sampleRatio,
    flushEachInvocation:
      getChoice(env, ENV.tracesFlush, ['invocation', 'batch'] as const, env.AWS_LAMBDA_FUNCTION_NAME ? 'invocation' : 'batch') === 'invocation',
  };
};

const TRACE_ID = /^[0-9a-f]{32}$/i;
const INVALID_TRACE_ID = '0'.repeat(32);

/**
 * The trace id a client X-Request-ID stands for: 32 hex digits are used as they
 * are, anything else is SHA-256 hashed down to 128 bits, so the client can find
 * its trace from the id it sent.
 */
export const traceIdFromRequestId = (requestId: string | undefined): string | undefined => {
  if (!requestId) return undefined;
  if (TRACE_ID.test(requestId) && requestId !== INVALID_TRACE_ID) return requestId.toLowerCase();
  const hashed = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 32);
  return hashed === INVALID_TRACE_ID ? undefined : hashed;
};

/**
 * New trace ids in X-Ray's format (epoch second first, 96 random bits), except
 * that the next root span may be handed the trace id a request asked for.
 */
class RequestTraceIdGenerator implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  next: string | undefined;

  generateTraceId(): string {
    return this.next ?? xrayTraceId(this.random.generateTraceId());
  }

  generateSpanId(): string {
    return this.random.generateSpanId();
  }
}

// How long a request waits for its spans to leave; an unreachable collector must not stall the API.
const FLUSH_TIMEOUT_MS = 1000;

let globalsRegistered = false;
const registerGlobals = (propagator: TextMapPropagator): void => {
  if (globalsRegistered) return;
  globalsRegistered = true;
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Lets code that only knows the OpenTelemetry API propagate W3C trace context and baggage too.
  propagation.setGlobalPropagator(propagator);
};

export interface StartedSpan {
  readonly span: Span;
  /** The context with `span` active: run child work in it. */
  readonly context: Context;
}

/** One tracer provider and what the rest of the code needs from it. */
export class Tracing {
  readonly enabled: boolean;
  private readonly tracer: Tracer | undefined;
  private readonly provider: BasicTracerProvider | undefined;
  private readonly ids = new RequestTraceIdGenerator();
  // W3C trace context and W3C baggage, in and out.
  private readonly propagator: TextMapPropagator = new CompositePropagator({
    propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()],
  });

  /** `processor` is where finished spans go; without one tracing is disabled. */
  constructor(
    private readonly config: TracingConfig,
    processor: SpanProcessor | undefined,
  ) {
    this.enabled = processor !== undefined;
    if (!processor) return;
    this.provider = new BasicTracerProvider({
      resource: defaultResource().merge(resourceFromAttributes({ ...config.resourceAttributes, [ATTR_SERVICE_NAME]: config.serviceName })),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
      idGenerator: this.ids,
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer('scaivault');
    registerGlobals(this.propagator);
  }

  /** The API provider, for `trace.setGlobalTracerProvider`. */
  get tracerProvider(): BasicTracerProvider | undefined {
    return this.provider;
  }

  /** W3C trace context and baggage from a carrier (e.g. request headers); ROOT when absent or malformed. */
  extract<T>(carrier: T, getter: TextMapGetter<T>): Context {
    return this.propagator.extract(otelContext.active(), carrier, getter);
  }

  /** Writes `traceparent` (and `tracestate`, `baggage` if any) for `context` into a carrier. */
  inject<T>(context: Context, carrier: T, setter: TextMapSetter<T>): void {
    this.propagator.inject(context, carrier, setter);
  }

  /**
   * Starts a SERVER span under `parent`. With no valid upstream span context,
   * `traceId` (if given) becomes the new trace's id; an upstream traceparent wins.
   */
  startServerSpan(name: string, parent: Context, attributes: Attributes, traceId?: string): StartedSpan {
    const tracer = this.requireTracer();
    const upstream = trace.getSpanContext(parent);
    this.ids.next = upstream && trace.isSpanContextValid(upstream) ? undefined : traceId;
    try {
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
      return { span, context: trace.setSpan(parent, span) };
    } finally {
      this.ids.next = undefined;
    }
  }

  /** Starts a CLIENT span under `parent` (the active context unless given). */
  startClientSpan(name: string, attributes: Attributes, parent: Context = otelContext.active()): StartedSpan {
    const span = this.clientSpan(name, attributes, parent);
    return { span, context: trace.setSpan(parent, span) };
  }

  /** Starts an INTERNAL span (a step of the work) under `parent`. */
  startInternalSpan(name: string, attributes: Attributes, parent: Context = otelContext.active()): StartedSpan {
    const span = this.requireTracer().startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
    return { span, context: trace.setSpan(parent, span) };
  }

  /** A CLIENT span with no context of its own, for calls that start no further spans (AWS SDK commands). */
  clientSpan(name: string, attributes: Attributes, parent: Context): Span {
    return this.requireTracer().startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
  }

  /**
   * At the end of an invocation: export now where the sandbox may freeze (Lambda),
   * else leave it to the batch (and return nothing to await).
   */
  endInvocation(): Promise<void> | undefined {
    return this.config.flushEachInvocation ? this.flush() : undefined;
  }

  /** Exports every finished span now; export failures are dropped, never raised to a request. */
  async flush(): Promise<void> {
    await this.provider?.forceFlush({ timeoutMillis: FLUSH_TIMEOUT_MS }).catch(() => undefined);
  }

  async shutdown(): Promise<void> {
    await this.provider?.shutdown().catch(() => undefined);
  }

  private requireTracer(): Tracer {
    if (!this.tracer) throw new Error('tracing is disabled');
    return this.tracer;
  }
}

/** The W3C `traceparent` value naming `span`. */
export const traceparentOf = (span: Span): string => {
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, '0')}`;
};

/**
 * Marks a span failed with names only, never a message (messages may quote
 * request data): `error.type` the error's own, the status and
 * `scaivault.error.class` one of the fixed error classes.
 */
export const markSpanFailed = (span: Span, errorType: string, errorClass: ErrorClass): void => {
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorClass });
  span.setAttributes({ 'error.type': errorType, 'scaivault.error.class': errorClass });
};

/** Marks a span failed by what was thrown. */
export const markSpanError = (span: Span, error: unknown): void => markSpanFailed(span, (error as Error)?.name || 'Error', errorClassOf(error));

/** Runs `work` in a started span's context and ends the span: a throw marks it failed, `onResult` describes what came back. */
export const runInSpan = async <T>(
  { span, context }: StartedSpan,
  work: () => Promise<T>,
  onResult: (result: T, span: Span) => void = () => undefined,
): Promise<T> => {
  try {
    const result = await otelContext.with(context, work);
    onResult(result, span);
    return result;
  } catch (error) {
    markSpanError(span, error);
    throw error;
  } finally {
    span.end();
  }
};

// ---- AWS SDK v3 client spans ----

interface AwsCommandArgs {
  readonly input: Record<string, unknown>;
}
interface AwsCommandResult {
  readonly output: { readonly $metadata?: { readonly requestId?: string; readonly httpStatusCode?: number } };
}
type AwsNext = (args: AwsCommandArgs) => Promise<AwsCommandResult>;
interface AwsHandlerContext {
  readonly clientName?: string;
  readonly commandName?: string;
}
/** The part of an SDK v3 client this module touches. */
export interface TraceableAwsClient {
  readonly middlewareStack: {
    add(middleware: (next: AwsNext, context: AwsHandlerContext) => AwsNext, options: { step: 'initialize'; name: string; override?: boolean }): void;
  };
}

const TRANSACT_KINDS = ['Put', 'Update', 'Delete', 'ConditionCheck', 'Get'] as const;

/** Table names a DynamoDB command touches (names only, never keys or items). */
const dynamoDbTableNames = (input: Record<string, unknown>): string[] => {
  if (typeof input.TableName === 'string') return [input.TableName];
  if (input.RequestItems && typeof input.RequestItems === 'object') return Object.keys(input.RequestItems);
  if (Array.isArray(input.TransactItems)) {
    const names = new Set<string>();
    for (const item of input.TransactItems as Record<string, { TableName?: unknown } | undefined>[]) {
      for (const kind of TRANSACT_KINDS) {
        const name = item[kind]?.TableName;
        if (typeof name === 'string') names.add(name);
      }
    }
    return [...names];
  }
  return [];
};

const awsAttributes = (service: string, method: string, input: Record<string, unknown>): Attributes => {
  const attributes: Attributes = { 'rpc.system': 'aws-api', 'rpc.service': service, 'rpc.method': method };
  if (service === 'DynamoDB') {
    const tables = dynamoDbTableNames(input);
    if (tables.length > 0) attributes['aws.dynamodb.table_names'] = tables;
  } else if (service === 'S3' && typeof input.Bucket === 'string') {
    attributes['aws.s3.bucket'] = input.Bucket;
  }
  return attributes;
};

/** `DynamoDBClient` + `GetItemCommand` → `DynamoDB` and `GetItem`, worked out once per pair. */
const awsNames = new Map<string, { readonly service: string; readonly method: string; readonly span: string }>();
const awsNamesOf = (handlerContext: AwsHandlerContext): { readonly service: string; readonly method: string; readonly span: string } => {
  const clientName = handlerContext.clientName ?? 'AWS';
  const commandName = handlerContext.commandName ?? 'Unknown';
  const key = `${clientName} ${commandName}`;
  let names = awsNames.get(key);
  if (!names) {
    const service = clientName.replace(/Client$/, '');
    const method = commandName.replace(/Command$/, '');
    names = { service, method, span: `${service}.${method}` };
    awsNames.set(key, names);
  }
  return names;
};

const endAwsSpan = (span: Span, result: AwsCommandResult): AwsCommandResult => {
  const metadata = result.output.$metadata;
  if (metadata?.requestId) span.setAttribute('aws.request_id', metadata.requestId);
  if (metadata?.httpStatusCode) span.setAttribute('http.response.status_code', metadata.httpStatusCode);
  span.end();
  return result;
};

const failAwsSpan = (span: Span, error: unknown): never => {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata?.httpStatusCode) span.setAttribute('http.response.status_code', metadata.httpStatusCode);
  markSpanError(span, error);
  span.end();
  throw error;
};

/**
 * Adds a CLIENT span per command (`DynamoDB.GetItem`) to an SDK client, covering
 * its retries. Calls made outside a traced request are left alone, so start-up
 * work does not produce orphan traces. Returns the client for use in expressions.
 */
export const traceAwsClient = <C extends TraceableAwsClient>(client: C, tracing: Tracing = defaultTracing): C => {
  if (!tracing.enabled) return client;
  // One `then` rather than an async wrapper: every promise costs an async-context hook.
  client.middlewareStack.add(
    (next, handlerContext) => (args) => {
      const parent = otelContext.active();
      if (!trace.getSpan(parent)) return next(args);
      const names = awsNamesOf(handlerContext);
      const span = tracing.clientSpan(names.span, awsAttributes(names.service, names.method, args.input), parent);
      return next(args).then(
        (result) => endAwsSpan(span, result),
        (error: unknown) => failAwsSpan(span, error),
      );
    },
    { step: 'initialize', name: 'scaivaultTracing', override: true },
  );
  return client;
};

// ---- the container's tracing, from the environment, once ----

const createTracing = (config: TracingConfig): Tracing => {
  if (!config.tracesUrl) return new Tracing(config, undefined);
  const tracing = new Tracing(config, new BatchSpanProcessor(createOtlpTraceExporter(config.protocol, config.tracesUrl)));
  if (tracing.tracerProvider) trace.setGlobalTracerProvider(tracing.tracerProvider);
  return tracing;
};

export const defaultTracing: Tracing = createTracing(loadTracingConfig(process.env));

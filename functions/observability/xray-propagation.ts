// AWS X-Ray trace context, as the Lambda service hands it to each invocation
// under active tracing: `Root=1-<8 hex epoch>-<24 hex>;Parent=<16 hex>;Sampled=1`
// (plus fields such as Lineage, ignored here). Continuing it makes our spans
// children of Lambda's own function segment, so X-Ray shows one trace.
import { trace, TraceFlags, type Context, type SpanContext } from '@opentelemetry/api';

/** Where the Lambda runtime puts the invocation's X-Ray trace header (set anew for every invocation). */
export const LAMBDA_XRAY_ENV = '_X_AMZN_TRACE_ID';

const ROOT = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/i;
const PARENT = /^[0-9a-f]{16}$/i;

/**
 * The remote parent an X-Ray trace header names, or nothing when it names no
 * parent segment or no sampling decision (`Sampled=?` defers it, and an OpenTelemetry
 * span context cannot say "undecided": our own sampler decides instead).
 */
export const parseXRayTraceHeader = (header: string | undefined): SpanContext | undefined => {
  if (!header) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.split(';')) {
    const equals = part.indexOf('=');
    if (equals > 0) fields.set(part.slice(0, equals).trim().toLowerCase(), part.slice(equals + 1).trim());
  }
  const root = ROOT.exec(fields.get('root') ?? '');
  const parent = fields.get('parent') ?? '';
  const sampled = fields.get('sampled');
  if (!root || !PARENT.test(parent) || (sampled !== '0' && sampled !== '1')) return undefined;
  const context: SpanContext = {
    traceId: `${root[1]}${root[2]}`.toLowerCase(),
    spanId: parent.toLowerCase(),
    traceFlags: sampled === '1' ? TraceFlags.SAMPLED : TraceFlags.NONE,
    isRemote: true,
  };
  return trace.isSpanContextValid(context) ? context : undefined;
};

/** `context` with the X-Ray parent the header names, if any; baggage and other entries are kept. */
export const withXRayParent = (context: Context, header: string | undefined): Context => {
  const parent = parseXRayTraceHeader(header);
  return parent ? trace.setSpanContext(context, parent) : context;
};

/**
 * A new X-Ray-format trace id: the epoch second in the first 4 bytes, then
 * `random` (24 hex digits). Any X-Ray pipeline takes it, whatever its age check.
 */
export const xrayTraceId = (random: string, nowMs: number = Date.now()): string =>
  Math.floor(nowMs / 1000)
    .toString(16)
    .padStart(8, '0') + random.slice(-24);

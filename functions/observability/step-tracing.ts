import { context as otelContext, trace } from '@opentelemetry/api';
import type { StepAttributes, StepTracer } from '../domain/ports/tracing.js';
import { defaultTracing, runInSpan, type Tracing } from './tracing.js';
import { LAMBDA_XRAY_ENV, withXRayParent } from './xray-propagation.js';

/**
 * Each step an INTERNAL span under the active one, so its SDK calls nest
 * beneath it; outside a traced run a step makes no span (no orphan traces).
 */
export class SpanStepTracer implements StepTracer {
  constructor(private readonly tracing: Tracing = defaultTracing) {}

  step<T>(name: string, work: () => Promise<T>, describe?: (result: T) => StepAttributes): Promise<T> {
    const parent = otelContext.active();
    if (!this.tracing.enabled || !trace.getSpan(parent)) return work();
    return runInSpan(this.tracing.startInternalSpan(name, {}, parent), work, (result, span) => {
      if (describe) span.setAttributes(describe(result));
    });
  }
}

/**
 * A scheduled run (no request, no message) as the SERVER span at the root of
 * its trace (in Lambda, a child of the invocation's X-Ray segment), its spans
 * exported before it returns where the sandbox may freeze.
 */
export const withRunSpan = async <T>(
  name: string,
  work: () => Promise<T>,
  describe: (result: T) => StepAttributes = () => ({}),
  tracing: Tracing = defaultTracing,
): Promise<T> => {
  if (!tracing.enabled) return work();
  // Lambda sets it anew for each invocation, so it is read per run, not once as configuration.
  const parent = withXRayParent(otelContext.active(), process.env[LAMBDA_XRAY_ENV]);
  try {
    return await runInSpan(tracing.startServerSpan(name, parent, {}), work, (result, span) => span.setAttributes(describe(result)));
  } finally {
    await tracing.endInvocation();
  }
};

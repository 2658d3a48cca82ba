import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { ForbiddenError } from '../../functions/domain/errors.js';
import { SpanStepTracer, withRunSpan } from '../../functions/observability/step-tracing.js';
import { Tracing } from '../../functions/observability/tracing.js';
import { UNIT_TRACING_CONFIG } from './support/tracing-config.js';

const CONFIG = UNIT_TRACING_CONFIG;

describe('scheduled runs and their steps', () => {
  const exporter = new InMemorySpanExporter();
  const tracing = new Tracing(CONFIG, new SimpleSpanProcessor(exporter));
  const steps = new SpanStepTracer(tracing);
  afterEach(() => exporter.reset());

  it('makes a run a root SERVER span with its steps as INTERNAL children that say what they came to', async () => {
    const result = await withRunSpan(
      'scheduler run',
      async () => {
        const sealed = await steps.step(
          'audit seal',
          async () => 3,
          (blocks) => ({ 'scaivault.audit.blocks': blocks }),
        );
        await steps.step('audit verify', async () => Promise.reject(new ForbiddenError('kms says no'))).catch(() => undefined);
        return sealed;
      },
      (blocks) => ({ 'scaivault.audit.blocks': blocks }),
      tracing,
    );
    expect(result).toBe(3);
    const spans = exporter.getFinishedSpans();
    const run = spans.find((span) => span.name === 'scheduler run')!;
    expect(run.kind).toBe(SpanKind.SERVER);
    expect(run.parentSpanContext).toBeUndefined();
    const seal = spans.find((span) => span.name === 'audit seal')!;
    const verify = spans.find((span) => span.name === 'audit verify')!;
    for (const step of [seal, verify]) {
      expect(step.kind).toBe(SpanKind.INTERNAL);
      expect(step.parentSpanContext?.spanId).toBe(run.spanContext().spanId);
    }
    expect(seal.attributes).toEqual({ 'scaivault.audit.blocks': 3 });
    expect(verify.status).toEqual({ code: SpanStatusCode.ERROR, message: 'auth' });
    expect(JSON.stringify({ a: verify.attributes, s: verify.status, e: verify.events })).not.toContain('kms says no');
  });

  it('makes no orphan span for a step outside any run', async () => {
    expect(await steps.step('audit seal', async () => 'ran')).toBe('ran');
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

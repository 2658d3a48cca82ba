import type { TracingConfig } from '../../../functions/observability/tracing.js';

/** Tracing on, exporting nowhere, every span sampled: what unit tests read spans from memory with. */
export const UNIT_TRACING_CONFIG: TracingConfig = {
  tracesUrl: undefined,
  protocol: 'http/protobuf',
  serviceName: 'scaivault-unit',
  resourceAttributes: {},
  sampleRatio: 1,
  flushEachInvocation: true,
};

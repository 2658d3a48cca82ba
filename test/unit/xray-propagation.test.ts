import { propagation, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { parseXRayTraceHeader, withXRayParent, xrayTraceId } from '../../functions/observability/xray-propagation.js';

// The header the Lambda service sets in _X_AMZN_TRACE_ID under active tracing.
const LAMBDA_HEADER = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1;Lineage=a87bd80c:1';

describe('parseXRayTraceHeader', () => {
  it("names Lambda's function segment as a sampled remote parent in the same trace", () => {
    expect(parseXRayTraceHeader(LAMBDA_HEADER)).toEqual({
      traceId: '5759e988bd862e3fe1be46a994272793',
      spanId: '53995c3f42cd8ad8',
      traceFlags: TraceFlags.SAMPLED,
      isRemote: true,
    });
    // Field order, case and spacing do not matter; ids come out lower-case.
    expect(parseXRayTraceHeader('Sampled=0; parent=53995C3F42CD8AD8 ;ROOT=1-5759E988-BD862E3FE1BE46A994272793')).toEqual({
      traceId: '5759e988bd862e3fe1be46a994272793',
      spanId: '53995c3f42cd8ad8',
      traceFlags: TraceFlags.NONE,
      isRemote: true,
    });
  });

  it('yields nothing without a parent segment (API Gateway HTTP API sends only Root) or without a decision', () => {
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8')).toBeUndefined();
    expect(parseXRayTraceHeader(undefined)).toBeUndefined();
    expect(parseXRayTraceHeader('')).toBeUndefined();
  });

  it('refuses malformed and all-zero ids', () => {
    expect(parseXRayTraceHeader('Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8;Sampled=1')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad;Sampled=1')).toBeUndefined();
    expect(parseXRayTraceHeader('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000;Sampled=1')).toBeUndefined();
    expect(parseXRayTraceHeader(`Root=1-00000000-${'0'.repeat(24)};Parent=53995c3f42cd8ad8;Sampled=1`)).toBeUndefined();
  });
});

describe('withXRayParent', () => {
  it('sets the X-Ray parent and keeps what the context already carries (baggage)', () => {
    const withBaggage = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ tier: { value: 'gold' } }));
    const context = withXRayParent(withBaggage, LAMBDA_HEADER);
    expect(trace.getSpanContext(context)?.traceId).toBe('5759e988bd862e3fe1be46a994272793');
    expect(propagation.getBaggage(context)?.getEntry('tier')?.value).toBe('gold');
    expect(withXRayParent(withBaggage, 'Root=1-5759e988-bd862e3fe1be46a994272793')).toBe(withBaggage);
  });
});

describe('xrayTraceId', () => {
  it('puts the epoch second in the first 4 bytes and keeps 24 random hex digits', () => {
    const random = '0123456789abcdef0123456789abcdef';
    expect(xrayTraceId(random, Date.UTC(2016, 11, 1, 18, 0, 0, 999))).toBe('58406520' + '89abcdef0123456789abcdef');
    const id = xrayTraceId(random);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(Math.abs(Number.parseInt(id.slice(0, 8), 16) - Date.now() / 1000)).toBeLessThan(5);
  });
});

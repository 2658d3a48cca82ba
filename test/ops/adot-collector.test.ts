import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { opsPath } from './support/ops-files.js';
import { expectPipelinesWired, type CollectorConfig } from './support/collector-config.js';

// No collector binary is available to run `otelcol validate`, so this checks
// what the collector checks before it starts: the YAML parses, pipelines name
// only configured components, and authenticators are enabled extensions.

const load = (file: string): CollectorConfig => {
  const doc = parseDocument(readFileSync(opsPath('adot', file), 'utf8'));
  expect(doc.errors, file).toEqual([]);
  return doc.toJS() as CollectorConfig;
};

/** How the collector combines several --config files: maps merge, anything else replaces. */
const merge = (base: unknown, overlay: unknown): unknown => {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(overlay)) return overlay;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overlay)) out[key] = key in base ? merge(base[key], value) : value;
  return out;
};

const base = load('collector.yaml');
const withOtlpHttp = merge(base, load('collector.otlphttp.yaml')) as CollectorConfig;

const checkWiring = (config: CollectorConfig): void => {
  expectPipelinesWired(config);
  for (const [name, pipeline] of Object.entries(config.service.pipelines)) {
    // memory_limiter must see data before anything buffers it; batch goes last.
    expect(pipeline.processors?.[0], name).toBe('memory_limiter');
    expect(pipeline.processors?.at(-1), name).toBe('batch');
  }
};

describe('ADOT collector config', () => {
  it('wires only defined components into its pipelines', () => {
    expect(Object.keys(base.service.pipelines).sort()).toEqual(['metrics', 'traces']);
    checkWiring(base);
  });

  it('stays valid with the optional otlphttp overlay, which adds the exporter to traces only', () => {
    checkWiring(withOtlpHttp);
    expect(withOtlpHttp.service.pipelines.traces?.exporters).toEqual(['awsxray', 'otlphttp']);
    expect(withOtlpHttp.service.pipelines.metrics).toEqual(base.service.pipelines.metrics);
    expect(withOtlpHttp.exporters?.otlphttp).toMatchObject({ traces_endpoint: '${env:OTLP_TRACES_ENDPOINT}' });
    expect(base.exporters).not.toHaveProperty('otlphttp');
  });

  it('receives OTLP on 4317/4318 and scrapes /v1/metrics as job scaivault with the token from the environment', () => {
    expect(base.receivers?.otlp).toEqual({ protocols: { grpc: { endpoint: '0.0.0.0:4317' }, http: { endpoint: '0.0.0.0:4318' } } });
    const scrape = (base.receivers?.prometheus as { config: { scrape_configs: Record<string, unknown>[] } }).config.scrape_configs;
    expect(scrape).toHaveLength(1);
    expect(scrape[0]).toMatchObject({
      job_name: 'scaivault',
      metrics_path: '/v1/metrics',
      authorization: { type: 'Bearer', credentials: '${env:SCAIVAULT_METRICS_TOKEN}' },
    });
  });

  it('remote-writes to AMP signed with SigV4 and sends traces to X-Ray', () => {
    expect(base.exporters?.prometheusremotewrite).toMatchObject({
      endpoint: '${env:AMP_REMOTE_WRITE_ENDPOINT}',
      auth: { authenticator: 'sigv4auth' },
    });
    expect(base.extensions?.sigv4auth).toEqual({ region: '${env:AWS_REGION}', service: 'aps' });
    expect(base.exporters?.awsxray).toMatchObject({ region: '${env:AWS_REGION}' });
    expect(base.processors?.resourcedetection).toMatchObject({ detectors: ['env', 'lambda'] });
  });

  it('takes every variable from the environment with the ${env:NAME} syntax and holds no literal secret', () => {
    for (const file of ['collector.yaml', 'collector.otlphttp.yaml']) {
      const text = readFileSync(opsPath('adot', file), 'utf8');
      const refs = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
      expect(refs.length, file).toBeGreaterThan(0);
      for (const ref of refs) expect(ref, file).toMatch(/^env:[A-Z][A-Z0-9_]*$/);
    }
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { opsPath } from './support/ops-files.js';
import { expectPipelinesWired, type CollectorConfig } from './support/collector-config.js';

// ops/adot/lambda-collector.yaml runs inside the ADOT collector Lambda layer,
// whose reduced build refuses to start on any component it does not include
// (and a collector that does not start exports nothing, X-Ray included). No
// collector binary is available here, so this checks what it checks first:
// the YAML parses, every component exists in the layer's build, pipelines name
// only configured components and authenticators are enabled extensions.

/** Components of the ADOT Lambda collector build (aws-otel-lambda adot/collector/lambdacomponents). */
const LAMBDA_BUILD = {
  receivers: ['otlp'],
  processors: [] as string[],
  exporters: ['awsxray', 'awsemf', 'prometheus', 'prometheusremotewrite', 'otlp', 'otlphttp', 'debug', 'logging'],
  extensions: ['sigv4auth'],
} as const;
type Kind = 'receivers' | 'processors' | 'exporters';
const KINDS: readonly Kind[] = ['receivers', 'processors', 'exporters'];

const FILE = 'lambda-collector.yaml';
const text = readFileSync(opsPath('adot', FILE), 'utf8');
const doc = parseDocument(text);
const config = doc.toJS() as CollectorConfig;
/** `otlp/2` is an instance of type `otlp`. */
const typeOf = (id: string) => id.split('/')[0]!;

describe('ADOT Lambda collector config', () => {
  it('parses', () => {
    expect(doc.errors).toEqual([]);
  });

  it('uses only components the Lambda layer build includes', () => {
    for (const kind of KINDS) {
      for (const id of Object.keys(config[kind] ?? {})) expect(LAMBDA_BUILD[kind], `${kind} ${id}`).toContain(typeOf(id));
    }
    for (const id of Object.keys(config.extensions ?? {})) expect(LAMBDA_BUILD.extensions, `extension ${id}`).toContain(typeOf(id));
  });

  it('wires only defined components into its pipelines, and uses every defined one', () => {
    expectPipelinesWired(config);
    expect([...(config.service.extensions ?? [])].sort()).toEqual(Object.keys(config.extensions ?? {}).sort());
  });

  it('sends traces to X-Ray and metrics to AMP, nothing else', () => {
    expect(config.service.pipelines).toEqual({
      traces: { receivers: ['otlp'], exporters: ['awsxray'] },
      metrics: { receivers: ['otlp'], exporters: ['prometheusremotewrite'] },
    });
    // otlphttp refuses an empty endpoint: it cannot be optional here (see the file's header).
    expect(config.exporters).not.toHaveProperty('otlphttp');
  });

  it('receives OTLP on localhost only, where OTEL_EXPORTER_OTLP_ENDPOINT points', () => {
    expect(config.receivers?.otlp).toEqual({ protocols: { grpc: { endpoint: 'localhost:4317' }, http: { endpoint: 'localhost:4318' } } });
  });

  it('remote-writes to the workspace signed with SigV4 for aps', () => {
    expect(config.exporters?.prometheusremotewrite).toMatchObject({
      endpoint: '${env:AMP_REMOTE_WRITE_ENDPOINT}',
      auth: { authenticator: 'sigv4auth' },
    });
    expect(config.extensions?.sigv4auth).toEqual({ region: '${env:AWS_REGION}', service: 'aps' });
    expect(config.exporters?.awsxray).toMatchObject({ region: '${env:AWS_REGION}' });
  });

  it('takes every variable from the environment with the ${env:NAME} syntax', () => {
    const refs = [...text.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(ref).toMatch(/^env:[A-Z][A-Z0-9_]*$/);
  });
});

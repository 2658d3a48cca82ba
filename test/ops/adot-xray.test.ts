import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { DEFAULT_ADOT_COLLECTOR_RELEASE } from '../../lib/observability.js';
import type { CollectorConfig } from './support/collector-config.js';
import { opsPath } from './support/ops-files.js';

// Whether X-Ray takes the traces the shipped collectors export. Trace ids whose
// first 4 bytes are not a recent epoch second (OpenTelemetry's random ids, a
// client's X-Request-ID) pass the awsxray exporter only while its feature gate
// exporter.awsxray.skiptimestampvalidation is on: Beta, so on by default, since
// autumn 2023. A gate cannot be set in the YAML (an unknown key stops the
// collector), so what is checked is the collector release and the keys used.

/** A collector-contrib release safely after the gate went Beta. */
const GATE_ON_BY_DEFAULT_FROM = [0, 90, 0] as const;

/** The awsxray exporter's documented configuration keys: anything else stops the collector. */
const AWSXRAY_KEYS = new Set([
  'num_workers',
  'endpoint',
  'request_timeout_seconds',
  'max_retries',
  'no_verify_ssl',
  'proxy_address',
  'region',
  'local_mode',
  'resource_arn',
  'role_arn',
  'indexed_attributes',
  'index_all_attributes',
  'aws_log_groups',
  'telemetry',
]);

const load = (file: string): CollectorConfig => parseDocument(readFileSync(opsPath('adot', file), 'utf8')).toJS() as CollectorConfig;

const CONFIGS = ['lambda-collector.yaml', 'collector.yaml'] as const;

const awsxrayExporters = (config: CollectorConfig): [string, Record<string, unknown>][] =>
  Object.entries(config.exporters ?? {})
    .filter(([id]) => id.split('/')[0] === 'awsxray')
    .map(([id, settings]) => [id, (settings ?? {}) as Record<string, unknown>]);

describe('X-Ray export in the shipped collector configs', () => {
  it('pins an ADOT Lambda collector whose awsxray exporter passes non-X-Ray trace ids by default', () => {
    const release = DEFAULT_ADOT_COLLECTOR_RELEASE.split('-').map(Number);
    expect(release).toHaveLength(3);
    const [major, minor, patch] = release as [number, number, number];
    const [floorMajor, floorMinor, floorPatch] = GATE_ON_BY_DEFAULT_FROM;
    expect(major * 1e6 + minor * 1e3 + patch, DEFAULT_ADOT_COLLECTOR_RELEASE).toBeGreaterThanOrEqual(floorMajor * 1e6 + floorMinor * 1e3 + floorPatch);
  });

  it.each(CONFIGS)('%s sends traces to X-Ray with only keys the exporter knows', (file) => {
    const config = load(file);
    const exporters = awsxrayExporters(config);
    expect(exporters.map(([id]) => id)).toEqual(['awsxray']);
    for (const [id, settings] of exporters) {
      expect(config.service.pipelines.traces?.exporters, file).toContain(id);
      for (const key of Object.keys(settings)) expect(AWSXRAY_KEYS, `${file} ${id}.${key}`).toContain(key);
    }
  });

  it.each(CONFIGS)('%s indexes the request id, tenant and route, so a request is found in X-Ray by the X-Request-ID it sent', (file) => {
    const [, settings] = awsxrayExporters(load(file))[0]!;
    expect(settings.indexed_attributes).toEqual(['scaivault.request_id', 'scaivault.tenant_id', 'http.route']);
    // Indexing everything would turn every attribute into an annotation (X-Ray keeps 50 per trace).
    expect(settings.index_all_attributes).toBeUndefined();
  });
});

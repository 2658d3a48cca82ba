import { CATALOGUE, KNOWN_SERIES, bucketsOf, type MetricDefinition } from './metric-catalogue.js';
import { emptyHistogram, seriesKey, seriesLabels, type MetricsSnapshot, type SeriesValue } from './metric-registry.js';

// Prometheus text exposition format 0.0.4.

export const EXPOSITION_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeLabel = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (value: string): string => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const formatNumber = (value: number): string => {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
};

const bucketLabels = (definition: MetricDefinition): string[] => [...bucketsOf(definition).map(formatNumber), '+Inf'];

/** One sample as Prometheus stores it: the series name (with `_bucket`/`_sum`/`_count` for histograms), its label pairs and value. */
export interface Sample {
  readonly name: string;
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value: number;
}

/** Series every scrape shows even before anything happened: label-less fleet series and known label sets. */
const withDefaults = (definition: MetricDefinition, series: Record<string, SeriesValue> | undefined): Record<string, SeriesValue> => {
  const result: Record<string, SeriesValue> = { ...series };
  const known = KNOWN_SERIES[definition.name] ?? (definition.source === 'fleet' && definition.labels.length === 0 ? [[]] : []);
  for (const labels of known) {
    const key = seriesKey(labels);
    if (result[key] === undefined) result[key] = definition.type === 'histogram' ? emptyHistogram(bucketsOf(definition)) : 0;
  }
  return result;
};

/** Every sample of one metric in the snapshot, sorted by label values; histograms as cumulative buckets, sum and count. */
export function* samplesOf(definition: MetricDefinition, snapshot: MetricsSnapshot): Generator<Sample> {
  const series = withDefaults(definition, snapshot[definition.name]);
  for (const key of Object.keys(series).sort()) {
    const value = series[key]!;
    const values = seriesLabels(key);
    const labels = definition.labels.map((name, i) => [name, values[i] ?? ''] as const);
    if (typeof value === 'number') {
      yield { name: definition.name, labels, value };
      continue;
    }
    let cumulative = 0;
    const les = bucketLabels(definition);
    for (const [i, count] of value.buckets.entries()) {
      cumulative += count;
      yield { name: `${definition.name}_bucket`, labels: [...labels, ['le', les[i]!] as const], value: cumulative };
    }
    yield { name: `${definition.name}_sum`, labels, value: value.sum };
    yield { name: `${definition.name}_count`, labels, value: value.count };
  }
}

const labelText = (labels: Sample['labels']): string =>
  labels.length ? `{${labels.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(',')}}` : '';

export const renderExposition = (snapshot: MetricsSnapshot, catalogue: readonly MetricDefinition[] = CATALOGUE): string => {
  const lines: string[] = [];
  for (const definition of catalogue) {
    lines.push(`# HELP ${definition.name} ${escapeHelp(definition.help)}`, `# TYPE ${definition.name} ${definition.type}`);
    for (const sample of samplesOf(definition, snapshot)) lines.push(`${sample.name}${labelText(sample.labels)} ${formatNumber(sample.value)}`);
  }
  return `${lines.join('\n')}\n`;
};

import { CATALOGUE, DURATION_BUCKETS, KNOWN_SERIES, type MetricDefinition } from './metric-catalogue.js';
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

const BUCKET_LABELS = [...DURATION_BUCKETS.map(formatNumber), '+Inf'];

const labelText = (names: readonly string[], values: readonly string[], extra?: string): string => {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
};

/** Series every scrape shows even before anything happened: label-less fleet series and known label sets. */
const withDefaults = (definition: MetricDefinition, series: Record<string, SeriesValue> | undefined): Record<string, SeriesValue> => {
  const result: Record<string, SeriesValue> = { ...series };
  const known = KNOWN_SERIES[definition.name] ?? (definition.source === 'fleet' && definition.labels.length === 0 ? [[]] : []);
  for (const labels of known) {
    const key = seriesKey(labels);
    if (result[key] === undefined) result[key] = definition.type === 'histogram' ? emptyHistogram() : 0;
  }
  return result;
};

export const renderExposition = (snapshot: MetricsSnapshot, catalogue: readonly MetricDefinition[] = CATALOGUE): string => {
  const lines: string[] = [];
  for (const definition of catalogue) {
    lines.push(`# HELP ${definition.name} ${escapeHelp(definition.help)}`, `# TYPE ${definition.name} ${definition.type}`);
    const series = withDefaults(definition, snapshot[definition.name]);
    for (const key of Object.keys(series).sort()) {
      const value = series[key]!;
      const labels = seriesLabels(key);
      if (typeof value === 'number') {
        lines.push(`${definition.name}${labelText(definition.labels, labels)} ${formatNumber(value)}`);
        continue;
      }
      let cumulative = 0;
      value.buckets.forEach((count, i) => {
        cumulative += count;
        lines.push(`${definition.name}_bucket${labelText(definition.labels, labels, `le="${BUCKET_LABELS[i]}"`)} ${cumulative}`);
      });
      lines.push(`${definition.name}_sum${labelText(definition.labels, labels)} ${formatNumber(value.sum)}`);
      lines.push(`${definition.name}_count${labelText(definition.labels, labels)} ${value.count}`);
    }
  }
  return `${lines.join('\n')}\n`;
};

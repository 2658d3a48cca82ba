// Prometheus remote write 1.0: a protobuf WriteRequest, snappy block-compressed.
import protobuf from 'protobufjs';
import snappy from 'snappyjs';
import { samplesOf } from './exposition.js';
import { CATALOGUE, type MetricDefinition } from './metric-catalogue.js';
import type { MetricsSnapshot } from './metric-registry.js';

export const REMOTE_WRITE_HEADERS: Readonly<Record<string, string>> = {
  'content-encoding': 'snappy',
  'content-type': 'application/x-protobuf',
  'x-prometheus-remote-write-version': '0.1.0',
};

export interface TimeSeries {
  /** Sorted by name, `__name__` included, no empty values (the spec's requirements). */
  readonly labels: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly samples: ReadonlyArray<{ readonly value: number; readonly timestamp: number }>;
}

// prometheus/prompb remote.proto and types.proto, the fields remote write 1.0 uses.
const root = protobuf.Root.fromJSON({
  nested: {
    prometheus: {
      nested: {
        WriteRequest: { fields: { timeseries: { rule: 'repeated', type: 'TimeSeries', id: 1 } } },
        TimeSeries: { fields: { labels: { rule: 'repeated', type: 'Label', id: 1 }, samples: { rule: 'repeated', type: 'Sample', id: 2 } } },
        Label: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        Sample: { fields: { value: { type: 'double', id: 1 }, timestamp: { type: 'int64', id: 2 } } },
      },
    },
  },
});
export const WRITE_REQUEST = root.lookupType('prometheus.WriteRequest');

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Every sample of the snapshot as one time series, with the target labels (`job`, `instance`) added. */
export const toTimeSeries = (
  snapshot: MetricsSnapshot,
  target: Readonly<Record<string, string>>,
  timestampMs: number,
  catalogue: readonly MetricDefinition[] = CATALOGUE,
): TimeSeries[] => {
  const series: TimeSeries[] = [];
  const targetLabels = Object.entries(target);
  for (const definition of catalogue) {
    for (const sample of samplesOf(definition, snapshot)) {
      const labels = [['__name__', sample.name] as const, ...targetLabels, ...sample.labels]
        .filter(([, value]) => value !== '')
        .map(([name, value]) => ({ name, value }))
        .sort(byName);
      series.push({ labels, samples: [{ value: sample.value, timestamp: timestampMs }] });
    }
  }
  return series;
};

/** The request body: WriteRequest bytes, snappy block format (not the framed format). */
export const encodeWriteRequest = (timeseries: readonly TimeSeries[]): Uint8Array =>
  snappy.compress(WRITE_REQUEST.encode(WRITE_REQUEST.fromObject({ timeseries })).finish());

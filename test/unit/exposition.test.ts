import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { renderExposition } from '../../functions/observability/exposition.js';
import { CATALOGUE, DURATION_BUCKETS, KNOWN_SERIES, METRICS } from '../../functions/observability/metric-catalogue.js';
import { emptyHistogram, seriesKey, type MetricsSnapshot } from '../../functions/observability/metric-registry.js';

const linesOf = (text: string): string[] => text.split('\n');
const samples = (text: string, name: string): string[] => linesOf(text).filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

const TRICKY = 'a\\b"c\nd';
const TRICKY_ESCAPED = 'a\\\\b\\"c\\nd';

const tricky = (): MetricsSnapshot => {
  const duration = emptyHistogram();
  duration.buckets[0] = 2; // ≤ 1 ms
  duration.buckets[DURATION_BUCKETS.indexOf(0.25)] = 1;
  duration.buckets[DURATION_BUCKETS.length] = 1; // > 10 s
  duration.sum = 12.2015;
  duration.count = 4;
  return {
    [METRICS.secrets.name]: { [seriesKey([TRICKY])]: 3, [seriesKey(['plain'])]: 1 },
    [METRICS.secretReads.name]: { [seriesKey([TRICKY, 'kv'])]: 2 },
    [METRICS.requestDuration.name]: { [seriesKey(['GET', 'secrets'])]: duration },
    [METRICS.kmsErrors.name]: { [seriesKey(['decrypt'])]: 4 },
    [METRICS.buildInfo.name]: { [seriesKey(['1.2.3'])]: 1 },
  };
};

describe('renderExposition', () => {
  it('writes HELP and TYPE once for every catalogue metric, with the catalogue type', () => {
    const text = renderExposition({});
    for (const metric of CATALOGUE) {
      expect(linesOf(text).filter((line) => line.startsWith(`# HELP ${metric.name} `))).toEqual([`# HELP ${metric.name} ${metric.help}`]);
      expect(linesOf(text).filter((line) => line.startsWith(`# TYPE ${metric.name} `))).toEqual([`# TYPE ${metric.name} ${metric.type}`]);
    }
    expect(text.endsWith('\n')).toBe(true);
  });

  it('escapes backslash, double quote and newline in label values', () => {
    const text = renderExposition(tricky());
    expect(samples(text, METRICS.secrets.name)).toEqual([`scaivault_secrets_total{tenant="${TRICKY_ESCAPED}"} 3`, 'scaivault_secrets_total{tenant="plain"} 1']);
    expect(samples(text, METRICS.secretReads.name)).toEqual([`scaivault_secret_reads_total{tenant="${TRICKY_ESCAPED}",secret_type="kv"} 2`]);
    // No raw newline leaks out of a label: every line is a comment or a complete sample.
    for (const line of linesOf(text).filter(Boolean)) expect(line).toMatch(/^(# (HELP|TYPE) \S+ .*|[a-z_]+(\{.*\})? \S+)$/);
  });

  it('renders histograms as cumulative buckets up to le="+Inf" with _sum and _count', () => {
    const text = renderExposition(tricky());
    const name = METRICS.requestDuration.name;
    const buckets = linesOf(text).filter((line) => line.startsWith(`${name}_bucket{`));
    expect(buckets).toHaveLength(DURATION_BUCKETS.length + 1);
    expect(buckets[0]).toBe(`${name}_bucket{method="GET",path_category="secrets",le="0.001"} 2`);
    expect(buckets[DURATION_BUCKETS.indexOf(0.1)]).toBe(`${name}_bucket{method="GET",path_category="secrets",le="0.1"} 2`);
    expect(buckets[DURATION_BUCKETS.indexOf(0.25)]).toBe(`${name}_bucket{method="GET",path_category="secrets",le="0.25"} 3`);
    expect(buckets[DURATION_BUCKETS.length - 1]).toBe(`${name}_bucket{method="GET",path_category="secrets",le="10"} 3`);
    expect(buckets.at(-1)).toBe(`${name}_bucket{method="GET",path_category="secrets",le="+Inf"} 4`);
    const les = buckets.map((line) => /le="([^"]+)"/.exec(line)?.[1]);
    expect(les).toEqual([...DURATION_BUCKETS.map(String), '+Inf']);
    expect(linesOf(text)).toContain(`${name}_sum{method="GET",path_category="secrets"} 12.2015`);
    expect(linesOf(text)).toContain(`${name}_count{method="GET",path_category="secrets"} 4`);
  });

  it('shows every known series at 0 before anything happened, and the real value once it has', () => {
    const empty = renderExposition({});
    for (const [name, labelSets] of Object.entries(KNOWN_SERIES)) {
      expect(samples(empty, name)).toHaveLength(labelSets!.length);
      for (const line of samples(empty, name)) expect(line).toMatch(/ 0$/);
    }
    expect(samples(empty, METRICS.kmsErrors.name)).toEqual([
      'scaivault_kms_errors_total{operation="decrypt"} 0',
      'scaivault_kms_errors_total{operation="encrypt"} 0',
    ]);
    expect(samples(empty, METRICS.rateLimitHits.name)).toContain('scaivault_rate_limit_hits_total{category="auth"} 0');
    expect(samples(renderExposition(tricky()), METRICS.kmsErrors.name)).toEqual([
      'scaivault_kms_errors_total{operation="decrypt"} 4',
      'scaivault_kms_errors_total{operation="encrypt"} 0',
    ]);
  });

  it('defaults label-less fleet series to 0 and leaves labelled series without known values absent', () => {
    const text = renderExposition({});
    expect(samples(text, METRICS.keyCacheHits.name)).toEqual(['scaivault_key_cache_hits_total 0']);
    expect(linesOf(text)).toContain(`${METRICS.dbLatency.name}_bucket{le="+Inf"} 0`);
    expect(linesOf(text)).toContain(`${METRICS.dbLatency.name}_count 0`);
    expect(linesOf(text)).toContain(`${METRICS.webhookDeliveryDuration.name}_sum 0`);
    expect(samples(text, METRICS.secretReads.name)).toEqual([]);
    // State gauges come from the source of truth: no made-up zero.
    expect(samples(text, METRICS.rotationQueueDepth.name)).toEqual([]);
  });

  it('passes promtool check metrics with tricky label values, save the _total gauge name the operator contract fixes', (context) => {
    const which = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
    if (which.status !== 0) {
      context.skip('promtool is not on PATH (Debian package prometheus); the exposition was not linted');
      return;
    }
    const result = spawnSync('promtool', ['check', 'metrics'], { input: renderExposition(tricky()), encoding: 'utf8' });
    const findings = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean);
    expect(findings).toEqual(['scaivault_secrets_total non-counter metrics should not have "_total" suffix']);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDashboardQueries, METRIC_CATALOGUE, metricNamesIn, opsPath } from './support/ops-files.js';

interface Target {
  refId: string;
  expr?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: string }[] };
  panels: Panel[];
}

/** The operator page's "useful panels", in its order. */
const REFERENCE_PANELS = [
  'Request rate and status',
  'P50/P95/P99 latency',
  'Active leases',
  'Rotation queue depth',
  'Certificates expiring in the next 30 days',
  'Webhook success rate (24h)',
  'Top readers',
];

const dashboard = JSON.parse(readFileSync(opsPath('grafana', 'scaivault-overview.json'), 'utf8')) as Dashboard;
const allPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const queryPanels = allPanels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

describe('Grafana dashboard scaivault-overview', () => {
  it('is a current-schema dashboard with a Prometheus data source variable', () => {
    expect(dashboard.uid).toBe('scaivault-overview');
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(38);
    expect(dashboard.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
  });

  it('has the operator page’s seven panels, with its titles, in its order', () => {
    const reference = queryPanels.map((p) => p.title).filter((t) => REFERENCE_PANELS.includes(t));
    expect(reference).toEqual(REFERENCE_PANELS);
    expect(new Set(allPanels.map((p) => p.id)).size).toBe(allPanels.length);
  });

  it('has a second row of extras after the reference panels', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const lastReference = dashboard.panels.findIndex((p) => p.title === 'Top readers');
    const secondRow = dashboard.panels.indexOf(rows[1]!);
    expect(secondRow).toBeGreaterThan(lastReference);
    const extras = dashboard.panels.slice(secondRow + 1).map((p) => p.title);
    expect(extras).toEqual(expect.arrayContaining(['Data-key cache hit ratio', 'Dead-lettered jobs', 'Queue oldest message age', 'Audit seal age']));
  });

  it('points every panel and every query at the ${datasource} variable', () => {
    for (const panel of allPanels) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: '${datasource}' });
      for (const target of panel.targets ?? []) {
        expect(target.datasource, `${panel.title} ${target.refId}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
      }
    }
  });

  it('gives every panel a query, and reads only catalogue series', () => {
    for (const panel of queryPanels) {
      expect((panel.targets ?? []).length, panel.title).toBeGreaterThan(0);
    }
    for (const { panel, expr } of exprs) {
      const names = metricNamesIn(expr);
      expect(names.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(METRIC_CATALOGUE, `${panel} reads ${name}`).toContain(name);
    }
  });

  it('counts top readers per tenant and says so', () => {
    const panel = queryPanels.find((p) => p.title === 'Top readers')!;
    expect(panel.targets?.[0]?.expr).toBe('topk(10, sum by (tenant) (increase(scaivault_secret_reads_total[1h])))');
    expect(panel.description).toMatch(/tenant/i);
  });

  it('splits request rate by status class', () => {
    const panel = queryPanels.find((p) => p.title === 'Request rate and status')!;
    const classes = (panel.targets ?? []).map((t) => /status=~"(\d)\.\."/.exec(t.expr ?? '')?.[1]);
    expect(classes).toEqual(['2', '4', '5']);
  });

  it('only holds PromQL that Prometheus parses', () => {
    const run = checkDashboardQueries(exprs.map(({ expr }) => expr));
    expect(run.status, run.output).toBe(0);
  });
});

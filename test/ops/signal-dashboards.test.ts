import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../functions/observability/metric-catalogue.js';
import { SIGNAL_DASHBOARDS, signalDashboardFiles } from '../../scripts/signal-dashboards.js';
import { checkDashboardQueries, metricNamesIn, opsPath, readYaml } from './support/ops-files.js';

// Every Grafana dashboard in ops/grafana: its queries parse (promtool), and every
// series they read is in the code's catalogue or is a recording rule's output.

interface Panel {
  title: string;
  type: string;
  datasource?: unknown;
  targets?: { expr?: string; datasource?: unknown }[];
  panels?: Panel[];
}

const files = readdirSync(opsPath('grafana')).filter((file) => file.endsWith('.json'));
const dashboards = files.map((file) => ({ file, json: JSON.parse(readFileSync(opsPath('grafana', file), 'utf8')) as { uid: string; panels: Panel[] } }));
const queriesOf = (panels: Panel[]): { panel: string; expr: string }[] =>
  panels.flatMap((panel) => [...(panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr ?? '' })), ...queriesOf(panel.panels ?? [])]);
const recorded = new Set(
  readYaml<{ groups: { rules: { record?: string }[] }[] }>(opsPath('prometheus', 'recording-rules.yml')).groups.flatMap((group) =>
    group.rules.flatMap((rule) => (rule.record ? [rule.record] : [])),
  ),
);
const catalogued = new Set(CATALOGUE.map((metric) => metric.name));

describe('Grafana dashboards', () => {
  it('include the security, audit-integrity and system-overview dashboards, as scripts/signal-dashboards.ts writes them', () => {
    for (const [uid] of SIGNAL_DASHBOARDS) expect(files).toContain(`${uid}.json`);
    for (const [file, text] of signalDashboardFiles())
      expect(readFileSync(opsPath('grafana', file), 'utf8'), `${file}: run npx tsx scripts/signal-dashboards.ts`).toBe(text);
    for (const { json } of dashboards) expect(json.panels.length).toBeGreaterThan(0);
  });

  it.each(files)('%s reads only catalogued series and recording rules', (file) => {
    const { json } = dashboards.find((dashboard) => dashboard.file === file)!;
    for (const { panel, expr } of queriesOf(json.panels)) {
      const names = metricNamesIn(expr);
      const rules = [...expr.matchAll(/[a-z_]+:[a-z_]+:[a-z0-9_]+/g)].map((match) => match[0]);
      expect(names.length + rules.length, `${panel}: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(catalogued.has(name), `${file} "${panel}" reads ${name}`).toBe(true);
      for (const rule of rules) expect(recorded.has(rule), `${file} "${panel}" reads recording rule ${rule}`).toBe(true);
    }
  });

  it('hold only PromQL that Prometheus parses', () => {
    const run = checkDashboardQueries(dashboards.flatMap(({ json }) => queriesOf(json.panels).map(({ expr }) => expr)));
    expect(run.status, run.output).toBe(0);
  });
});

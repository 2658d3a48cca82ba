import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUE } from '../../functions/observability/metric-catalogue.js';
import { opsPath, readYaml, REPO_ROOT } from './support/ops-files.js';

// docs/reference-mapping.md checked against the code and the rule files: what it
// says exists does, and everything that exists is in it. Expectations come from
// the catalogue and the rule files, so a new series or alert needs only its line.

interface Row {
  readonly section: string;
  readonly reference: string;
  readonly scaivault: string;
  readonly how: string;
}

const HOWS = ['same name', 'mapped to', 'planned (issue', 'not applicable'] as const;

const rowsOf = (markdown: string): Row[] => {
  let section = '';
  const rows: Row[] = [];
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) section = line.slice(3);
    if (!line.startsWith('| ') || line.startsWith('| Reference |')) continue;
    // Cells split on pipes not escaped as `\|`.
    const cells = line.slice(2, -2).split(/(?<!\\) \| /);
    expect(cells, line).toHaveLength(4);
    rows.push({ section, reference: cells[0]!, scaivault: cells[2]!, how: cells[3]! });
  }
  return rows;
};

const RULE_NAME = /\b[a-z_]+:scaivault_[a-z0-9_]+:[a-z0-9_]+\b/g;
const seriesIn = (text: string): string[] => [...text.replace(RULE_NAME, '').matchAll(/(?<![\w:])scaivault_[a-z0-9_]+/g)].map((m) => m[0]);
const rulesIn = (text: string): string[] => [...text.matchAll(RULE_NAME)].map((m) => m[0]);
const alertsIn = (text: string): string[] => [...text.matchAll(/\bScaiVault[A-Z][A-Za-z]+\b/g)].map((m) => m[0]);

type RuleFile = { groups: { rules: { alert?: string; record?: string }[] }[] };
const rulesOf = (file: string) => readYaml<RuleFile>(opsPath('prometheus', file)).groups.flatMap((group) => group.rules);
const ALERTS = new Set(rulesOf('alerts.yml').flatMap((rule) => (rule.alert ? [rule.alert] : [])));
const RECORDS = new Set(rulesOf('recording-rules.yml').flatMap((rule) => (rule.record ? [rule.record] : [])));
const SERIES = new Set(CATALOGUE.map((metric) => metric.name));

const rows = rowsOf(readFileSync(resolve(REPO_ROOT, 'docs/reference-mapping.md'), 'utf8'));
const claimed = rows.filter((row) => row.how.startsWith('same name') || row.how.startsWith('mapped to'));

describe('docs/reference-mapping.md', () => {
  it('has a table for each reference document, every row saying how', () => {
    for (const reference of ['000', '001', '002', '003', '004'])
      expect(
        rows.some((row) => row.section.startsWith(reference)),
        reference,
      ).toBe(true);
    for (const row of rows)
      expect(
        HOWS.some((how) => row.how.startsWith(how)),
        `${row.reference}: ${row.how}`,
      ).toBe(true);
  });

  it('names only series, recording rules and alerts that exist where it says same name or mapped to', () => {
    for (const row of claimed) {
      for (const name of seriesIn(row.scaivault)) expect(SERIES.has(name), `${row.reference} → ${name}`).toBe(true);
      for (const name of rulesIn(row.scaivault)) expect(RECORDS.has(name), `${row.reference} → ${name}`).toBe(true);
      for (const name of alertsIn(row.scaivault)) expect(ALERTS.has(name), `${row.reference} → ${name}`).toBe(true);
    }
  });

  it('says same name only where the reference uses the very name', () => {
    for (const row of claimed.filter((r) => r.how.startsWith('same name'))) {
      for (const name of [...seriesIn(row.reference), ...alertsIn(row.reference)]) expect(row.scaivault, row.reference).toContain(name);
    }
  });

  it('maps every catalogued series and every alert', () => {
    const mapped = claimed.map((row) => row.scaivault).join('\n');
    for (const name of SERIES) expect(seriesIn(mapped), name).toContain(name);
    for (const name of ALERTS) expect(alertsIn(mapped), name).toContain(name);
  });

  it('keeps planned rows to what is not built yet (a merged series moves to mapped to)', () => {
    for (const row of rows.filter((r) => r.how.startsWith('planned'))) {
      for (const name of seriesIn(row.scaivault)) expect(SERIES.has(name), `${name} exists: say mapped to`).toBe(false);
    }
  });
});

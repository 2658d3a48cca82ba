import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { METRIC_CATALOGUE, REFERENCE_ALERTS, metricNamesIn, opsPath, promtool, readYaml } from './support/ops-files.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: Rule[] }[];
}
interface RuleTestFile {
  rule_files: string[];
  tests: {
    alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[];
    promql_expr_test?: { expr: string }[];
  }[];
}
interface PrometheusConfig {
  rule_files: string[];
  scrape_configs: {
    job_name: string;
    metrics_path?: string;
    authorization?: { type?: string; credentials?: string; credentials_file?: string };
    bearer_token?: string;
  }[];
}

const ALERTS = opsPath('prometheus', 'alerts.yml');
const RECORDING = opsPath('prometheus', 'recording-rules.yml');
const TESTS_DIR = opsPath('prometheus', 'tests');
const TEST_FILES = readdirSync(TESTS_DIR)
  .filter((f) => f.endsWith('.yml'))
  .sort();

const alertRules = (): Rule[] => readYaml<RuleFile>(ALERTS).groups.flatMap((g) => g.rules);
const recordingRules = (): Rule[] => readYaml<RuleFile>(RECORDING).groups.flatMap((g) => g.rules);
const ruleTests = () => TEST_FILES.flatMap((f) => readYaml<RuleTestFile>(join(TESTS_DIR, f)).tests);

describe('promtool', () => {
  it('accepts both rule files with every lint enabled', () => {
    const run = promtool(['check', 'rules', '--lint=all', '--lint-fatal', ALERTS, RECORDING]);
    expect(run.status, run.output).toBe(0);
  });

  it('finds the rule unit tests', () => {
    expect(TEST_FILES.length).toBeGreaterThanOrEqual(3);
  });

  it.each(TEST_FILES)('passes the rule unit tests in %s', (file) => {
    const run = promtool(['test', 'rules', join(TESTS_DIR, file)]);
    expect(run.status, run.output).toBe(0);
  });
});

describe('alert rules', () => {
  it('carry the operator page’s seven alerts, by name, in group scaivault-reference', () => {
    const groups = readYaml<RuleFile>(ALERTS).groups;
    const reference = groups.find((g) => g.name === 'scaivault-reference');
    expect(reference?.rules.map((r) => r.alert)).toEqual(REFERENCE_ALERTS);
    expect(groups.map((g) => g.name)).toEqual(['scaivault-reference', 'scaivault-jobs-and-audit', 'scaivault-acme', 'scaivault-pki']);
  });

  it('have unique names, a severity and the annotations an on-call needs', () => {
    const rules = alertRules();
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    const runbooks = readFileSync(opsPath('runbooks.md'), 'utf8');
    for (const rule of rules) {
      expect(['warning', 'critical'], rule.alert).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
      expect(rule.annotations?.description, rule.alert).toBeTruthy();
      expect(rule.annotations?.runbook_url, rule.alert).toBe(`ops/runbooks.md#${rule.alert!.toLowerCase()}`);
      expect(runbooks, `runbook section for ${rule.alert}`).toContain(`## ${rule.alert}\n`);
    }
  });

  it('each have a unit test where they fire and one where they must not', () => {
    const cases = ruleTests().flatMap((t) => t.alert_rule_test ?? []);
    for (const rule of alertRules()) {
      const mine = cases.filter((c) => c.alertname === rule.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${rule.alert} fires somewhere`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${rule.alert} stays silent somewhere`,
      ).toBe(true);
    }
  });

  it('read only catalogue series (and up)', () => {
    for (const rule of [...alertRules(), ...recordingRules()]) {
      for (const name of metricNamesIn(rule.expr)) {
        expect(METRIC_CATALOGUE, `${rule.alert ?? rule.record} reads ${name}`).toContain(name);
      }
    }
    expect(alertRules().find((r) => r.alert === 'ScaiVaultNotReady')?.expr).toContain('up{job="scaivault"}');
  });

  it('never take a quantile over unaggregated buckets', () => {
    for (const rule of [...alertRules(), ...recordingRules()]) {
      if (!rule.expr.includes('histogram_quantile')) continue;
      expect(rule.expr.replace(/\s+/g, ' '), rule.alert ?? rule.record).toMatch(/histogram_quantile\([\d.]+, sum by \(le[,)]/);
    }
  });
});

describe('recording rules', () => {
  it('aggregate rate-limit bucket fill by category, as the operator page asks', () => {
    const byName = new Map(recordingRules().map((r) => [r.record, r.expr]));
    expect(byName.get('category:scaivault_rate_limit_bucket_fill:min')).toMatch(/by \(category\)/);
    expect(byName.get('path_category:scaivault_request_duration_seconds:p95_5m')).toMatch(/sum by \(le, path_category\)/);
  });

  it('are unit-tested (at least the ratio, quantile and bucket-fill rules)', () => {
    const tested = new Set(ruleTests().flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr.trim())));
    const records = recordingRules().map((r) => r.record!);
    expect(records.filter((r) => tested.has(r)).length).toBeGreaterThanOrEqual(2);
    for (const required of [
      'path_category:scaivault_requests_errors:ratio_rate5m',
      'path_category:scaivault_request_duration_seconds:p95_5m',
      'category:scaivault_rate_limit_bucket_fill:min',
    ]) {
      expect(tested, required).toContain(required);
    }
  });
});

describe('example prometheus.yml', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('scrapes /v1/metrics as job scaivault with the token read from a file', () => {
    const config = readYaml<PrometheusConfig>(opsPath('prometheus', 'prometheus.yml'));
    const job = config.scrape_configs.find((s) => s.job_name === 'scaivault');
    expect(job?.metrics_path).toBe('/v1/metrics');
    expect(job?.authorization?.credentials_file).toBeTruthy();
    expect(job?.authorization?.credentials).toBeUndefined();
    expect(job?.bearer_token).toBeUndefined();
    expect(config.rule_files).toEqual(['alerts.yml', 'recording-rules.yml']);
  });

  it('passes promtool check config, rule files included', () => {
    // The token file is deliberately absent from the repo: check a copy with a placeholder beside it.
    const dir = mkdtempSync(join(tmpdir(), 'scaivault-prom-'));
    dirs.push(dir);
    for (const file of ['prometheus.yml', 'alerts.yml', 'recording-rules.yml']) {
      copyFileSync(opsPath('prometheus', file), join(dir, file));
    }
    const config = readYaml<PrometheusConfig>(join(dir, 'prometheus.yml'));
    const tokenFile = join(dir, config.scrape_configs[0]!.authorization!.credentials_file!);
    mkdirSync(join(tokenFile, '..'), { recursive: true });
    writeFileSync(tokenFile, 'placeholder-token\n');
    chmodSync(tokenFile, 0o600);

    const run = promtool(['check', 'config', '--lint=all', '--lint-fatal', join(dir, 'prometheus.yml')]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS: 2 rule files found');
  });
});

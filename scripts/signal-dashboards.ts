// Writes ops/grafana's security, audit-integrity and system-overview dashboards
// from the panel lists below: `npx tsx scripts/signal-dashboards.ts`.
// test/ops/signal-dashboards.test.ts checks every query parses and reads only catalogued series.
import { writeFileSync } from 'node:fs';

interface PanelSpec {
  readonly title: string;
  readonly description: string;
  readonly type?: 'timeseries' | 'stat' | 'table';
  readonly unit?: string;
  readonly exprs: readonly (readonly [expr: string, legend: string])[];
  /** Horizontal lines, e.g. the KPI thresholds of reference 004. */
  readonly thresholds?: readonly (readonly [value: number, color: string])[];
  readonly width?: number;
}

const datasource = { type: 'prometheus', uid: '${datasource}' };

const panel = (spec: PanelSpec, id: number, x: number, y: number) => ({
  id,
  type: spec.type ?? 'timeseries',
  title: spec.title,
  description: spec.description,
  datasource,
  gridPos: { h: 8, w: spec.width ?? 12, x, y },
  targets: spec.exprs.map(([expr, legend], i) => ({ datasource, refId: String.fromCharCode(65 + i), expr, legendFormat: legend, range: true, instant: false })),
  fieldConfig: {
    defaults: {
      unit: spec.unit ?? 'short',
      ...(spec.thresholds
        ? {
            thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...spec.thresholds.map(([value, color]) => ({ color, value }))] },
            custom: { thresholdsStyle: { mode: 'line' } },
          }
        : {}),
    },
    overrides: [],
  },
  options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
});

const dashboard = (uid: string, title: string, description: string, panels: readonly PanelSpec[]) => {
  let x = 0;
  let y = 0;
  return {
    title,
    uid,
    description,
    tags: ['scaivault'],
    editable: true,
    graphTooltip: 1,
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          options: [],
          refresh: 1,
          regex: '',
          skipUrlSync: false,
        },
      ],
    },
    annotations: { list: [] },
    links: [],
    panels: panels.map((spec, i) => {
      const width = spec.width ?? 12;
      if (x + width > 24) {
        x = 0;
        y += 8;
      }
      const placed = panel(spec, i + 1, x, y);
      x += width;
      return placed;
    }),
  };
};

const rate = (expr: string) => `sum(rate(${expr}[$__rate_interval]))`;

export const SECURITY: readonly PanelSpec[] = [
  {
    title: '401 and 403 rates',
    description: 'Requests refused for a missing or bad token (401) and for a policy that does not allow them (403), per second.',
    unit: 'reqps',
    exprs: [
      [rate('scaivault_requests_total{status="401"}'), '401 unauthenticated'],
      [rate('scaivault_requests_total{status="403"}'), '403 forbidden'],
    ],
  },
  {
    title: 'Policy violations',
    description: "Audit events refused by policy (outcome denied), by event type: reference 000's policy_violation signal.",
    unit: 'ops',
    exprs: [['sum by (event_type) (rate(scaivault_audit_events_total{outcome="denied"}[$__rate_interval]))', '{{event_type}}']],
  },
  {
    title: 'Detections',
    description:
      'Audit-driven detections raised by the sealer (policy-violation spikes, dormant secret reads, new readers of sensitive paths) in the last hour.',
    exprs: [['sum by (detection) (increase(scaivault_audit_detections_total[1h]))', '{{detection}}']],
  },
  {
    title: 'Audit event rate by type',
    description: 'Audit events written per second, by event type.',
    unit: 'ops',
    exprs: [['sum by (event_type) (rate(scaivault_audit_events_total[$__rate_interval]))', '{{event_type}}']],
  },
  {
    title: 'Tokens expiring soon',
    description: 'Tokens that expire within the hour and within a day (from the expiry index): renew or replace them.',
    exprs: [['max by (within) (scaivault_tokens_expiring_soon)', 'within {{within}}']],
  },
  {
    title: 'Rate-limit refusals',
    description: '429s by rate-limit category: token guessing spends the auth bucket.',
    unit: 'reqps',
    exprs: [['sum by (category) (rate(scaivault_rate_limit_hits_total[$__rate_interval]))', '{{category}}']],
  },
];

export const AUDIT_INTEGRITY: readonly PanelSpec[] = [
  {
    title: 'Seal age',
    description: 'Seconds since the sealer last anchored a block; ScaiVaultAuditSealDelayed fires past 15 minutes.',
    unit: 's',
    exprs: [['time() - max(scaivault_audit_last_seal_timestamp_seconds > 0)', 'seal age']],
    thresholds: [
      [900, 'orange'],
      [3600, 'red'],
    ],
  },
  {
    title: 'Events unsealed',
    description: 'Audit events stored after the head block: not tamper-evident yet. Grows while sealing or anchoring fails.',
    exprs: [['max(scaivault_audit_events_unsealed)', 'unsealed']],
  },
  {
    title: 'Chain head block',
    description: "The chain's newest block: it advances every scheduler run (an empty block when nothing happened).",
    exprs: [['max(scaivault_audit_chain_head_block)', 'head block']],
  },
  {
    title: 'Anchor successes vs failures',
    description: 'Seal runs by result, and anchors refused by the audit bucket by error class (ScaiVaultAuditAnchorFailure).',
    exprs: [
      ['sum by (result) (increase(scaivault_audit_seals_total[$__rate_interval]))', 'seals {{result}}'],
      ['sum by (reason) (increase(scaivault_audit_anchor_failures_total[$__rate_interval]))', 'anchor failures {{reason}}'],
    ],
  },
  {
    title: 'Divergence',
    description: '1 when verification found a block that no longer matches its anchor: treat as a security incident.',
    exprs: [['max(scaivault_audit_chain_divergence)', 'divergence']],
    thresholds: [[1, 'red']],
  },
  {
    title: 'Seal duration p95',
    description: 'Time one sealer run takes; it must stay well inside the scheduler timeout.',
    unit: 's',
    exprs: [['histogram_quantile(0.95, sum by (le) (rate(scaivault_audit_seal_duration_seconds_bucket[$__rate_interval])))', 'p95']],
  },
  {
    title: 'Audit write failures and syslog drops',
    description: 'Events refused by the audit table (fail-closed 503s) and copies the syslog buffer dropped.',
    exprs: [
      ['sum(increase(scaivault_audit_write_failures_total[$__rate_interval]))', 'write failures'],
      ['sum(increase(scaivault_audit_syslog_dropped_total[$__rate_interval]))', 'syslog dropped'],
    ],
  },
];

export const SYSTEM_OVERVIEW: readonly PanelSpec[] = [
  {
    title: 'Ready',
    description: '1 when every readiness dependency answered its last check.',
    type: 'stat',
    exprs: [['min(scaivault_ready)', 'ready']],
    width: 6,
  },
  {
    title: 'Dependencies up',
    description: "Each readiness dependency's last check.",
    exprs: [['min by (dependency) (scaivault_dependency_up)', '{{dependency}}']],
    width: 18,
  },
  {
    title: 'Publish heartbeat',
    description: 'Seconds since the fleet metrics were last remote-written (pushed mode); ScaiVaultMetricsPublishFailing fires past 5 minutes.',
    unit: 's',
    exprs: [['time() - max(scaivault_metrics_last_publish_timestamp_seconds)', 'since last push']],
    thresholds: [[300, 'red']],
  },
  {
    title: 'Queue depths',
    description: 'Job backlog per queue (waiting, in flight and delayed) and the age of its oldest unfinished job.',
    exprs: [
      ['max by (type) (scaivault_jobs_queue_depth)', 'depth {{type}}'],
      ['max by (type) (scaivault_jobs_oldest_age_seconds)', 'oldest age (s) {{type}}'],
    ],
  },
  {
    title: 'Error rate',
    description: 'Share of requests answered with a 5xx; reference 004 targets < 0.1 % and calls > 1 % critical.',
    unit: 'percentunit',
    exprs: [[`${rate('scaivault_requests_total{status=~"5.."}')} / ${rate('scaivault_requests_total')}`, '5xx share']],
    thresholds: [
      [0.001, 'orange'],
      [0.01, 'red'],
    ],
  },
  {
    title: 'P95 latency against the KPI',
    description: 'API response time p95 against reference 004: target < 200 ms, critical > 500 ms.',
    unit: 's',
    exprs: [['histogram_quantile(0.95, sum by (le) (rate(scaivault_request_duration_seconds_bucket[$__rate_interval])))', 'p95']],
    thresholds: [
      [0.2, 'orange'],
      [0.5, 'red'],
    ],
  },
  {
    title: 'Jobs by result',
    description: 'Jobs finished per queue and result, and retries.',
    exprs: [
      ['sum by (type, result) (increase(scaivault_jobs_completed_total[$__rate_interval]))', '{{type}} {{result}}'],
      ['sum by (type) (increase(scaivault_jobs_retry_total[$__rate_interval]))', '{{type}} retry'],
    ],
  },
  {
    title: 'Requests in flight',
    description: "Mean requests being answered, by Little's law (request-seconds per second): meaningful on a Lambda fleet, unlike a sampled in-flight gauge.",
    exprs: [['sum by (path_category) (path_category:scaivault_requests_in_flight:avg1m)', '{{path_category}}']],
  },
];

export const SIGNAL_DASHBOARDS = [
  ['scaivault-security', 'ScaiVault security', 'Authentication failures, policy violations, detections, audit event rate and token expiry.', SECURITY],
  ['scaivault-audit-integrity', 'ScaiVault audit integrity', 'Sealing, anchoring and verification of the tamper-evident audit chain.', AUDIT_INTEGRITY],
  [
    'scaivault-system-overview',
    'ScaiVault system overview',
    'Readiness, dependencies, metrics push, queues, errors and latency against the KPIs of reference 004.',
    SYSTEM_OVERVIEW,
  ],
] as const;

/** Each dashboard's file name and JSON text, as committed in ops/grafana. */
export const signalDashboardFiles = (): [file: string, text: string][] =>
  SIGNAL_DASHBOARDS.map(([uid, title, description, panels]) => [`${uid}.json`, `${JSON.stringify(dashboard(uid, title, description, panels), null, 2)}\n`]);

if (process.argv[1]?.endsWith('signal-dashboards.ts')) {
  for (const [file, text] of signalDashboardFiles()) writeFileSync(new URL(`../ops/grafana/${file}`, import.meta.url), text);
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const opsPath = (...parts: string[]): string => resolve(REPO_ROOT, 'ops', ...parts);

export const readYaml = <T = unknown>(path: string): T => parse(readFileSync(path, 'utf8')) as T;

/**
 * Every series /v1/metrics exports (functions/observability's catalogue), kept
 * here by hand on purpose: ops artifacts are the operator contract, and a
 * rename in code must show up as a failing test here, not silently follow.
 */
export const METRIC_CATALOGUE: readonly string[] = [
  'scaivault_requests_total',
  'scaivault_request_duration_seconds',
  'scaivault_active_requests',
  'scaivault_rate_limit_hits_total',
  'scaivault_rate_limit_bucket_fill',
  'scaivault_secrets_total',
  'scaivault_secret_reads_total',
  'scaivault_secret_writes_total',
  'scaivault_secret_rotations_total',
  'scaivault_certificates_active',
  'scaivault_certificates_expiring_soon',
  'scaivault_acme_orders_total',
  'scaivault_leases_active',
  'scaivault_leases_generated_total',
  'scaivault_engine_health',
  'scaivault_leases_irrevocable',
  'scaivault_lease_revocations_total',
  'scaivault_lease_oldest_age_seconds',
  'scaivault_external_request_duration_seconds',
  'scaivault_db_latency_seconds',
  'scaivault_kms_latency_seconds',
  'scaivault_db_pool_size',
  'scaivault_db_pool_available',
  'scaivault_rotation_queue_depth',
  'scaivault_webhook_queue_depth',
  'scaivault_rotation_queue_oldest_age_seconds',
  'scaivault_webhook_queue_oldest_age_seconds',
  'scaivault_webhook_delivery_duration_seconds',
  'scaivault_webhook_deliveries_total',
  'scaivault_jobs_dead_letter_total',
  'scaivault_key_cache_hits_total',
  'scaivault_key_cache_misses_total',
  'scaivault_key_cache_entries',
  'scaivault_kms_errors_total',
  'scaivault_audit_last_seal_timestamp_seconds',
  'scaivault_audit_chain_divergence',
  'scaivault_audit_events_total',
  'scaivault_audit_write_failures_total',
  'scaivault_audit_detections_total',
  'scaivault_audit_syslog_dropped_total',
  'scaivault_ready',
  'scaivault_dependency_up',
  'scaivault_dependency_check_duration_seconds',
  'scaivault_metrics_publish_failures_total',
  'scaivault_metrics_last_publish_timestamp_seconds',
  'scaivault_build_info',
  'scaivault_key_rotation_active',
  'scaivault_key_rotation_progress_ratio',
  'scaivault_sealed_items',
  'scaivault_key_wraps_total',
  'scaivault_key_unwraps_total',
  'scaivault_ca_expiry_timestamp_seconds',
  'scaivault_certificates_issued_total',
  'scaivault_certificates_revoked_total',
  'scaivault_crl_last_update_timestamp_seconds',
  'scaivault_certificate_expiry_timestamp_seconds',
  'scaivault_jobs_queued_total',
  'scaivault_jobs_completed_total',
  'scaivault_jobs_retry_total',
  'scaivault_jobs_duration_seconds',
  'scaivault_jobs_queue_depth',
  'scaivault_jobs_oldest_age_seconds',
  'scaivault_audit_seals_total',
  'scaivault_audit_anchor_failures_total',
  'scaivault_audit_seal_duration_seconds',
  'scaivault_audit_events_unsealed',
  'scaivault_audit_chain_head_block',
  'scaivault_tokens_expiring_soon',
  'scaivault_db_backup_total',
  'scaivault_db_backup_failed_total',
  'scaivault_db_backup_duration_seconds',
  'scaivault_db_backup_size_bytes',
  'scaivault_db_backup_last_success_timestamp_seconds',
  'scaivault_restore_drill_last_success_timestamp_seconds',
  'scaivault_restore_drill_check',
  'scaivault_restore_drills_total',
  'scaivault_notification_deliveries_total',
];

/** The seven alerts of the operator page, in its order, under its names. */
export const REFERENCE_ALERTS: readonly string[] = [
  'ScaiVaultHighLatency',
  'ScaiVaultErrorRate',
  'ScaiVaultKMSFailing',
  'ScaiVaultNotReady',
  'ScaiVaultCertsExpiringSoon',
  'ScaiVaultRotationQueueDeep',
  'ScaiVaultWebhookDeliveryFailing',
];

/**
 * `scaivault_*` series names an expression reads, histogram suffixes removed.
 * A name right after `:` is part of a recording rule's name, not a raw series.
 */
export const metricNamesIn = (expr: string): string[] =>
  [...expr.matchAll(/(?<![\w:])scaivault_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

export interface PromtoolResult {
  readonly status: number | null;
  readonly output: string;
}

export const promtool = (args: readonly string[], cwd = REPO_ROOT): PromtoolResult => {
  // A hang ends, but well inside the test timeout (60 s): the largest rule test file takes 9 s alone and twice that on a busy machine.
  const run = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 50_000 });
  if (run.error) {
    const hint =
      (run.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'it was still running after 50 s' : 'install it with: bash scripts/ensure-test-deps.sh';
    throw new Error(`promtool ${args.join(' ')} could not run (${run.error.message}); ${hint}`);
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
};

/**
 * Whether Prometheus parses each dashboard query: Grafana's range variables
 * become durations, each query a recording rule in a throwaway file, and
 * `promtool check rules` reads it.
 */
export const checkDashboardQueries = (exprs: readonly string[]): PromtoolResult => {
  const rules = exprs.map((expr, i) => ({
    record: `grafana:query_${i}`,
    expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h'),
  }));
  const dir = mkdtempSync(join(tmpdir(), 'scaivault-dashboard-queries-'));
  try {
    const file = join(dir, 'dashboard-queries.yml');
    writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
    return promtool(['check', 'rules', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

// The series a busy api instance holds, from the catalogue: every route category,
// method and status class, every histogram, capped labels at the label cap.
import { CATALOGUE, type MetricDefinition } from '../functions/observability/metric-catalogue.js';
import { MetricRegistry } from '../functions/observability/metric-registry.js';

const PATH_CATEGORIES = ['admin', 'audit', 'auth', 'health', 'identities', 'jobs', 'metrics', 'openapi', 'policies', 'secrets', 'tenants', 'webhooks'];
const METHODS = ['GET', 'PUT', 'POST', 'DELETE'];
const STATUSES = ['200', '201', '204', '400', '401', '403', '404', '409', '412', '429', '503'];

/** Realistic values per label; capped labels (identity, tenant) fill the cap. */
const valuesOf = (label: string, labelCap: number): readonly string[] => {
  const many = (prefix: string) => Array.from({ length: labelCap }, (_, i) => `${prefix}-${i}`);
  const table: Record<string, readonly string[]> = {
    method: METHODS,
    path_category: PATH_CATEGORIES,
    status: STATUSES,
    category: ['read', 'write', 'list', 'admin', 'auth'],
    identity: many('svc'),
    tenant: many('tenant'),
    secret_type: ['generic', 'password', 'api_key', 'database', 'certificate'],
    operation: ['encrypt', 'decrypt', 'generate_data_key'],
    provider: ['letsencrypt', 'pebble'],
    engine: ['postgres'],
    role: ['readonly', 'readwrite'],
    queue: ['rotation', 'webhook', 'audit-export'],
    outcome: ['success', 'failure', 'denied'],
    detection: ['policy_violation_spike', 'dormant_secret_read', 'new_identity_sensitive_read'],
    dependency: ['dynamodb', 'kms', 'sqs', 's3'],
  };
  return table[label] ?? ['success', 'failed'];
};

const combinations = (lists: readonly (readonly string[])[]): string[][] =>
  lists.reduce<string[][]>((acc, values) => acc.flatMap((prefix) => values.map((value) => [...prefix, value])), [[]]);

const record = (registry: MetricRegistry, definition: MetricDefinition, labels: readonly string[], seed: number): void => {
  if (definition.type === 'histogram') {
    for (let i = 0; i < 4; i += 1) registry.observe(definition, labels, ((seed + i * 37) % 500) / 1000);
  } else if (definition.type === 'counter') registry.inc(definition, labels, 1 + (seed % 97));
  else registry.set(definition, labels, seed % 13);
};

/** A registry holding every non-state series a busy instance would, with varied values. */
export const busyRegistry = (labelCap: number, seed = 1): MetricRegistry => {
  const registry = new MetricRegistry();
  for (const definition of CATALOGUE) {
    if (definition.source === 'state') continue;
    const labelSets = combinations(definition.labels.map((label) => valuesOf(label, labelCap)));
    // Only status codes a route category really answers: drop half the (method, category, status) combinations.
    labelSets.forEach((labels, i) => {
      if (definition.labels.includes('status') && definition.labels.includes('method') && (i * 7919 + seed) % 2 === 0) return;
      record(registry, definition, labels, seed * 31 + i);
    });
  }
  return registry;
};

/** Counts the series in a registry's snapshot. */
export const seriesCount = (registry: MetricRegistry): number =>
  Object.values(registry.snapshot()).reduce((sum, series) => sum + Object.keys(series).length, 0);

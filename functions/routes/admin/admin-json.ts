// The admin routes' answers, and the features the status reports.
import * as z from 'zod/mini';
import type { VaultConfig } from '../../config.js';
import type { KeyCacheStats } from '../../domain/crypto/data-key-cache.js';
import { keyCacheJson } from '../health/health-json.js';
import { keyCacheSchema } from '../health/health-schemas.js';
import { timestamp } from '../schemas.js';

const FEATURES = ['secrets', 'tenants', 'rate_limiting', 'rotation', 'webhooks', 'audit', 'pki', 'leases'] as const;
export type Features = Readonly<Record<(typeof FEATURES)[number], boolean>>;

/** What the api can do, read off the route groups it was composed with: a group not wired is a feature not offered. */
export const featuresOf = (groups: readonly { name: string; routes: readonly { rateLimit: unknown }[] }[]): Features => {
  const wired = (name: string) => groups.some((group) => group.name === name && group.routes.length > 0);
  return {
    secrets: wired('secrets'),
    tenants: wired('tenants-and-identities'),
    rate_limiting: groups.some((group) => group.routes.some((route) => route.rateLimit !== null)),
    rotation: wired('rotation'),
    webhooks: wired('webhooks'),
    audit: wired('audit'),
    pki: wired('pki'),
    leases: wired('leases'),
  };
};

export const statusSchema = z
  .strictObject({
    version: z.string(),
    timestamp,
    last_check: timestamp.check(z.meta({ description: 'When this answer ran its readiness checks' })),
    success_rate: z
      .nullable(z.number())
      .check(z.meta({ description: "Share of this instance's requests over the last interval not answered with a 5xx (0..1); null without requests" })),
    avg_response_time_ms: z.nullable(z.number()).check(z.meta({ description: "Mean response time of this instance's requests over the last interval" })),
    requests: z.strictObject({
      interval_seconds: z.number(),
      total: z.int(),
      scope: z
        .literal('instance')
        .check(z.meta({ description: 'One Lambda instance (the whole process when embedded); fleet-wide rates come from /v1/metrics' })),
    }),
    status: z.enum(['healthy', 'degraded']),
    key_provider: z.strictObject({ provider: z.string(), key_id: z.optional(z.string()), state: z.string() }),
    features: z.strictObject(Object.fromEntries(FEATURES.map((name) => [name, z.boolean()])) as Record<(typeof FEATURES)[number], z.ZodMiniBoolean>),
    telemetry: z.strictObject({ prometheus: z.boolean(), tracing: z.boolean(), cloudwatch_emf: z.boolean() }),
    health: z.record(z.string(), z.enum(['up', 'down'])),
    cache: z.extend(keyCacheSchema, { hit_ratio: z.nullable(z.number()) }),
    rate_limits: z.record(z.string(), z.strictObject({ capacity: z.number(), refill_per_second: z.number() })),
    monitoring: z.strictObject({ metrics: z.string(), readiness: z.string(), liveness: z.string() }),
  })
  .check(z.meta({ id: 'AdminStatus' }));

export const syslogTestSchema = z.strictObject({
  delivered: z.boolean(),
  transport: z.enum(['udp', 'tcp', 'tls']),
  target: z.string(),
  buffered: z.int().check(z.meta({ description: 'Messages still waiting for the relay after the test' })),
  message_type: z.literal('syslog.test'),
});

export const cacheClearedSchema = z.strictObject({ cleared_entries: z.int(), cache: keyCacheSchema });

export const cacheJson = (stats: KeyCacheStats): z.infer<typeof statusSchema>['cache'] => {
  const lookups = stats.hits + stats.misses;
  return { ...keyCacheJson(stats), hit_ratio: lookups === 0 ? null : Math.round((stats.hits / lookups) * 10_000) / 10_000 };
};

export const rateLimitsJson = (limits: VaultConfig['rateLimits']): z.infer<typeof statusSchema>['rate_limits'] =>
  Object.fromEntries(Object.entries(limits).map(([category, rule]) => [category, { capacity: rule.capacity, refill_per_second: rule.refillPerSecond }]));

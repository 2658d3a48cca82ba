// Secrets on the wire: snake_case JSON and the schemas that describe it.
import * as z from 'zod/mini';
import type { SecretSummary, SecretValue, VersionSummary } from '../../domain/secrets/secret-service.js';
import { nextCursor, nullableTimestamp, timestamp } from '../schemas.js';

const metadata = z.record(z.string(), z.string());

export const secretSummarySchema = z
  .strictObject({
    path: z.string(),
    type: z.string(),
    current_version: z.int(),
    metadata,
    created_at: timestamp,
    updated_at: timestamp,
    deleted_at: nullableTimestamp,
    rotation: z.nullable(
      z.strictObject({
        interval_days: z.int(),
        rotator: z.string(),
        options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
      }),
    ),
  })
  .check(z.meta({ id: 'SecretSummary' }));

export const secretListSchema = z.strictObject({ secrets: z.array(secretSummarySchema), next_cursor: nextCursor });

export const secretWrittenSchema = z.strictObject({ path: z.string(), version: z.int(), created_at: timestamp });

export const secretValueSchema = z.strictObject({
  path: z.string(),
  version: z.int(),
  current_version: z.int(),
  type: z.string(),
  value: z.string(),
  metadata,
  created_at: timestamp,
});

export const secretVersionsSchema = z.strictObject({
  path: z.string(),
  versions: z.array(z.strictObject({ version: z.int(), created_at: timestamp, created_by: z.string(), current: z.boolean() })),
});

export const secretSummaryJson = (summary: SecretSummary): z.infer<typeof secretSummarySchema> => ({
  path: summary.path,
  type: summary.type,
  current_version: summary.currentVersion,
  metadata: summary.metadata,
  created_at: summary.createdAt,
  updated_at: summary.updatedAt,
  deleted_at: summary.deletedAt,
  rotation: summary.rotation ? { interval_days: summary.rotation.intervalDays, rotator: summary.rotation.rotator, options: summary.rotation.options } : null,
});

export const secretValueJson = (value: SecretValue): z.infer<typeof secretValueSchema> => ({
  path: value.path,
  version: value.version,
  current_version: value.currentVersion,
  type: value.type,
  value: value.value,
  metadata: value.metadata,
  created_at: value.createdAt,
});

export const secretVersionsJson = (path: string, versions: readonly VersionSummary[]): z.infer<typeof secretVersionsSchema> => ({
  path,
  versions: versions.map((v) => ({ version: v.version, created_at: v.createdAt, created_by: v.createdBy, current: v.current })),
});

// Data-key rotations on the wire.
import * as z from 'zod/mini';
import { progressRatio } from '../../domain/crypto/key-rotation-progress.js';
import type { KeyRotation } from '../../domain/ports/keys.js';
import { nullableTimestamp, timestamp } from '../schemas.js';

export const keyRotationSchema = z
  .strictObject({
    tenant: z.string(),
    rotation_id: z.string(),
    key_id: z.string().check(z.describe('The new active data key values are re-sealed under')),
    state: z.enum(['running', 'finished']),
    phase: z.enum(['count', 'reseal']),
    pass: z.int().check(z.describe('Re-seal passes started; one that finds nothing under an older key finishes the rotation')),
    total: z.int().check(z.describe('Values under older keys when counted')),
    done: z.int().check(z.describe('Values re-sealed so far')),
    progress_ratio: z.number(),
    reason: z.string(),
    started_at: timestamp,
    updated_at: timestamp,
    finished_at: nullableTimestamp,
  })
  .check(z.meta({ id: 'KeyRotation' }));

export const keyRotationJson = (rotation: KeyRotation): z.infer<typeof keyRotationSchema> => ({
  tenant: rotation.tenantId,
  rotation_id: rotation.rotationId,
  key_id: rotation.targetKeyId,
  state: rotation.state,
  phase: rotation.phase,
  pass: rotation.pass,
  total: rotation.total,
  done: Math.min(rotation.done, rotation.total),
  progress_ratio: progressRatio(rotation),
  reason: rotation.reason,
  started_at: rotation.startedAt,
  updated_at: rotation.updatedAt,
  finished_at: rotation.finishedAt ?? null,
});

export const masterKeyRotatedSchema = z.strictObject({ provider: z.string(), key_version: z.string() });

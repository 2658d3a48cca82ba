// Rotation: pending values and outcomes, the schedule of due rotations, and the rotators.

import type { SealedValue } from './secrets.js';

/** The pending value of a rotation in progress, kept sealed until it is promoted. */
export interface PendingRotation {
  readonly tenantId: string;
  readonly path: string;
  readonly jobId: string;
  /** The version current when the pending value was created; it is promoted as baseVersion + 1. */
  readonly baseVersion: number;
  readonly pending: SealedValue;
  readonly stage: 'created' | 'set' | 'tested';
  readonly startedAt: string;
}

export interface RotationOutcome {
  readonly jobId: string;
  readonly status: 'succeeded' | 'failed';
  readonly reason: string;
  readonly version: number | null;
  readonly at: string;
}

export interface RotationRepository {
  getPending(tenantId: string, path: string): Promise<PendingRotation | undefined>;
  /** Stores a pending value unless another job's is there (other than `replacing`, a finished job's leftover). */
  putPending(pending: PendingRotation, replacing?: string): Promise<void>;
  setStage(tenantId: string, path: string, jobId: string, stage: PendingRotation['stage']): Promise<void>;
  /** Drops the pending value (if it is this job's) and records the outcome. */
  finish(tenantId: string, path: string, outcome: RotationOutcome): Promise<void>;
  lastOutcome(tenantId: string, path: string): Promise<RotationOutcome | undefined>;
}

export interface DueRotation {
  readonly tenantId: string;
  readonly path: string;
  /** The version whose rotation is due: one job per (secret, version). */
  readonly version: number;
}

export interface RotationSchedule {
  due(beforeIso: string, limit: number): Promise<DueRotation[]>;
}

export type RotationOptions = Readonly<Record<string, string | number | boolean>>;

export interface RotationContext {
  readonly tenantId: string;
  readonly path: string;
  readonly options: RotationOptions;
  /** The current value (e.g. the password a database role has now). */
  readonly currentValue: string;
  /** The value about to be promoted. */
  readonly pendingValue: string;
  /** Reads another secret of the same tenant (e.g. an admin connection), through the same checks as the API. */
  readonly readSecret: (path: string) => Promise<string>;
}

export interface Rotator {
  readonly name: string;
  /** Validates options when a rotation schedule is configured; throws ValidationError. */
  validate(options: RotationOptions): void;
  /** Step 1: the next value. Must not touch any external system. */
  generate(options: RotationOptions, currentValue: string): string;
  /** Step 2: make the external system accept the pending value (idempotent: may run again after a crash). */
  set?(context: RotationContext): Promise<void>;
  /** Step 3: prove the pending value works before it becomes current. */
  test?(context: RotationContext): Promise<void>;
}

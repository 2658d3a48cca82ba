// Data-key rotation: a tenant gets a new active data key, and every value sealed
// under an older one is re-sealed under it by a background job.
//
// Why scheduler-driven batches rather than the job queue (functions/domain/jobs):
// a rotation is one long scan with one cursor, not a set of independent units of
// work. Its state (cursor, counts) has to be persisted after every batch anyway
// to survive a crash, so the persisted rotation record *is* the job: the
// scheduler (every minute in AWS, every few seconds embedded) advances every
// running rotation by batches for a bounded time, and a crashed run is simply
// continued by the next one from the saved cursor. An SQS message would add a
// second copy of that state and a visibility timeout to tune against batch
// length, for nothing: two schedulers racing are already kept apart by the
// record's revision (check-and-set), and each item's re-seal is itself a
// conditional write, so a batch done twice re-seals nothing twice.
//
// A rotation runs in phases over the registry of sealed-item kinds
// (ports/keys.ts `SealedItemKind`): a count pass (items under older keys: the
// denominator of the progress ratio), then re-seal passes until one finds no item
// under an older key. Only then are the older keys retired: a writer that sealed
// under the old key while the pass went by (a stale read of the tenant's active
// key) is caught by the next pass, never stranded on a retired key.
import { randomUUID } from 'node:crypto';
import { recordAfter, type AuditRecorder } from '../audit/audit-maintenance.js';
import { ConflictError, NotFoundError, ValidationError, describeError } from '../errors.js';
import type { EventPublisher } from '../ports/events.js';
import type { KeyRotation, KeyRotationStore, SealedItemKind, SealedItemRef } from '../ports/keys.js';
import type { DomainLogger } from '../ports/logging.js';
import type { KeyManager } from './key-manager.js';

export { progressRatio, sealedItemCounts } from './key-rotation-progress.js';

export const KEY_ROTATION_IDENTITY = 'system:key-rotation';

export interface KeyRotationOptions {
  /** Items listed per batch (and cursor save). */
  readonly batchSize: number;
  /** Items re-sealed at once within a batch. */
  readonly concurrency: number;
  /** Re-reads of one item whose conditional write lost to a concurrent writer before it is left to the next pass. */
  readonly conflictRetries: number;
  /** Rotate a tenant's data key once its active key is this old (days); 0 turns the schedule off. */
  readonly rotationDays: number;
}

export interface KeyRotationTick {
  readonly started: number;
  readonly batches: number;
  readonly resealed: number;
  readonly finished: number;
}

export interface KeyRotationParts {
  readonly store: KeyRotationStore;
  readonly kinds: readonly SealedItemKind[];
  readonly keys: Pick<KeyManager, 'createDataKey' | 'open' | 'seal'>;
  readonly tenants: { listTenantIds(): Promise<string[]>; activeKeyId(tenantId: string): Promise<string> };
  readonly audit: AuditRecorder;
  readonly events: EventPublisher;
  readonly logger: DomainLogger;
  readonly options: KeyRotationOptions;
  readonly now?: () => number;
}

export class KeyRotationService {
  private readonly now: () => number;

  constructor(private readonly parts: KeyRotationParts) {
    if (parts.kinds.length === 0) throw new ValidationError('a key rotation needs at least one sealed-item kind');
    this.now = parts.now ?? Date.now;
  }

  /** Makes a new active data key for the tenant and starts re-sealing; ConflictError while one runs. */
  async start(tenantId: string, reason: 'manual' | 'schedule', identityId: string): Promise<KeyRotation> {
    const { store, keys, tenants } = this.parts;
    const previous = await store.get(tenantId);
    if (previous?.state === 'running') throw new ConflictError(`a data-key rotation of tenant ${tenantId} is already running`);
    const fromKeyId = await tenants.activeKeyId(tenantId);
    const targetKeyId = await keys.createDataKey(tenantId);
    const at = new Date(this.now()).toISOString();
    const rotation: KeyRotation = {
      ...emptyPass(this.parts.kinds[0]?.name ?? ''),
      tenantId,
      rotationId: `krot_${randomUUID().replaceAll('-', '')}`,
      targetKeyId,
      state: 'running',
      phase: 'count',
      pass: 0,
      total: 0,
      done: 0,
      activeItems: previous?.activeItems ?? 0,
      olderItems: previous?.olderItems ?? 0,
      reason,
      startedAt: at,
      updatedAt: at,
      revision: (previous?.revision ?? 0) + 1,
    };
    // The record first: a crash before the switch below is finished by the next tick (`ensureActive`).
    if (!(await store.save(rotation, previous?.revision))) {
      await store.setDataKeyState(tenantId, targetKeyId, 'retired', at);
      throw new ConflictError(`a data-key rotation of tenant ${tenantId} is already running`);
    }
    await this.ensureActive(rotation, fromKeyId);
    // After the fact, like the finish: the request that asked for it was audited before it ran.
    const details = { rotation_id: rotation.rotationId, key_id: targetKeyId, previous_key_id: fromKeyId, reason };
    await recordAfter(this.parts.audit, { type: 'key_rotation.started', outcome: 'success', tenantId, identityId, details }, this.parts.logger);
    await this.publish('key.rotation_started', rotation);
    return rotation;
  }

  async get(tenantId: string): Promise<KeyRotation> {
    const rotation = await this.parts.store.get(tenantId);
    if (!rotation) throw new NotFoundError(`tenant ${tenantId} has no data-key rotation`);
    return rotation;
  }

  /** The scheduler's call: starts the rotations the schedule says are due, then advances every running one for at most `budgetMs`. */
  async tick(budgetMs: number): Promise<KeyRotationTick> {
    const deadline = this.now() + budgetMs;
    const started = await this.startDue();
    const running = (await this.parts.store.list()).filter((rotation) => rotation.state === 'running');
    let batches = 0;
    let resealed = 0;
    let finished = 0;
    for (const rotation of running) {
      const result = await this.advance(rotation, deadline).catch((error: unknown) => {
        // One tenant's failure (a key provider hiccup) leaves the others rotating; its cursor stands.
        this.parts.logger.warn('data-key rotation batch failed; the next run resumes it', { tenant: rotation.tenantId, error: describeError(error) });
        return { batches: 0, resealed: 0, finished: false };
      });
      batches += result.batches;
      resealed += result.resealed;
      if (result.finished) finished += 1;
    }
    return { started, batches, resealed, finished };
  }

  /** Runs batches of one rotation until it finishes, the deadline passes, or another runner saved first. */
  async advance(initial: KeyRotation, deadline: number): Promise<{ batches: number; resealed: number; finished: boolean }> {
    let rotation = initial;
    await this.ensureActive(rotation, await this.parts.tenants.activeKeyId(rotation.tenantId));
    let batches = 0;
    let resealed = 0;
    while (rotation.state === 'running' && this.now() < deadline) {
      const { next, count } = await this.batch(rotation);
      const saved = next.state === 'finished' ? await this.finish(next, rotation.revision) : await this.parts.store.save(next, rotation.revision);
      if (!saved) break;
      rotation = next;
      batches += 1;
      resealed += count;
    }
    return { batches, resealed, finished: rotation.state === 'finished' };
  }

  private async batch(rotation: KeyRotation): Promise<{ next: KeyRotation; count: number }> {
    const kind = this.kind(rotation.kind);
    const page = await kind.list(rotation.tenantId, rotation.cursor, this.parts.options.batchSize);
    const older = page.items.filter((ref) => ref.keyId !== rotation.targetKeyId);
    const count = rotation.phase === 'reseal' ? await this.resealAll(kind, rotation, older) : 0;
    const tallied: KeyRotation = {
      ...rotation,
      passActive: rotation.passActive + page.items.length - older.length,
      passOlder: rotation.passOlder + older.length,
      done: rotation.done + count,
      updatedAt: new Date(this.now()).toISOString(),
      revision: rotation.revision + 1,
    };
    if (page.nextCursor !== undefined) return { next: { ...tallied, cursor: page.nextCursor }, count };
    const following = this.parts.kinds[this.parts.kinds.indexOf(kind) + 1];
    if (following) return { next: { ...tallied, kind: following.name, cursor: undefined }, count };
    return { next: this.endOfPass(tallied), count };
  }

  private endOfPass(rotation: KeyRotation): KeyRotation {
    const first = this.parts.kinds[0]?.name ?? '';
    if (rotation.phase === 'count') {
      const counted = { ...rotation, total: rotation.passOlder, activeItems: rotation.passActive, olderItems: rotation.passOlder };
      if (rotation.passOlder === 0) return { ...counted, state: 'finished' };
      return { ...counted, ...emptyPass(first), phase: 'reseal', pass: 1 };
    }
    // A pass that met no item under an older key: every value is under the target, nothing uses the older keys.
    if (rotation.passOlder === 0) return { ...rotation, state: 'finished', activeItems: rotation.passActive, olderItems: 0 };
    return { ...rotation, ...emptyPass(first), pass: rotation.pass + 1 };
  }

  private async finish(rotation: KeyRotation, expectedRevision: number): Promise<boolean> {
    const { store, logger } = this.parts;
    const at = new Date(this.now()).toISOString();
    const finished: KeyRotation = { ...rotation, done: rotation.total, finishedAt: at };
    if (!(await store.save(finished, expectedRevision))) return false;
    const retired: string[] = [];
    for (const key of await store.listDataKeys(rotation.tenantId)) {
      if (key.keyId === rotation.targetKeyId || key.state === 'retired') continue;
      await store.setDataKeyState(rotation.tenantId, key.keyId, 'retired', at);
      retired.push(key.keyId);
    }
    const details = {
      rotation_id: rotation.rotationId,
      key_id: rotation.targetKeyId,
      resealed: finished.done,
      retired_keys: retired.length,
      passes: rotation.pass,
    };
    await recordAfter(
      this.parts.audit,
      { type: 'key_rotation.finished', outcome: 'success', tenantId: rotation.tenantId, identityId: KEY_ROTATION_IDENTITY, details },
      logger,
    );
    await this.publish('key.rotation_finished', finished);
    logger.info('data-key rotation finished', { tenant: rotation.tenantId, ...details });
    return true;
  }

  private async resealAll(kind: SealedItemKind, rotation: KeyRotation, refs: readonly SealedItemRef[]): Promise<number> {
    let next = 0;
    let count = 0;
    const worker = async (): Promise<void> => {
      while (next < refs.length) {
        const ref = refs[next++] as SealedItemRef;
        if (await this.resealOne(kind, rotation, ref.id)) count += 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.parts.options.concurrency, refs.length) }, worker));
    return count;
  }

  /** Re-seals one item under the target key; on a lost conditional write, re-reads it and tries again. */
  private async resealOne(kind: SealedItemKind, rotation: KeyRotation, id: string): Promise<boolean> {
    const { keys, options, logger } = this.parts;
    for (let attempt = 0; attempt <= options.conflictRetries; attempt += 1) {
      const item = await kind.read(rotation.tenantId, id);
      // Gone, or already re-sealed (by a writer's new value, or a run before a crash): nothing to do.
      if (!item || item.sealed.keyId === rotation.targetKeyId) return false;
      const plaintext = await keys.open(item.sealed, item.context);
      const next = await keys.seal(rotation.targetKeyId, plaintext, item.context);
      if (await kind.replace(rotation.tenantId, item, next)) return true;
    }
    // Still changing under us: the next pass meets it again.
    logger.warn('sealed item kept changing during re-seal; left to the next pass', { tenant: rotation.tenantId, kind: kind.name });
    return false;
  }

  /** Points the tenant at the rotation's key unless it already is (a crash between `start`'s two writes). */
  private async ensureActive(rotation: KeyRotation, activeKeyId: string): Promise<void> {
    if (activeKeyId === rotation.targetKeyId) return;
    const { store } = this.parts;
    await store.setDataKeyState(rotation.tenantId, activeKeyId, 'retiring', rotation.updatedAt);
    if (!(await store.setActiveKey(rotation.tenantId, rotation.targetKeyId, activeKeyId))) {
      throw new ConflictError(`tenant ${rotation.tenantId}'s active data key changed during the rotation`);
    }
  }

  private async startDue(): Promise<number> {
    const days = this.parts.options.rotationDays;
    if (days <= 0) return 0;
    const { store, tenants, logger } = this.parts;
    const latest = new Map((await store.list()).map((rotation) => [rotation.tenantId, rotation]));
    const keys = async (tenantId: string) => (await store.listDataKeys(tenantId)).map((key) => Date.parse(key.createdAt));
    let started = 0;
    for (const tenantId of await tenants.listTenantIds()) {
      const rotation = latest.get(tenantId);
      if (rotation?.state === 'running') continue;
      const since = rotation ? Date.parse(rotation.startedAt) : Math.max(...(await keys(tenantId)));
      if (this.now() - since < days * 24 * 3600 * 1000) continue;
      try {
        await this.start(tenantId, 'schedule', KEY_ROTATION_IDENTITY);
        started += 1;
      } catch (error) {
        logger.warn('scheduled data-key rotation did not start', { tenant: tenantId, error: describeError(error) });
      }
    }
    return started;
  }

  private kind(name: string): SealedItemKind {
    const kind = this.parts.kinds.find((candidate) => candidate.name === name);
    if (!kind) throw new ValidationError(`no sealed-item kind named ${name}`);
    return kind;
  }

  private publish(type: 'key.rotation_started' | 'key.rotation_finished', rotation: KeyRotation): Promise<void> {
    return this.parts.events.publish({
      type,
      tenantId: rotation.tenantId,
      data: { rotation_id: rotation.rotationId, key_id: rotation.targetKeyId, ...(type === 'key.rotation_finished' ? { resealed: rotation.done } : {}) },
      occurredAt: new Date(this.now()).toISOString(),
    });
  }
}

const emptyPass = (kind: string) => ({ kind, cursor: undefined, passActive: 0, passOlder: 0 });

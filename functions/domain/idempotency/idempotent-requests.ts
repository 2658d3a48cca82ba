import { createHash } from 'node:crypto';
import { ConflictError, DependencyUnavailableError, IdempotencyKeyReusedError, OutcomeUnknownError, ValidationError, VaultError } from '../errors.js';
import type { KeyManager } from '../crypto/key-manager.js';
import type { SealedValue } from '../ports/secrets.js';
import type { IdempotencyRecord, IdempotencyStore } from '../ports/idempotency.js';

/** An answer as the edge sends it: what a retry with the same key gets back. */
export interface StoredAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface IdempotentCaller {
  readonly tenantId: string;
  readonly identityId: string;
}

/** Seals stored answers: they may carry a token issued once, so they are kept like secret values. */
export interface AnswerSealer {
  seal(tenantId: string, recordId: string, plaintext: string): Promise<SealedValue>;
  open(tenantId: string, recordId: string, sealed: SealedValue): Promise<string>;
}

/** Stored answers sealed like secret values: under the tenant's active data key, bound to the record (version 0 is no secret's). */
export const dataKeySealer = (keys: Pick<KeyManager, 'seal' | 'open'>, activeKeyId: (tenantId: string) => Promise<string>): AnswerSealer => ({
  seal: async (tenantId, recordId, plaintext) => keys.seal(await activeKeyId(tenantId), plaintext, { tenantId, path: `idempotency/${recordId}`, version: 0 }),
  open: (tenantId, recordId, sealed) => keys.open(sealed, { tenantId, path: `idempotency/${recordId}`, version: 0 }),
});

export interface IdempotencySettings {
  /** How long a key is remembered (the IETF draft suggests at least 24 hours). */
  readonly retentionMs: number;
  /** How long a first request may still be running: past it, its outcome is unknown. */
  readonly leaseMs: number;
}

// An sf-string as the IETF draft asks ("..."), or the same characters bare, as many clients send.
const KEY = /^"?([\x21\x23-\x5b\x5d-\x7e]{1,255})"?$/;

export const parseIdempotencyKey = (raw: string): string => {
  const match = KEY.exec(raw.trim());
  if (!match || raw.trim().startsWith('"') !== raw.trim().endsWith('"')) {
    throw new ValidationError('Idempotency-Key must be 1 to 255 visible ASCII characters, e.g. "8e03978e-40d5-43e8-bc93-6894a57f9324"', 'Idempotency-Key');
  }
  return match[1] as string;
};

const digest = (...parts: readonly string[]): string => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/** What identifies a request for key reuse: the same key with another request is refused. */
export const requestFingerprint = (method: string, path: string, query: string, body: string): string => digest(method, path, query, body);

/** A thrown error that promises nothing changed, so the key may be used again at once. */
const changedNothing = (error: unknown): boolean => error instanceof VaultError && !(error instanceof OutcomeUnknownError);

/**
 * Idempotency-Key for changes (draft-ietf-httpapi-idempotency-key-header): the
 * first request with a key runs; a retry with the same key and request gets the
 * first answer and never a second effect; the same key for another request is
 * refused. A first request that ended without a recorded answer leaves the key
 * at "outcome unknown", never run twice.
 */
export class IdempotentRequests {
  constructor(
    private readonly store: IdempotencyStore,
    private readonly sealer: AnswerSealer,
    private readonly settings: IdempotencySettings,
    private readonly onLost: (error: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {}

  async run(caller: IdempotentCaller, key: string, fingerprint: string, execute: () => Promise<StoredAnswer>): Promise<StoredAnswer & { replayed: boolean }> {
    const id = digest(caller.identityId, key);
    const now = this.now();
    const claim = {
      tenantId: caller.tenantId,
      id,
      fingerprint,
      status: 'in_progress' as const,
      leaseUntil: now + this.settings.leaseMs,
      expiresAt: now + this.settings.retentionMs,
    };
    const holder = await this.store.claim(claim, now).catch(async (error: unknown) => {
      // The claim may have landed; the request has not run, so it must not be left looking like it had.
      if (!(error instanceof OutcomeUnknownError)) throw error;
      await this.store.release(caller.tenantId, id, fingerprint).catch(() => undefined);
      throw new DependencyUnavailableError('idempotency store', { cause: error });
    });
    if (holder) return { ...(await this.answerOf(holder, fingerprint, now)), replayed: true };
    let answer: StoredAnswer;
    try {
      answer = await execute();
    } catch (error) {
      if (changedNothing(error)) await this.store.release(caller.tenantId, id, fingerprint).catch(() => undefined);
      else await this.store.settleUnknown(caller.tenantId, id, fingerprint).catch(() => undefined);
      throw error;
    }
    // A 5xx answer promised nothing changed; any other is the answer a retry must see.
    if (answer.status >= 500) await this.store.release(caller.tenantId, id, fingerprint).catch(() => undefined);
    else await this.remember(caller.tenantId, id, fingerprint, answer);
    return { ...answer, replayed: false };
  }

  /** The change is made: failing to remember its answer must not turn it into an error (a retry then hears "outcome unknown"). */
  private async remember(tenantId: string, id: string, fingerprint: string, answer: StoredAnswer): Promise<void> {
    try {
      await this.store.complete(tenantId, id, fingerprint, await this.sealer.seal(tenantId, id, JSON.stringify(answer)));
    } catch (error) {
      this.onLost(error);
    }
  }

  private async answerOf(holder: IdempotencyRecord, fingerprint: string, now: number): Promise<StoredAnswer> {
    if (holder.fingerprint !== fingerprint) {
      throw new IdempotencyKeyReusedError('this Idempotency-Key was used for a different request; use a new key for a new request');
    }
    if (holder.status === 'completed' && holder.response) {
      return JSON.parse(await this.sealer.open(holder.tenantId, holder.id, holder.response)) as StoredAnswer;
    }
    if (holder.status === 'in_progress' && now < holder.leaseUntil)
      throw new ConflictError('a request with this Idempotency-Key is still in progress; retry when it has finished');
    throw new OutcomeUnknownError('the first request with this Idempotency-Key ended without a recorded answer; check the resource before changing it again');
  }
}

import { randomInt } from 'node:crypto';
import { VaultError } from '../errors.js';
import type { RotatingSecret } from '../ports/auth.js';

/** The four steps Secrets Manager invokes a rotation function with, in order. */
export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

/** A rotation step refused: Secrets Manager retries it, then marks the rotation failed. */
export class TokenRotationError extends VaultError {
  override readonly name = 'TokenRotationError';
}

const ALPHANUMERICS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** The stack's own format for the token: 48 alphanumerics (about 285 bits). */
export const TOKEN_LENGTH = 48;

export const randomToken = (): string => Array.from({ length: TOKEN_LENGTH }, () => ALPHANUMERICS[randomInt(ALPHANUMERICS.length)]).join('');

const isWellFormed = (token: string): boolean => token.length === TOKEN_LENGTH && [...token].every((c) => ALPHANUMERICS.includes(c));

/**
 * Rotates a bearer token only ScaiVault checks: there is no other system to
 * set it in, so setSecret does nothing and testSecret checks the pending value
 * itself. Scrapers pick the new value up from the secret; the api accepts the
 * previous one for a grace period (CachedRotatingTokens).
 */
export class TokenRotation {
  constructor(
    private readonly secret: RotatingSecret,
    private readonly generate: () => string = randomToken,
  ) {}

  async run(step: RotationStep, versionId: string): Promise<void> {
    const { rotationEnabled, versions } = await this.secret.describe();
    if (!rotationEnabled) throw new TokenRotationError('rotation is not enabled on the secret');
    const stages = versions[versionId];
    if (!stages) throw new TokenRotationError(`version ${versionId} is not a version of the secret`);
    // A step retried after finishSecret already promoted the version.
    if (stages.includes('AWSCURRENT')) return;
    if (!stages.includes('AWSPENDING')) throw new TokenRotationError(`version ${versionId} is not pending rotation`);
    if (step === 'createSecret') return this.create(versionId);
    if (step === 'testSecret') return this.test(versionId);
    if (step === 'finishSecret') return this.finish(versionId, versions);
  }

  /** Idempotent: a retried createSecret keeps the value the first attempt stored. */
  private async create(versionId: string): Promise<void> {
    if ((await this.secret.readVersion(versionId, 'AWSPENDING')) !== undefined) return;
    await this.secret.putPending(versionId, this.generate());
  }

  private async test(versionId: string): Promise<void> {
    const pending = await this.secret.readVersion(versionId, 'AWSPENDING');
    if (pending === undefined || !isWellFormed(pending)) throw new TokenRotationError(`the pending token of version ${versionId} is missing or malformed`);
  }

  private async finish(versionId: string, versions: Readonly<Record<string, readonly string[]>>): Promise<void> {
    const current = Object.entries(versions).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    await this.secret.promote(versionId, current);
  }
}

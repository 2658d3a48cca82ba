import type { AcmeChallengeStore, ChallengeSolver } from '../../domain/ports/acme.js';

/** How long an HTTP-01 answer is served: long enough for any validation, short enough to tidy itself. */
const ANSWER_TTL_MS = 60 * 60_000;

/** HTTP-01: the answer goes where the public `/.well-known/acme-challenge/{token}` route reads it. */
export class Http01Solver implements ChallengeSolver {
  constructor(
    private readonly store: AcmeChallengeStore,
    private readonly now: () => number = Date.now,
  ) {}

  present(_domain: string, token: string, keyAuthorization: string): Promise<void> {
    return this.store.put(token, keyAuthorization, new Date(this.now() + ANSWER_TTL_MS));
  }

  cleanup(_domain: string, token: string): Promise<void> {
    return this.store.delete(token);
  }
}

// The egress policy as the webhook service's check at creation: the same rules delivery applies.
import type { EgressCheck } from '../../domain/ports/webhooks.js';
import { EgressRefusedError, type EgressPolicy } from './egress-guard.js';

/** How long creation waits for DNS; a name that does not answer in time is left to the check at delivery. */
const RESOLVE_TIMEOUT_MS = 2000;

export class EgressPolicyCheck implements EgressCheck {
  constructor(
    private readonly policy: EgressPolicy,
    private readonly timeoutMs = RESOLVE_TIMEOUT_MS,
  ) {}

  async refusal(host: string): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.timeoutMs);
    });
    try {
      await Promise.race([this.policy.resolve(host), timedOut]);
      return undefined;
    } catch (error) {
      // A name that does not resolve now is not refused: delivery resolves it again, under the same policy.
      return error instanceof EgressRefusedError ? error.reason : undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}

// Token expiry you can see coming: the windows of the expiry gauge, the
// response header of a call whose token expires soon, and the scheduler's
// `token.expiring` event, raised once per token and expiry.
import { describeError } from '../errors.js';
import type { TokenExpiryIndex, TokenRecord } from '../ports/auth.js';
import type { EventPublisher } from '../ports/events.js';
import type { DomainLogger } from '../ports/logging.js';

/** `scaivault_tokens_expiring_soon{within}`: label and window. */
export const TOKEN_EXPIRY_WINDOWS: readonly { readonly label: string; readonly seconds: number }[] = [
  { label: '1h', seconds: 3600 },
  { label: '24h', seconds: 86_400 },
];

/** Calls whose token expires within this many seconds carry the expiry headers; the scheduler warns within the same hour. */
export const TOKEN_EXPIRY_WARNING_SECONDS = 3600;

export const TOKEN_EXPIRES_IN_HEADER = 'x-scaivault-token-expires-in';
export const TOKEN_RENEWABLE_HEADER = 'x-scaivault-token-renewable';

/** The headers a response carries when its caller's token expires within the hour (none for a token that never expires). */
export const tokenExpiryHeaders = (token: Pick<TokenRecord, 'expiresAt' | 'renewable' | 'maxExpiresAt'>, now: number): Record<string, string> => {
  if (token.expiresAt === null) return {};
  const seconds = Math.max(0, Math.floor((token.expiresAt - now) / 1000));
  if (seconds > TOKEN_EXPIRY_WARNING_SECONDS) return {};
  // Renewal cannot help a token already at its max TTL.
  const renewable = token.renewable && (token.maxExpiresAt === null || token.maxExpiresAt > token.expiresAt);
  return { [TOKEN_EXPIRES_IN_HEADER]: String(seconds), [TOKEN_RENEWABLE_HEADER]: String(renewable) };
};

/** The scheduler's step: one `token.expiring` event per token about to expire, never two for the same expiry. */
export class TokenExpiryWarnings {
  constructor(
    private readonly index: TokenExpiryIndex,
    private readonly events: EventPublisher,
    private readonly logger: Pick<DomainLogger, 'warn'>,
    private readonly now: () => number = Date.now,
    private readonly perRun = 100,
  ) {}

  /** Returns how many tokens were warned about this run. */
  async warn(): Promise<number> {
    const now = this.now();
    const due = await this.index.unwarned(now, now + TOKEN_EXPIRY_WARNING_SECONDS * 1000, this.perRun);
    let warned = 0;
    for (const token of due) if (await this.warnOne(token, now)) warned += 1;
    return warned;
  }

  private async warnOne(token: TokenRecord, now: number): Promise<boolean> {
    const expiresAt = token.expiresAt ?? 0;
    // Claimed first, so two scheduler runs never both send it.
    if (!(await this.index.markWarned(token.tokenHash, expiresAt))) return false;
    try {
      await this.events.publish({
        type: 'token.expiring',
        tenantId: token.tenantId,
        data: {
          accessor: token.accessor,
          identity_id: token.identityId,
          expires_at: new Date(expiresAt).toISOString(),
          expires_in_seconds: Math.max(0, Math.floor((expiresAt - now) / 1000)),
          renewable: token.renewable,
        },
        occurredAt: new Date(now).toISOString(),
      });
      return true;
    } catch (error) {
      this.logger.warn('token.expiring not published; the next run tries again', { accessor: token.accessor, error: describeError(error) });
      await this.index.clearWarned(token.tokenHash, expiresAt).catch(() => undefined);
      return false;
    }
  }
}

import { describe, expect, it } from 'vitest';
import { TOKEN_EXPIRES_IN_HEADER, TOKEN_RENEWABLE_HEADER, TokenExpiryWarnings, tokenExpiryHeaders } from '../../functions/domain/auth/token-expiry.js';
import type { TokenExpiryIndex, TokenRecord } from '../../functions/domain/ports/auth.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import { RecordingLogger } from './support/recorders.js';

const NOW = 1_800_000_000_000;
const token = (hash: string, expiresAt: number): TokenRecord => ({
  tokenHash: hash,
  accessor: `acc-${hash}`,
  tenantId: 'acme',
  identityId: 'sa:app',
  policies: [],
  issuedAt: NOW - 1000,
  expiresAt,
  ttlSeconds: 3600,
  renewable: true,
  maxExpiresAt: null,
});

/** The index in memory: tokens and the expiry each was warned for. */
class MemoryExpiryIndex implements TokenExpiryIndex {
  readonly warned = new Map<string, number>();
  constructor(readonly tokens: TokenRecord[]) {}
  async countExpiring(fromMs: number, toMs: number) {
    return this.tokens.filter((t) => t.expiresAt! >= fromMs && t.expiresAt! < toMs).length;
  }
  async unwarned(fromMs: number, toMs: number, limit: number) {
    return this.tokens.filter((t) => t.expiresAt! >= fromMs && t.expiresAt! < toMs && this.warned.get(t.tokenHash) !== t.expiresAt).slice(0, limit);
  }
  async markWarned(hash: string, expiresAt: number) {
    if (this.warned.get(hash) === expiresAt) return false;
    this.warned.set(hash, expiresAt);
    return true;
  }
  async clearWarned(hash: string) {
    this.warned.delete(hash);
  }
}

describe('token expiry', () => {
  it('answers the headers only within the hour, and says a token at its max TTL cannot be renewed', () => {
    expect(tokenExpiryHeaders(token('a', NOW + 3_601_000), NOW)).toEqual({});
    expect(tokenExpiryHeaders({ expiresAt: null, renewable: true, maxExpiresAt: null }, NOW)).toEqual({});
    expect(tokenExpiryHeaders(token('a', NOW + 1_800_000), NOW)).toEqual({ [TOKEN_EXPIRES_IN_HEADER]: '1800', [TOKEN_RENEWABLE_HEADER]: 'true' });
    const capped = { ...token('a', NOW + 60_000), maxExpiresAt: NOW + 60_000 };
    expect(tokenExpiryHeaders(capped, NOW)[TOKEN_RENEWABLE_HEADER]).toBe('false');
  });

  it('warns once per token and expiry, again after a renewal moves the expiry, and retries a warning it could not publish', async () => {
    const index = new MemoryExpiryIndex([token('a', NOW + 600_000), token('b', NOW + 7_200_000)]);
    const published: VaultEvent[] = [];
    let failNext = true;
    const events = {
      publish: async (event: VaultEvent) => {
        if (failNext) {
          failNext = false;
          throw new Error('fan-out down');
        }
        published.push(event);
      },
    };
    const warnings = new TokenExpiryWarnings(index, events, new RecordingLogger(), () => NOW);
    expect(await warnings.warn()).toBe(0);
    expect(await warnings.warn()).toBe(1);
    expect(await warnings.warn()).toBe(0);
    expect(published.map((e) => [e.type, e.data.accessor, e.data.expires_in_seconds])).toEqual([['token.expiring', 'acc-a', 600]]);
    index.tokens[0] = token('a', NOW + 900_000);
    expect(await warnings.warn()).toBe(1);
  });
});

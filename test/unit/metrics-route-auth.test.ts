import { describe, expect, it } from 'vitest';
import type { AcceptedTokens } from '../../functions/domain/auth/rotating-token.js';
import { ForbiddenError, UnauthenticatedError } from '../../functions/domain/errors.js';
import { authorizeScrape, type MetricsRouteServices } from '../../functions/routes/metrics/metrics-routes.js';

/** The versions the cache holds, and what a re-read after a mismatch would find. */
const tokens = (cached: readonly string[], reread: readonly string[] = cached) => {
  const calls = { afterMismatch: 0 };
  const accepted: AcceptedTokens = {
    accepted: async () => cached,
    afterMismatch: async () => {
      calls.afterMismatch += 1;
      return reread;
    },
  };
  return { calls, accepted };
};

const servicesWith = (metricsTokens: AcceptedTokens) =>
  ({
    metricsTokens,
    auth: {
      authenticate: async () => {
        throw new UnauthenticatedError('unknown token');
      },
      requireOperator: () => {
        throw new ForbiddenError('not an operator');
      },
    },
  }) as unknown as MetricsRouteServices;

describe('authorizeScrape', () => {
  it('accepts the current and, during a rotation, the previous metrics token without a re-read', async () => {
    const { calls, accepted } = tokens(['token-b', 'token-a']);
    await authorizeScrape(servicesWith(accepted), 'Bearer token-b');
    await authorizeScrape(servicesWith(accepted), 'Bearer token-a');
    expect(calls.afterMismatch).toBe(0);
  });

  it('accepts a token rotated in since the last read, found by the re-read a mismatch triggers', async () => {
    const { calls, accepted } = tokens(['token-a'], ['token-b', 'token-a']);
    await authorizeScrape(servicesWith(accepted), 'Bearer token-b');
    expect(calls.afterMismatch).toBe(1);
  });

  it('rejects a token neither version nor the vault knows', async () => {
    const { accepted } = tokens(['token-b', 'token-a']);
    await expect(authorizeScrape(servicesWith(accepted), 'Bearer token-z')).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(authorizeScrape(servicesWith(accepted), undefined)).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  it('is open when no metrics token is configured', async () => {
    await expect(authorizeScrape(servicesWith(tokens([]).accepted), undefined)).resolves.toBeUndefined();
  });
});

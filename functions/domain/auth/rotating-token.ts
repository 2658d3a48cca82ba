import type { TokenVersions, TokenVersionSource } from '../ports/auth.js';

/** The tokens a route accepts now; none means the route is open. */
export interface AcceptedTokens {
  accepted(): Promise<readonly string[]>;
  /** Asked after a presented token matched none: a rotation may have happened since the last read. */
  afterMismatch(): Promise<readonly string[]>;
}

export interface RotatingTokenOptions {
  /** How long a read is trusted before the next request re-reads. */
  readonly ttlMs: number;
  /** A mismatch re-reads at most this often, so bad tokens cannot hammer the source. */
  readonly minRefreshMs: number;
  /** How long after a rotation the previous version is still accepted (scrapers holding it). */
  readonly graceMs: number;
}

/** A fixed token (the embedded vault's `SCAIVAULT_METRICS_TOKEN`), or none. */
export const fixedTokens = (token: string | undefined): AcceptedTokens => {
  const tokens = token ? [token] : [];
  return { accepted: async () => tokens, afterMismatch: async () => tokens };
};

/**
 * A rotating token read through a short-lived cache. A failed re-read keeps
 * the last versions (a Secrets Manager blip must not fail every scrape);
 * with nothing read yet it fails.
 */
export class CachedRotatingTokens implements AcceptedTokens {
  private versions: TokenVersions | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private failedAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<TokenVersions> | undefined;

  constructor(
    private readonly source: TokenVersionSource,
    private readonly options: RotatingTokenOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async accepted(): Promise<readonly string[]> {
    return this.tokensOf(await this.readIfOlderThan(this.options.ttlMs));
  }

  async afterMismatch(): Promise<readonly string[]> {
    return this.tokensOf(await this.readIfOlderThan(Math.min(this.options.minRefreshMs, this.options.ttlMs)));
  }

  private async readIfOlderThan(ageMs: number): Promise<TokenVersions> {
    const now = this.now();
    if (this.versions && (now - this.readAt < ageMs || now - this.failedAt < this.options.minRefreshMs)) return this.versions;
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<TokenVersions> {
    try {
      this.versions = await this.source.read();
      this.readAt = this.now();
      return this.versions;
    } catch (error) {
      if (!this.versions) throw error;
      this.failedAt = this.now();
      return this.versions;
    }
  }

  private tokensOf({ current, previous, currentSince }: TokenVersions): readonly string[] {
    const inGrace = previous !== undefined && (!currentSince || this.now() - currentSince.getTime() < this.options.graceMs);
    return inGrace ? [current, previous] : [current];
  }
}

// An RFC 8555 ACME client over the traced, egress-guarded fetch. Loaded only by
// ACME code paths (it imports `jose`), never by the api at startup.
import { calculateJwkThumbprint, FlattenedSign, importJWK, type JWK } from 'jose';
import type { Dispatcher } from 'undici';
import { defaultTracing, type Tracing } from '../../observability/tracing.js';
import { tracedFetch } from '../traced-fetch.js';
import { retryAfterMs } from '../http/retry-after.js';

/** The ACME server answered with an error document (RFC 7807) or an unusable answer. */
export class AcmeError extends Error {
  override readonly name = 'AcmeError';
  constructor(
    /** The problem type without its `urn:ietf:params:acme:error:` prefix, e.g. `badNonce`, or `http-<status>`. */
    readonly type: string,
    readonly status: number,
    detail: string,
  ) {
    super(`ACME ${type} (${status}): ${detail.slice(0, 300)}`);
  }

  /** What describeError names: the problem type, never the server's detail. */
  get code(): string {
    return this.type;
  }
}

export interface AcmeDirectory {
  readonly newNonce: string;
  readonly newAccount: string;
  readonly newOrder: string;
  readonly meta?: { readonly externalAccountRequired?: boolean };
}

export interface AcmeChallenge {
  readonly type: string;
  readonly url: string;
  readonly token: string;
  readonly status: string;
}

export interface AcmeAuthorization {
  readonly status: string;
  readonly identifier: { readonly type: string; readonly value: string };
  readonly challenges: readonly AcmeChallenge[];
  readonly wildcard?: boolean;
}

export interface AcmeOrder {
  readonly url: string;
  readonly status: string;
  readonly expires?: string;
  readonly authorizations: readonly string[];
  readonly finalize: string;
  readonly certificate?: string;
}

export interface AcmeClientOptions {
  readonly directoryUrl: string;
  /** The account's ES256 private key as a JWK. */
  readonly accountKey: JWK;
  /** The account URL once registered (the JWS `kid`). */
  readonly accountUrl?: string;
  /** The egress-guarded dispatcher every call goes through. */
  readonly dispatcher: Dispatcher;
  readonly tracing?: Tracing;
  /** Each call's whole budget, headers and body. */
  readonly timeoutMs?: number;
  /** Longest Retry-After honoured before giving up on a poll or a retry. */
  readonly maxRetryAfterMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface ExternalAccountBinding {
  readonly kid: string;
  /** The HMAC key as the CA hands it out: base64url. */
  readonly hmacKey: string;
}

const ERROR_PREFIX = 'urn:ietf:params:acme:error:';
const BAD_NONCE_RETRIES = 3;

const publicJwkOf = (jwk: JWK): JWK => ({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });

const problemOf = async (response: Response): Promise<AcmeError> => {
  const text = await response.text().catch(() => '');
  try {
    const problem = JSON.parse(text) as { type?: string; detail?: string };
    return new AcmeError((problem.type ?? '').replace(ERROR_PREFIX, '') || `http-${response.status}`, response.status, problem.detail ?? '');
  } catch {
    return new AcmeError(`http-${response.status}`, response.status, 'no problem document');
  }
};

export class AcmeClient {
  private directoryPromise: Promise<AcmeDirectory> | undefined;
  private nonces: string[] = [];
  private key: Awaited<ReturnType<typeof importJWK>> | undefined;
  private accountUrl: string | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AcmeClientOptions) {
    this.accountUrl = options.accountUrl;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  get account(): string | undefined {
    return this.accountUrl;
  }

  /** The key authorization of a challenge token: what HTTP-01 serves and DNS-01 hashes. */
  async keyAuthorization(token: string): Promise<string> {
    return `${token}.${await calculateJwkThumbprint(publicJwkOf(this.options.accountKey), 'sha256')}`;
  }

  directory(): Promise<AcmeDirectory> {
    this.directoryPromise ??= this.call('directory', this.options.directoryUrl, { method: 'GET' })
      .then((response) => response.json() as Promise<AcmeDirectory>)
      .catch((error: unknown) => {
        this.directoryPromise = undefined;
        throw error;
      });
    return this.directoryPromise;
  }

  /** Registers the account (or finds the existing one for this key); returns its URL. */
  async register(contact: readonly string[], eab?: ExternalAccountBinding): Promise<string> {
    const directory = await this.directory();
    if (directory.meta?.externalAccountRequired && !eab) throw new AcmeError('externalAccountRequired', 400, 'the provider requires External Account Binding');
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true, ...(contact.length ? { contact } : {}) };
    if (eab) payload.externalAccountBinding = await this.bindingFor(directory.newAccount, eab);
    const response = await this.post('new-account', directory.newAccount, payload, { useJwk: true });
    const location = response.headers.get('location');
    await response.body?.cancel().catch(() => undefined);
    if (!location) throw new AcmeError('malformed', response.status, 'newAccount answered without a Location');
    this.accountUrl = location;
    return location;
  }

  async newOrder(domains: readonly string[]): Promise<AcmeOrder> {
    const directory = await this.directory();
    const response = await this.post('new-order', directory.newOrder, { identifiers: domains.map((value) => ({ type: 'dns', value })) });
    return this.orderOf(response, response.headers.get('location'));
  }

  async authorization(url: string): Promise<AcmeAuthorization> {
    return (await this.authorizationPolled(url)).value;
  }

  /** The authorization and the Retry-After the server asked for, for polling. */
  async authorizationPolled(url: string): Promise<{ value: AcmeAuthorization; retryAfterMs?: number }> {
    const response = await this.post('get-authorization', url, undefined);
    return { value: (await response.json()) as AcmeAuthorization, retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  }

  async respond(challengeUrl: string): Promise<void> {
    const response = await this.post('respond-challenge', challengeUrl, {});
    await response.body?.cancel().catch(() => undefined);
  }

  /** The order and the Retry-After the server asked for, for polling. */
  async orderPolled(url: string): Promise<{ value: AcmeOrder; retryAfterMs?: number }> {
    const response = await this.post('get-order', url, undefined);
    return { value: await this.orderOf(response, url), retryAfterMs: retryAfterMs(response.headers.get('retry-after')) };
  }

  async finalize(order: AcmeOrder, csrDer: Uint8Array): Promise<AcmeOrder> {
    return this.orderOf(await this.post('finalize-order', order.finalize, { csr: Buffer.from(csrDer).toString('base64url') }), order.url);
  }

  /** The certificate chain as PEM, leaf first. */
  async certificate(url: string): Promise<string> {
    return (await this.post('download-certificate', url, undefined, { accept: 'application/pem-certificate-chain' })).text();
  }

  /**
   * Polls a resource until `done` says so; waits as the server's Retry-After asks
   * (bounded), else backs off from 250 ms. Gives up after `budgetMs`.
   */
  async poll<T>(fetchOnce: () => Promise<{ value: T; retryAfterMs?: number }>, done: (value: T) => boolean, budgetMs: number): Promise<T> {
    const deadline = Date.now() + budgetMs;
    for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
      const { value, retryAfterMs: asked } = await fetchOnce();
      if (done(value)) return value;
      const wait = Math.min(asked ?? delay, this.options.maxRetryAfterMs ?? 30_000);
      if (Date.now() + wait > deadline) throw new AcmeError('timeout', 0, `not ready within ${budgetMs} ms`);
      await this.sleep(wait);
    }
  }

  private async orderOf(response: Response, url: string | null): Promise<AcmeOrder> {
    const body = (await response.json()) as Omit<AcmeOrder, 'url'>;
    if (!url) throw new AcmeError('malformed', response.status, 'order answered without a Location');
    return { ...body, url };
  }

  private async bindingFor(newAccountUrl: string, eab: ExternalAccountBinding): Promise<unknown> {
    const payload = new TextEncoder().encode(JSON.stringify(publicJwkOf(this.options.accountKey)));
    return new FlattenedSign(payload).setProtectedHeader({ alg: 'HS256', kid: eab.kid, url: newAccountUrl }).sign(Buffer.from(eab.hmacKey, 'base64url'));
  }

  /** A JWS-signed POST (payload undefined: POST-as-GET), retried on badNonce with a fresh nonce. */
  private async post(operation: string, url: string, payload: unknown, options: { useJwk?: boolean; accept?: string } = {}): Promise<Response> {
    for (let attempt = 1; ; attempt += 1) {
      const body = await this.sign(url, payload, options.useJwk === true);
      const response = await this.call(operation, url, {
        method: 'POST',
        headers: { 'content-type': 'application/jose+json', ...(options.accept ? { accept: options.accept } : {}) },
        body: JSON.stringify(body),
      });
      this.keepNonce(response);
      if (response.ok) return response;
      const problem = await problemOf(response);
      if (problem.type === 'badNonce' && attempt <= BAD_NONCE_RETRIES) continue;
      const wait = retryAfterMs(response.headers.get('retry-after'));
      if (
        (response.status === 503 || problem.type === 'rateLimited') &&
        wait !== undefined &&
        wait <= (this.options.maxRetryAfterMs ?? 30_000) &&
        attempt <= 2
      ) {
        await this.sleep(wait);
        continue;
      }
      throw problem;
    }
  }

  private async sign(url: string, payload: unknown, useJwk: boolean): Promise<unknown> {
    this.key ??= await importJWK(this.options.accountKey, 'ES256');
    const nonce = await this.nonce();
    if (!useJwk && !this.accountUrl) throw new AcmeError('accountDoesNotExist', 0, 'the account is not registered yet');
    const header = useJwk ? { alg: 'ES256', nonce, url, jwk: publicJwkOf(this.options.accountKey) } : { alg: 'ES256', nonce, url, kid: this.accountUrl };
    const bytes = payload === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(payload));
    return new FlattenedSign(bytes).setProtectedHeader(header).sign(this.key);
  }

  private async nonce(): Promise<string> {
    const kept = this.nonces.pop();
    if (kept) return kept;
    const directory = await this.directory();
    const response = await this.call('new-nonce', directory.newNonce, { method: 'HEAD' });
    const nonce = response.headers.get('replay-nonce');
    if (!nonce) throw new AcmeError('badNonce', response.status, 'newNonce answered without a Replay-Nonce');
    return nonce;
  }

  private keepNonce(response: Response): void {
    const nonce = response.headers.get('replay-nonce');
    if (nonce) this.nonces.push(nonce);
  }

  /** One HTTP exchange: a CLIENT span named for the ACME operation, the egress dispatcher, a hard timeout. */
  private async call(operation: string, url: string, init: RequestInit): Promise<Response> {
    const response = await tracedFetch(
      url,
      {
        ...init,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        ...({ dispatcher: this.options.dispatcher } as object),
      },
      this.options.tracing ?? defaultTracing,
      { name: `acme ${operation}`, attributes: { 'scaivault.acme.operation': operation } },
    );
    if (operation !== 'directory' && operation !== 'new-nonce') return response;
    if (!response.ok) throw await problemOf(response);
    return response;
  }
}

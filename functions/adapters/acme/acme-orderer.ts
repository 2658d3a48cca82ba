// One ACME order end to end (RFC 8555 section 7.4): account on first use, order,
// one challenge per authorization, CSR for a fresh P-256 key, finalize, download.
// Loaded by dynamic import() from the scheduler only.
import type { webcrypto } from 'node:crypto';
import type { JWK } from 'jose';
import type { Dispatcher } from 'undici';
import type { AcmeOrderer, ChallengeSolver, OrderRequest, OrderResult } from '../../domain/ports/acme.js';
import type { Tracing } from '../../observability/tracing.js';
import { loadX509 } from '../../domain/pki/x509.js';
import { AcmeClient, AcmeError, type AcmeAuthorization, type AcmeOrder } from './acme-client.js';

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

export interface AcmeOrdererOptions {
  readonly dispatcher: Dispatcher;
  readonly tracing?: Tracing;
  readonly callTimeoutMs: number;
  /** How long validation and issuance may take in all before the order fails. */
  readonly pollBudgetMs: number;
}

const pemOf = (der: ArrayBuffer, label: string): string =>
  `-----BEGIN ${label}-----\n${(
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? []
  ).join('\n')}\n-----END ${label}-----\n`;

/** A fresh P-256 key and a CSR naming every domain (first as CN), both for the order. */
const keyAndCsr = async (domains: readonly string[]): Promise<{ csrDer: Uint8Array; privateKeyPem: string }> => {
  const x509 = await loadX509();
  const keys = (await crypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${domains[0]}`,
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    extensions: [new x509.SubjectAlternativeNameExtension(domains.map((value) => ({ type: 'dns' as const, value })))],
  });
  const privateKeyPem = pemOf(await crypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  return { csrDer: new Uint8Array(csr.rawData), privateKeyPem };
};

/** What the downloaded chain says about its leaf. */
export const describeChain = async (
  pemChain: string,
): Promise<Pick<OrderResult, 'certificatePem' | 'chainPem' | 'serial' | 'commonName' | 'sans' | 'notBefore' | 'notAfter'>> => {
  const x509 = await loadX509();
  const blocks = pemChain.match(PEM_BLOCK) ?? [];
  const [leafPem, ...issuers] = blocks;
  if (!leafPem) throw new AcmeError('malformed', 0, 'the certificate download held no certificate');
  const leaf = new x509.X509Certificate(leafPem);
  const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
  const sans = san ? san.names.items.filter((name) => name.type === 'dns').map((name) => name.value) : [];
  return {
    certificatePem: `${leafPem}\n`,
    chainPem: issuers.map((pem) => `${pem}\n`).join(''),
    serial: leaf.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''),
    commonName: leaf.subjectName.getField('CN')[0] ?? sans[0] ?? '',
    sans,
    notBefore: leaf.notBefore,
    notAfter: leaf.notAfter,
  };
};

export class RfcAcmeOrderer implements AcmeOrderer {
  constructor(private readonly options: AcmeOrdererOptions) {}

  async order(request: OrderRequest): Promise<OrderResult> {
    const client = new AcmeClient({
      directoryUrl: request.directoryUrl,
      accountKey: JSON.parse(request.accountKeyJwk) as JWK,
      accountUrl: request.accountUrl ?? undefined,
      dispatcher: this.options.dispatcher,
      tracing: this.options.tracing,
      timeoutMs: this.options.callTimeoutMs,
    });
    const accountUrl = request.accountUrl ?? (await client.register(request.contact, request.eab ?? undefined));
    const deadline = Date.now() + this.options.pollBudgetMs;
    const remaining = () => Math.max(0, deadline - Date.now());
    let order = await client.newOrder(request.domains);
    for (const url of order.authorizations) await this.authorize(client, url, request, remaining);
    const { csrDer, privateKeyPem } = await keyAndCsr(request.domains);
    order = await this.untilSettled(client, order, ['ready', 'valid', 'invalid'], remaining());
    if (order.status !== 'ready' && order.status !== 'valid') throw new AcmeError('orderNotReady', 0, `order is ${order.status}`);
    if (order.status === 'ready') order = await client.finalize(order, csrDer);
    order = await this.untilSettled(client, order, ['valid', 'invalid'], remaining());
    if (order.status !== 'valid' || !order.certificate) throw new AcmeError('orderInvalid', 0, `order is ${order.status}`);
    const chain = await describeChain(await client.certificate(order.certificate));
    return { ...chain, accountUrl, privateKeyPem, orderExpires: order.expires ?? null };
  }

  /** Solves one authorization with the certificate's challenge type, and withdraws the proof whatever happens. */
  private async authorize(client: AcmeClient, url: string, request: OrderRequest, remaining: () => number): Promise<void> {
    const authorization = await client.authorization(url);
    if (authorization.status === 'valid') return;
    const challenge = authorization.challenges.find((c) => c.type === request.challengeType);
    if (!challenge) throw new AcmeError('unsupportedChallenge', 0, `no ${request.challengeType} challenge for ${authorization.identifier.value}`);
    const keyAuthorization = await client.keyAuthorization(challenge.token);
    const domain = authorization.identifier.value;
    const solver: ChallengeSolver = request.solver;
    await solver.present(domain, challenge.token, keyAuthorization);
    try {
      await client.respond(challenge.url);
      const settled = await client.poll(
        () => client.authorizationPolled(url),
        (a: AcmeAuthorization) => a.status !== 'pending' && a.status !== 'processing',
        remaining(),
      );
      if (settled.status !== 'valid') {
        const failed = settled.challenges.find((c) => c.type === request.challengeType) as { error?: { type?: string } } | undefined;
        throw new AcmeError('unauthorized', 403, `authorization for ${domain} is ${settled.status}${failed?.error?.type ? ` (${failed.error.type})` : ''}`);
      }
    } finally {
      await solver.cleanup(domain, challenge.token, keyAuthorization).catch(() => undefined);
    }
  }

  private untilSettled(client: AcmeClient, order: AcmeOrder, statuses: readonly string[], budgetMs: number): Promise<AcmeOrder> {
    if (statuses.includes(order.status)) return Promise.resolve(order);
    return client.poll(
      () => client.orderPolled(order.url),
      (o: AcmeOrder) => statuses.includes(o.status),
      budgetMs,
    );
  }
}

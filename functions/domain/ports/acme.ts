// ACME providers, the certificates ScaiVault orders from them, the challenges
// it answers while an order runs, and the protocol itself behind one port.
import type { SealedValue } from './secrets.js';

export type ChallengeType = 'http-01' | 'dns-01';
/** `pending`: never issued yet; `valid`: issued; `renewal_failed`: the last order failed (a previous certificate may still be valid). */
export type ManagedCertificateStatus = 'pending' | 'valid' | 'renewal_failed';

export interface AcmeProviderRecord {
  readonly tenantId: string;
  readonly name: string;
  readonly directoryUrl: string;
  readonly contact: readonly string[];
  /** The account's ES256 private JWK, sealed (AAD: tenant and provider). */
  readonly accountKey: SealedValue;
  /** External Account Binding: the key id in clear, the HMAC key sealed. */
  readonly eab: { readonly kid: string; readonly hmacKey: SealedValue } | null;
  /** Set once the account is registered (on first use). */
  readonly accountUrl: string | null;
  readonly createdAt: string;
}

export interface IssuedMaterial {
  readonly certificatePem: string;
  /** Issuer certificates after the leaf, PEM. */
  readonly chainPem: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly privateKey: SealedValue;
  readonly issuedAt: string;
}

export interface ManagedCertificateRecord {
  readonly tenantId: string;
  readonly name: string;
  readonly provider: string;
  readonly domains: readonly string[];
  readonly challengeType: ChallengeType;
  /** For dns-01: the Route 53 hosted zone holding the `_acme-challenge` records. */
  readonly hostedZoneId: string | null;
  readonly status: ManagedCertificateStatus;
  /** When the scheduler next orders: now for a new one, at two thirds of the lifetime after issuance, later after a failure. */
  readonly nextAttemptAt: string;
  readonly failures: number;
  /** A short reason of the last failure, never a key or token. */
  readonly lastError: string | null;
  readonly issued: IssuedMaterial | null;
  /** Set while a scheduler orders it (its claim); an outcome clears it. */
  readonly leasedUntil?: string | null;
  /** How many times the key material changed (the sealed key's AAD version). */
  readonly generation: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface AcmeRepository {
  putProvider(provider: AcmeProviderRecord): Promise<boolean>;
  getProvider(tenantId: string, name: string): Promise<AcmeProviderRecord | undefined>;
  listProviders(tenantId: string): Promise<AcmeProviderRecord[]>;
  deleteProvider(tenantId: string, name: string): Promise<boolean>;
  setAccountUrl(tenantId: string, name: string, accountUrl: string): Promise<void>;
  /** Creates a managed certificate; false when the name is taken. */
  createCertificate(certificate: ManagedCertificateRecord): Promise<boolean>;
  getCertificate(tenantId: string, name: string): Promise<ManagedCertificateRecord | undefined>;
  listCertificates(tenantId: string): Promise<ManagedCertificateRecord[]>;
  deleteCertificate(tenantId: string, name: string): Promise<boolean>;
  /** Certificates whose next attempt is before `beforeIso`, soonest first, across tenants. */
  dueCertificates(beforeIso: string, limit: number): Promise<ManagedCertificateRecord[]>;
  /** Claims a due certificate until `leaseUntilIso` if its next attempt is still `expectedNextAttemptAt`: one scheduler runs it. */
  claim(certificate: ManagedCertificateRecord, leaseUntilIso: string): Promise<boolean>;
  /** Moves the next attempt to `atIso` if it is still `expectedNextAttemptAt` (no lease taken). */
  reschedule(certificate: ManagedCertificateRecord, atIso: string): Promise<boolean>;
  /** Replaces the certificate's state after an order (only while the item still exists). */
  saveOutcome(certificate: ManagedCertificateRecord): Promise<void>;
  /**
   * Records a failed order: status, failures, last error, next attempt and lease only (while the
   * item still exists). The issued material is left as stored, so a key re-sealed by a data-key
   * rotation while the order ran is not put back under the older key.
   */
  saveFailure(certificate: ManagedCertificateRecord): Promise<void>;
}

/** The pending HTTP-01 answers, keyed by token, served on `/.well-known/acme-challenge/{token}`. */
export interface AcmeChallengeStore {
  put(token: string, keyAuthorization: string, expiresAt: Date): Promise<void>;
  get(token: string): Promise<string | undefined>;
  delete(token: string): Promise<void>;
}

/** Publishes and withdraws one challenge's proof (an HTTP-01 answer, a DNS-01 TXT record). */
export interface ChallengeSolver {
  present(domain: string, token: string, keyAuthorization: string): Promise<void>;
  cleanup(domain: string, token: string, keyAuthorization: string): Promise<void>;
}

export interface OrderRequest {
  readonly directoryUrl: string;
  /** The account's ES256 private JWK (JSON). */
  readonly accountKeyJwk: string;
  readonly accountUrl: string | null;
  readonly contact: readonly string[];
  readonly eab: { readonly kid: string; readonly hmacKey: string } | null;
  readonly domains: readonly string[];
  readonly challengeType: ChallengeType;
  readonly solver: ChallengeSolver;
}

export interface OrderResult {
  /** The account URL, when this order registered it. */
  readonly accountUrl: string;
  readonly certificatePem: string;
  readonly chainPem: string;
  /** PKCS#8 PEM of the certificate's fresh private key. */
  readonly privateKeyPem: string;
  readonly serial: string;
  readonly commonName: string;
  readonly sans: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The order's own `expires`: when the order object lapses, unrelated to the certificate's lifetime. */
  readonly orderExpires: string | null;
}

/** One ACME order end to end: account, order, challenges, CSR, finalize, download. */
export interface AcmeOrderer {
  order(request: OrderRequest): Promise<OrderResult>;
}

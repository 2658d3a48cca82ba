// The PKI's ports: where CA private keys sign, and where CAs, roles and the
// certificate inventory are kept. Domain code in functions/domain/pki/.

import type { SealedValue } from './secrets.js';

export const CA_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof CA_KEY_TYPES)[number];

/**
 * Signs with a private key that never leaves its provider. `data` is the
 * to-be-signed bytes (the provider hashes them); the answer is in WebCrypto's
 * format: IEEE P1363 r||s for ECDSA, PKCS #1 v1.5 for RSA.
 */
export interface CaSigner {
  readonly keyType: KeyType;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** An asymmetric key kept by a key provider (AWS KMS, or the local key provider in embedded mode). */
export interface ManagedKey {
  /** The provider's key id (a KMS key ARN, or `local-ca:<id>`). */
  readonly keyRef: string;
  /** DER SubjectPublicKeyInfo. */
  readonly publicKeySpki: Uint8Array;
}

/** The `key_backend: "kms"` port: asymmetric keys that sign in place. */
export interface AsymmetricKeyProvider {
  readonly provider: string;
  createKey(keyType: KeyType, description: string): Promise<ManagedKey>;
  signer(keyRef: string, keyType: KeyType): CaSigner;
}

export type CaKeyBackend = 'sealed' | 'kms';
export type CaStatus = 'active' | 'pending';

export interface CaRecord {
  readonly tenantId: string;
  readonly caId: string;
  readonly name: string;
  /** root, or intermediate (signed by a parent, here or elsewhere). */
  readonly kind: 'root' | 'intermediate';
  /** pending: an intermediate whose signed certificate has not been imported yet. */
  readonly status: CaStatus;
  readonly keyType: KeyType;
  readonly keyBackend: CaKeyBackend;
  /** PKCS #8 DER, base64, sealed under the tenant's data key (backend `sealed`). */
  readonly sealedKey: SealedValue | null;
  /** The provider's key id (backend `kms`). */
  readonly keyRef: string | null;
  readonly certificatePem: string | null;
  /** The issuers above this CA, nearest first, PEM. */
  readonly chainPem: readonly string[];
  readonly csrPem: string | null;
  readonly notAfter: string | null;
  readonly createdAt: string;
  readonly crlNumber: number;
}

export interface RoleRecord {
  readonly tenantId: string;
  readonly caId: string;
  readonly name: string;
  readonly allowedDomains: readonly string[];
  readonly allowSubdomains: boolean;
  readonly allowGlobs: boolean;
  readonly allowBareDomains: boolean;
  readonly allowIpSans: boolean;
  readonly keyTypes: readonly KeyType[];
  readonly maxTtlSeconds: number;
  readonly defaultTtlSeconds: number;
  readonly keyUsages: readonly string[];
  readonly extKeyUsages: readonly string[];
  readonly onCaExpiry: 'refuse' | 'truncate';
  readonly updatedAt: string;
}

export type CertificateState = 'active' | 'revoked';

export interface StoredCertificate {
  readonly tenantId: string;
  readonly caId: string;
  readonly serial: string;
  readonly commonName: string;
  readonly sans: readonly string[];
  readonly notBefore: string;
  readonly notAfter: string;
  readonly role: string;
  readonly issuerType: string;
  readonly state: CertificateState;
  readonly revokedAt: string | null;
  readonly revocationReason: number | null;
  readonly certificatePem: string;
}

export interface RevokedEntry {
  readonly serial: string;
  readonly revokedAt: string;
  readonly reason: number;
  readonly notAfter: string;
}

/** A certificate found through the expiry index. */
export interface ExpiringCertificate {
  readonly tenantId: string;
  readonly caId: string;
  readonly serial: string;
  readonly commonName: string;
  readonly notAfter: string;
}

export interface PkiRepository {
  putCa(ca: CaRecord, expectNew: boolean): Promise<void>;
  /** By id alone: CA ids are globally unique, so the unauthenticated CRL and OCSP URLs find them. */
  getCa(caId: string): Promise<CaRecord | undefined>;
  listCas(tenantId: string): Promise<CaRecord[]>;
  /** Every CA of every tenant (the scheduler's CRL rebuild and expiry gauges). */
  allCas(): Promise<CaRecord[]>;
  /** Bumps the CRL number and returns the new one. */
  nextCrlNumber(caId: string): Promise<number>;
  /** The CA's latest signed CRL (DER), served unauthenticated. */
  putCrl(caId: string, crl: PublishedCrl): Promise<void>;
  getCrl(caId: string): Promise<PublishedCrl | undefined>;
  putRole(role: RoleRecord): Promise<void>;
  getRole(tenantId: string, caId: string, name: string): Promise<RoleRecord | undefined>;
  listRoles(tenantId: string, caId: string): Promise<RoleRecord[]>;
  deleteRole(tenantId: string, caId: string, name: string): Promise<boolean>;
}

export interface CertificateStore {
  getCertificate(tenantId: string, caId: string, serial: string): Promise<StoredCertificate | undefined>;
  listCertificates(
    tenantId: string,
    caId: string,
    limit: number,
    cursor: string | undefined,
  ): Promise<{ items: StoredCertificate[]; nextCursor: string | undefined }>;
  /** Marks it revoked (false when it already was) and adds it to its CA's revocation list. */
  revoke(tenantId: string, caId: string, serial: string, reason: number, at: string): Promise<boolean>;
  revokedEntries(tenantId: string, caId: string): Promise<RevokedEntry[]>;
  /** Active certificates whose not-after is in [fromIso, beforeIso), soonest first, through the expiry index. */
  expiringBetween(fromIso: string, beforeIso: string, options: { limit?: number; unnotifiedOnly?: boolean }): Promise<ExpiringCertificate[]>;
  /** How many active certificates expire in [fromIso, beforeIso): a count over the expiry index. */
  countExpiring(fromIso: string, beforeIso: string): Promise<number>;
  /** Active, unexpired certificates per CA id (`scaivault_certificates_active`). */
  activeByCa(nowIso: string): Promise<Map<string, number>>;
  /** Records that `certificate.expiring` went out for it; false when it already had. */
  markExpiryNotified(cert: ExpiringCertificate, at: string): Promise<boolean>;
  /** Removes certificates (and their revocation entries) whose not-after is before `beforeIso`; returns how many. */
  tidy(beforeIso: string, tenantId?: string, caId?: string): Promise<number>;
}

export interface PublishedCrl {
  readonly der: Uint8Array;
  readonly number: number;
  readonly thisUpdate: string;
  readonly nextUpdate: string;
}

/** Where signed CRLs are published besides the API (the audit bucket's `pki/` prefix). */
export interface CrlPublisher {
  publish(tenantId: string, caId: string, der: Uint8Array, pem: string): Promise<void>;
}

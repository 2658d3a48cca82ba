// Where every certificate ScaiVault issues is recorded: by its own CAs (PKI) and
// through ACME orders. Expiry questions (metrics, warnings, renewals) are queries
// on this inventory's index by not-after, never table scans.

export type CertificateIssuerType = 'internal' | 'acme';

export interface IssuedCertificateRecord {
  readonly tenantId: string;
  /** A tenant CA's id, or `acme:<provider>` for a certificate ordered from an ACME provider. */
  readonly caId: string;
  /** Lowercase hex, no separators. */
  readonly serial: string;
  readonly commonName: string;
  readonly sans: readonly string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The PKI role it was issued under, or the managed certificate's name for ACME. */
  readonly role: string;
  readonly issuerType: CertificateIssuerType;
  /** The certificate only, PEM; never a private key. */
  readonly certificatePem: string;
}

export interface CertificateInventorySink {
  /** Records an issued certificate; idempotent on (tenant, caId, serial). */
  recordIssued(record: IssuedCertificateRecord): Promise<void>;
}

// Certificates, CSRs and names built with @peculiar/x509 (never hand-written ASN.1).
import { createHash } from 'node:crypto';
import type { CaSigner } from '../ports/pki.js';
import { KEY_TYPE_SPECS } from './key-types.js';
import { loadX509, signingParams, type X509 } from './x509.js';

type KeyUsageName = keyof typeof import('@peculiar/x509').KeyUsageFlags;
type ExtKeyUsageName = keyof typeof import('@peculiar/x509').ExtendedKeyUsage;

export interface CertificateTemplate {
  readonly serial: string;
  /** An RFC 4514 name, e.g. `CN=web.example.com`. */
  readonly subject: string;
  readonly publicKeySpki: Uint8Array;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly keyUsages: readonly string[];
  readonly extKeyUsages?: readonly string[];
  /** A CA certificate (root or intermediate): basicConstraints CA:true. */
  readonly isCa?: boolean;
}

/** Who signs: the issuer's certificate (absent for a self-signed root) and its signer. */
export interface Issuer {
  readonly certificatePem: string | null;
  readonly signer: CaSigner;
}

/** An RFC 4514 common name with its special characters escaped. */
export const cnName = (commonName: string): string => `CN=${commonName.replace(/([,+"\\<>;=#])/g, '\\$1')}`;

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits, hex. */
const keyIdentifier = async (spki: Uint8Array): Promise<string> => {
  const [schema, asn] = await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-x509')]);
  const info = schema.AsnConvert.parse(spki, asn.SubjectPublicKeyInfo);
  return createHash('sha1').update(Buffer.from(info.subjectPublicKey)).digest('hex');
};

interface ParsedIssuer {
  readonly name: InstanceType<X509['Name']>;
  /** The issuer's own subject key id when it has one (an imported CA may compute it another way), so chains link. */
  readonly keyId: string;
}

/** Issuer certificates parsed once: every issuance under a CA reads the same PEM. */
const issuers = new Map<string, ParsedIssuer>();

const parsedIssuer = async (x509: X509, pem: string): Promise<ParsedIssuer> => {
  const cached = issuers.get(pem);
  if (cached) return cached;
  const certificate = new x509.X509Certificate(pem);
  const ski = certificate.getExtension(x509.SubjectKeyIdentifierExtension);
  const parsed = { name: certificate.subjectName, keyId: ski ? ski.keyId : await keyIdentifier(new Uint8Array(certificate.publicKey.rawData)) };
  if (issuers.size >= 1000) issuers.delete(issuers.keys().next().value ?? '');
  issuers.set(pem, parsed);
  return parsed;
};

const extensionsOf = async (x509: X509, template: CertificateTemplate, issuer: Issuer) => {
  const usages = template.keyUsages.reduce((flags, name) => flags | (x509.KeyUsageFlags[name as KeyUsageName] ?? 0), 0);
  const subjectKeyId = await keyIdentifier(template.publicKeySpki);
  const authorityKeyId = issuer.certificatePem ? (await parsedIssuer(x509, issuer.certificatePem)).keyId : subjectKeyId;
  const extensions: InstanceType<X509['Extension']>[] = [
    new x509.BasicConstraintsExtension(template.isCa === true, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.SubjectKeyIdentifierExtension(subjectKeyId),
    new x509.AuthorityKeyIdentifierExtension(authorityKeyId),
  ];
  if (template.extKeyUsages?.length) {
    extensions.push(new x509.ExtendedKeyUsageExtension(template.extKeyUsages.map((name) => x509.ExtendedKeyUsage[name as ExtKeyUsageName])));
  }
  const names = [
    ...(template.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(template.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  return extensions;
};

/** Signs `template` as `issuer` (or self-signed when the issuer has no certificate yet); returns PEM. */
export const signCertificate = async (template: CertificateTemplate, issuer: Issuer): Promise<string> => {
  const x509 = await loadX509();
  const { crypto, signingKey, signingAlgorithm } = signingParams(issuer.signer);
  const issuerName = issuer.certificatePem ? (await parsedIssuer(x509, issuer.certificatePem)).name : new x509.Name(template.subject);
  const certificate = await x509.X509CertificateGenerator.create(
    {
      serialNumber: template.serial,
      subject: template.subject,
      issuer: issuerName,
      notBefore: template.notBefore,
      notAfter: template.notAfter,
      publicKey: template.publicKeySpki,
      signingKey,
      signingAlgorithm,
      extensions: await extensionsOf(x509, template, issuer),
    },
    crypto,
  );
  return certificate.toString('pem');
};

/** A PKCS #10 request for a CA key (an intermediate waiting for its parent's signature). */
export const caCsr = async (subject: string, publicKeySpki: Uint8Array, signer: CaSigner): Promise<string> => {
  const x509 = await loadX509();
  const { crypto, signingKey, signingAlgorithm } = signingParams(signer);
  const spec = KEY_TYPE_SPECS[signer.keyType];
  const publicKey = await crypto.subtle.importKey('spki', publicKeySpki, spec.keyAlgorithm as never, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subject,
      keys: { privateKey: signingKey, publicKey },
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ],
    },
    crypto,
  );
  return csr.toString('pem');
};

/** What a certificate says about itself, as the inventory records it. */
export interface CertificateFacts {
  readonly serial: string;
  readonly subject: string;
  readonly commonName: string;
  readonly sans: string[];
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKeySpki: Uint8Array;
  readonly isCa: boolean;
}

export const certificateFacts = async (pem: string): Promise<CertificateFacts> => {
  const x509 = await loadX509();
  const certificate = new x509.X509Certificate(pem);
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const basic = certificate.getExtension(x509.BasicConstraintsExtension);
  return {
    serial: certificate.serialNumber.toLowerCase(),
    subject: certificate.subject,
    commonName: certificate.subjectName.getField('CN')[0] ?? '',
    sans: san ? san.names.items.map((name) => name.value) : [],
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    publicKeySpki: new Uint8Array(certificate.publicKey.rawData),
    isCa: basic?.ca === true,
  };
};

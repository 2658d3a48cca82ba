// Tenant CAs: a generated root, an intermediate generated as a CSR and
// completed by importing its signed certificate, or an existing CA imported
// with its key. The private key is sealed under the tenant's data key (AAD
// bound to tenant and CA) or kept in a KMS asymmetric key that signs in place.
import { createPrivateKey, createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import type { AuthService } from '../auth/auth-service.js';
import type { KeyManager } from '../crypto/key-manager.js';
import type { SealContext } from '../crypto/envelope.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { AsymmetricKeyProvider, CaKeyBackend, CaRecord, CaSigner, KeyType, PkiRepository } from '../ports/pki.js';
import { TtlCache } from '../ttl-cache.js';
import { caCsr, certificateFacts, cnName, signCertificate } from './certificate-builder.js';
import { generateKey, InMemorySigner, keyTypeOf } from './key-types.js';
import { loadX509, randomSerial } from './x509.js';

export const MAX_CA_TTL_SECONDS = 30 * 365 * 24 * 3600;

export interface NewCaInput {
  readonly name: string;
  readonly commonName: string;
  readonly keyType: KeyType;
  readonly keyBackend: CaKeyBackend;
  readonly ttlSeconds: number;
}

export interface ImportCaInput {
  readonly name: string;
  readonly certificatePem: string;
  readonly privateKeyPem: string;
  readonly chainPem: readonly string[];
}

/** Where a CA's sealed key is bound: moving the ciphertext to another tenant or CA breaks it. */
export const caKeyContext = (tenantId: string, caId: string): SealContext => ({ tenantId, path: `pki/cas/${caId}`, version: 1 });

/** The policy path of a CA (and, below it, its roles and certificates). */
export const caPath = (caId: string): string => `pki/cas/${caId}`;

const newCaId = (): string => `ca_${randomBytes(12).toString('hex')}`;

export class CaService {
  /** Opened CA keys, kept briefly so a burst of issuance opens each once. */
  private readonly signers: TtlCache<CaSigner>;

  constructor(
    private readonly repository: PkiRepository,
    private readonly keys: KeyManager,
    private readonly auth: AuthService,
    private readonly kmsKeys: AsymmetricKeyProvider,
    signerCacheMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.signers = new TtlCache(signerCacheMs, 1000, now);
  }

  async createRoot(principal: Principal, input: NewCaInput): Promise<CaRecord> {
    await this.auth.require(principal, 'admin', 'pki/cas');
    const caId = newCaId();
    const { publicKeySpki, key } = await this.newKey(principal.tenantId, caId, input);
    const notBefore = new Date(this.now() - 60_000);
    const ca = this.record(principal.tenantId, caId, input, key, { kind: 'root', status: 'active' });
    const signer = await this.signerOf(ca);
    const certificatePem = await signCertificate(
      {
        serial: randomSerial(),
        subject: cnName(input.commonName),
        publicKeySpki,
        notBefore,
        notAfter: new Date(notBefore.getTime() + input.ttlSeconds * 1000),
        keyUsages: ['keyCertSign', 'cRLSign', 'digitalSignature'],
        isCa: true,
      },
      { certificatePem: null, signer },
    );
    const done = { ...ca, certificatePem, notAfter: (await certificateFacts(certificatePem)).notAfter.toISOString() };
    await this.repository.putCa(done, true);
    return done;
  }

  /** An intermediate's key and CSR; it signs nothing until its signed certificate is imported. */
  async createIntermediate(principal: Principal, input: NewCaInput): Promise<CaRecord> {
    await this.auth.require(principal, 'admin', 'pki/cas');
    const caId = newCaId();
    const { publicKeySpki, key } = await this.newKey(principal.tenantId, caId, input);
    const ca = this.record(principal.tenantId, caId, input, key, { kind: 'intermediate', status: 'pending' });
    const csrPem = await caCsr(cnName(input.commonName), publicKeySpki, await this.signerOf(ca));
    const done = { ...ca, csrPem };
    await this.repository.putCa(done, true);
    return done;
  }

  /** Completes a pending intermediate with the certificate its parent signed for its CSR. */
  async importSigned(principal: Principal, caId: string, certificatePem: string, chainPem: readonly string[]): Promise<CaRecord> {
    const ca = await this.get(principal, caId, 'admin');
    if (ca.status !== 'pending') throw new ConflictError(`CA ${caId} already has its certificate`);
    const facts = await parseCertificate(certificatePem, 'certificate');
    const csrFacts = await csrPublicKey(ca.csrPem ?? '');
    if (!Buffer.from(facts.publicKeySpki).equals(Buffer.from(csrFacts))) {
      throw new ValidationError("the certificate's public key is not the key of this CA's CSR", 'certificate');
    }
    if (!facts.isCa) throw new ValidationError('the certificate is not a CA certificate (basicConstraints CA:TRUE)', 'certificate');
    const done: CaRecord = { ...ca, status: 'active', certificatePem: certificatePem.trim(), chainPem, csrPem: null, notAfter: facts.notAfter.toISOString() };
    await this.repository.putCa(done, false);
    return done;
  }

  /** An existing CA with its private key; the key is sealed at once and never returned. */
  async importCa(principal: Principal, input: ImportCaInput): Promise<CaRecord> {
    await this.auth.require(principal, 'admin', 'pki/cas');
    const facts = await parseCertificate(input.certificatePem, 'certificate');
    if (!facts.isCa) throw new ValidationError('the certificate is not a CA certificate (basicConstraints CA:TRUE)', 'certificate');
    const privateKey = parsePrivateKey(input.privateKeyPem);
    const keyType = keyTypeOf(privateKey);
    if (!keyType) throw new ValidationError('the private key must be EC P-256/P-384 or RSA 2048/3072/4096', 'private_key');
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    if (!spki.equals(Buffer.from(facts.publicKeySpki))) throw new ValidationError('the private key does not match the certificate', 'private_key');
    const caId = newCaId();
    const sealedKey = await this.sealKey(principal.tenantId, caId, privateKey);
    const base = { name: input.name, commonName: facts.commonName, keyType, keyBackend: 'sealed' as const, ttlSeconds: 0 };
    const ca: CaRecord = {
      ...this.record(principal.tenantId, caId, base, { sealedKey, keyRef: null }, { kind: input.chainPem.length ? 'intermediate' : 'root', status: 'active' }),
      certificatePem: input.certificatePem.trim(),
      chainPem: input.chainPem,
      notAfter: facts.notAfter.toISOString(),
    };
    await this.repository.putCa(ca, true);
    return ca;
  }

  async list(principal: Principal): Promise<CaRecord[]> {
    const all = await this.repository.listCas(principal.tenantId);
    const visible: CaRecord[] = [];
    for (const ca of all) if (await this.auth.can(principal, 'list', caPath(ca.caId))) visible.push(ca);
    return visible;
  }

  /** A CA of the caller's tenant: another tenant's CA is as unknown as a missing one. */
  async get(principal: Principal, caId: string, capability: 'read' | 'admin' | 'list' = 'read'): Promise<CaRecord> {
    await this.auth.require(principal, capability, caPath(caId));
    const ca = await this.repository.getCa(caId);
    if (!ca || ca.tenantId !== principal.tenantId) throw new NotFoundError(`CA ${caId} not found`);
    return ca;
  }

  /** The CA's signer: its sealed key opened (and cached briefly), or its KMS key. */
  async signerOf(ca: CaRecord): Promise<CaSigner> {
    const cached = this.signers.get(ca.caId);
    if (cached) return cached;
    let signer: CaSigner;
    if (ca.keyBackend === 'kms') {
      signer = this.kmsKeys.signer(ca.keyRef ?? '', ca.keyType);
    } else {
      if (!ca.sealedKey) throw new ValidationError(`CA ${ca.caId} has no key`);
      const pkcs8 = Buffer.from(await this.keys.open(ca.sealedKey, caKeyContext(ca.tenantId, ca.caId)), 'base64');
      signer = new InMemorySigner(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), ca.keyType);
      pkcs8.fill(0);
    }
    this.signers.set(ca.caId, signer);
    return signer;
  }

  private async newKey(tenantId: string, caId: string, input: NewCaInput) {
    if (input.keyBackend === 'kms') {
      const managed = await this.kmsKeys.createKey(input.keyType, `ScaiVault CA ${caId} of tenant ${tenantId}`);
      return { publicKeySpki: managed.publicKeySpki, key: { sealedKey: null, keyRef: managed.keyRef } };
    }
    const { publicKey, privateKey } = await generateKey(input.keyType);
    const sealedKey = await this.sealKey(tenantId, caId, privateKey);
    return { publicKeySpki: new Uint8Array(publicKey.export({ type: 'spki', format: 'der' })), key: { sealedKey, keyRef: null } };
  }

  private async sealKey(tenantId: string, caId: string, privateKey: KeyObject) {
    const keyId = await this.auth.activeKeyId(tenantId);
    return this.keys.seal(keyId, privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'), caKeyContext(tenantId, caId));
  }

  private record(
    tenantId: string,
    caId: string,
    input: Pick<NewCaInput, 'name' | 'keyType' | 'keyBackend'>,
    key: Pick<CaRecord, 'sealedKey' | 'keyRef'>,
    state: Pick<CaRecord, 'kind' | 'status'>,
  ): CaRecord {
    return {
      tenantId,
      caId,
      name: input.name,
      ...state,
      keyType: input.keyType,
      keyBackend: input.keyBackend,
      ...key,
      certificatePem: null,
      chainPem: [],
      csrPem: null,
      notAfter: null,
      createdAt: new Date(this.now()).toISOString(),
      crlNumber: 0,
    };
  }
}

const parseCertificate = async (pem: string, field: string) => {
  try {
    return await certificateFacts(pem);
  } catch {
    throw new ValidationError(`${field} is not a PEM X.509 certificate`, field);
  }
};

const parsePrivateKey = (pem: string): KeyObject => {
  try {
    return createPrivateKey(pem);
  } catch {
    // Never echo any of the key in the message.
    throw new ValidationError('private_key is not a PEM private key (PKCS #8, SEC 1 or PKCS #1), unencrypted', 'private_key');
  }
};

const csrPublicKey = async (csrPem: string): Promise<Uint8Array> => {
  const x509 = await loadX509();
  return new Uint8Array(new x509.Pkcs10CertificateRequest(csrPem).publicKey.rawData);
};

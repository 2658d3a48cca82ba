import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { LocalKeyWrapper } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { AcmeRenewals, DEFAULT_RENEWAL_OPTIONS } from '../../functions/domain/acme/acme-renewals.js';
import { accountKeyContext, certificateKeyContext } from '../../functions/domain/acme/acme-service.js';
import { renewalTime } from '../../functions/domain/acme/acme-validation.js';
import { DataKeyCache } from '../../functions/domain/crypto/data-key-cache.js';
import { KeyManager } from '../../functions/domain/crypto/key-manager.js';
import type { VaultEvent } from '../../functions/domain/events/events.js';
import type { AcmeOrderer, ChallengeSolver, ManagedCertificateRecord, OrderRequest, OrderResult } from '../../functions/domain/ports/acme.js';
import type { IssuedCertificateRecord } from '../../functions/domain/ports/certificate-inventory.js';
import { InMemoryAcmeRepository } from './support/in-memory-acme-repository.js';
import { InMemoryAuthRepository } from './support/in-memory-auth-repository.js';
import { RecordingAuditLog, RecordingLogger } from './support/recorders.js';

const T0 = Date.parse('2026-05-01T00:00:00.000Z');
const DAY = 86_400_000;
const NOOP_SOLVER: ChallengeSolver = { present: async () => undefined, cleanup: async () => undefined };

class ScriptedOrderer implements AcmeOrderer {
  readonly requests: OrderRequest[] = [];
  next: (request: OrderRequest) => Promise<OrderResult> = async () => {
    throw new Error('no script');
  };
  order(request: OrderRequest): Promise<OrderResult> {
    this.requests.push(request);
    return this.next(request);
  }
}

const issuedResult = (notBefore: number, notAfter: number, serial = 'abc123'): OrderResult => ({
  accountUrl: 'https://ca.example/acct/1',
  certificatePem: '-----BEGIN CERTIFICATE-----\nleaf\n-----END CERTIFICATE-----\n',
  chainPem: '',
  privateKeyPem: '-----BEGIN PRIVATE KEY-----\nsecret-key-material\n-----END PRIVATE KEY-----\n',
  serial,
  commonName: 'a.example.com',
  sans: ['a.example.com'],
  notBefore: new Date(notBefore),
  notAfter: new Date(notAfter),
  // An order lapses in days; the certificate lives far longer: renewal must not follow this.
  orderExpires: new Date(notBefore + 7 * DAY).toISOString(),
});

describe('AcmeRenewals', () => {
  let now = T0;
  let repository: InMemoryAcmeRepository;
  let keys: KeyManager;
  let keyId: string;
  let orderer: ScriptedOrderer;
  let inventory: IssuedCertificateRecord[];
  let events: VaultEvent[];
  let audit: RecordingAuditLog;
  let metrics: { provider: string; status: string }[];
  let renewals: AcmeRenewals;

  const certificate = (overrides: Partial<ManagedCertificateRecord> = {}): ManagedCertificateRecord => ({
    tenantId: 't1',
    name: 'web',
    provider: 'le',
    domains: ['a.example.com'],
    challengeType: 'http-01',
    hostedZoneId: null,
    status: 'pending',
    nextAttemptAt: new Date(now - 1000).toISOString(),
    failures: 0,
    lastError: null,
    issued: null,
    generation: 0,
    createdAt: new Date(now).toISOString(),
    updatedAt: new Date(now).toISOString(),
    ...overrides,
  });

  beforeEach(async () => {
    now = T0;
    const authRepository = new InMemoryAuthRepository();
    keys = new KeyManager(new LocalKeyWrapper(randomBytes(32)), authRepository, new DataKeyCache(300, 100));
    keyId = await keys.createDataKey('t1');
    repository = new InMemoryAcmeRepository();
    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    await repository.putProvider({
      tenantId: 't1',
      name: 'le',
      directoryUrl: 'https://ca.example/dir',
      contact: [],
      accountKey: await keys.seal(keyId, JSON.stringify(jwk), accountKeyContext('t1', 'le')),
      eab: null,
      accountUrl: null,
      createdAt: new Date(now).toISOString(),
    });
    orderer = new ScriptedOrderer();
    inventory = [];
    events = [];
    audit = new RecordingAuditLog();
    metrics = [];
    renewals = new AcmeRenewals({
      repository,
      keys,
      activeKeyId: async () => keyId,
      orderer,
      solverFor: () => NOOP_SOLVER,
      inventory: { recordIssued: async (record) => void inventory.push(record) },
      metrics: { acmeOrderFinished: (provider, status) => void metrics.push({ provider, status }) },
      events: { publish: async (event) => void events.push(event) },
      audit,
      logger: new RecordingLogger(),
      now: () => now,
    });
  });

  it("schedules renewal when a third of the certificate's own lifetime remains, never at the order's expiry", async () => {
    await repository.createCertificate(certificate());
    orderer.next = async () => issuedResult(now, now + 90 * DAY);
    expect(await renewals.runDue()).toEqual({ ordered: 1, failed: 0 });

    const stored = (await repository.getCertificate('t1', 'web'))!;
    expect(stored.status).toBe('valid');
    expect(stored.nextAttemptAt).toBe(new Date(now + 60 * DAY).toISOString());
    expect(renewalTime(new Date(now), new Date(now + 90 * DAY)).getTime()).toBe(now + 60 * DAY);
    // The key is sealed, bound to this certificate's generation, and opens again.
    expect(JSON.stringify(stored)).not.toContain('secret-key-material');
    expect(await keys.open(stored.issued!.privateKey, certificateKeyContext('t1', 'web', 1))).toContain('secret-key-material');
    await expect(keys.open(stored.issued!.privateKey, certificateKeyContext('t1', 'other', 1))).rejects.toThrow();

    expect(inventory).toEqual([expect.objectContaining({ caId: 'acme:le', issuerType: 'acme', serial: 'abc123', role: 'web', tenantId: 't1' })]);
    expect(JSON.stringify(inventory)).not.toContain('PRIVATE KEY');
    expect(events.map((e) => e.type)).toEqual(['certificate.issued']);
    expect(metrics).toEqual([{ provider: 'le', status: 'valid' }]);
    expect(audit.ofType('acme.order').map((d) => d.outcome)).toEqual(['attempted', 'success']);
    expect((await repository.getProvider('t1', 'le'))?.accountUrl).toBe('https://ca.example/acct/1');

    // Nothing is due until then; at the renewal time it is ordered again and announced as renewed.
    now += 59 * DAY;
    expect(await renewals.runDue()).toEqual({ ordered: 0, failed: 0 });
    now += 1 * DAY + 1000;
    orderer.next = async () => issuedResult(now, now + 90 * DAY, 'def456');
    expect(await renewals.runDue()).toEqual({ ordered: 1, failed: 0 });
    expect(orderer.requests[1]?.accountUrl).toBe('https://ca.example/acct/1');
    expect(events.map((e) => e.type)).toEqual(['certificate.issued', 'certificate.renewed']);
    expect((await repository.getCertificate('t1', 'web'))?.generation).toBe(2);
  });

  it('records a failed order, counts it, announces certificate.renewal_failed and backs off', async () => {
    await repository.createCertificate(certificate({ status: 'valid', issued: null }));
    orderer.next = async () => {
      throw Object.assign(new Error('detail with key-authorization token.thumbprint'), { name: 'AcmeError', code: 'unauthorized' });
    };
    expect(await renewals.runDue()).toEqual({ ordered: 0, failed: 1 });
    const stored = (await repository.getCertificate('t1', 'web'))!;
    expect(stored).toMatchObject({ status: 'renewal_failed', failures: 1, lastError: 'AcmeError(unauthorized)' });
    expect(stored.nextAttemptAt).toBe(new Date(now + DEFAULT_RENEWAL_OPTIONS.retryBaseMs).toISOString());
    expect(events).toEqual([
      expect.objectContaining({ type: 'certificate.renewal_failed', data: expect.objectContaining({ reason: 'AcmeError(unauthorized)', failures: 1 }) }),
    ]);
    expect(JSON.stringify(events)).not.toContain('thumbprint');
    expect(metrics).toEqual([{ provider: 'le', status: 'failed' }]);
    expect(audit.ofType('acme.order').map((d) => d.outcome)).toEqual(['attempted', 'failure']);

    now += DEFAULT_RENEWAL_OPTIONS.retryBaseMs + 1;
    expect(await renewals.runDue()).toEqual({ ordered: 0, failed: 1 });
    expect((await repository.getCertificate('t1', 'web'))?.nextAttemptAt).toBe(new Date(now + 2 * DEFAULT_RENEWAL_OPTIONS.retryBaseMs).toISOString());
  });

  it('orders nothing when its audit record cannot be written, and leaves a claimed certificate to its claimant', async () => {
    await repository.createCertificate(certificate());
    audit.failing.add('acme.order');
    await expect(renewals.runDue()).rejects.toThrow();
    expect(orderer.requests).toHaveLength(0);

    audit.failing.clear();
    const stale = certificate();
    expect(await repository.claim((await repository.getCertificate('t1', 'web'))!, new Date(now + 60_000).toISOString())).toBe(true);
    expect(await repository.claim(stale, new Date(now + 60_000).toISOString())).toBe(false);
    expect(await renewals.runDue()).toEqual({ ordered: 0, failed: 0 });
    expect((await repository.getCertificate('t1', 'web'))?.leasedUntil).toBe(new Date(now + 60_000).toISOString());
  });
});

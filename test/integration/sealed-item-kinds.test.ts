import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAcmeRepository } from '../../functions/adapters/dynamodb/dynamodb-acme-repository.js';
import { DynamoDbPkiRepository } from '../../functions/adapters/dynamodb/dynamodb-pki-repository.js';
import { sealedItemKinds } from '../../functions/adapters/dynamodb/sealed-item-kinds.js';
import { accountKeyContext, certificateKeyContext, eabKeyContext } from '../../functions/domain/acme/acme-service.js';
import type { ManagedCertificateRecord } from '../../functions/domain/ports/acme.js';
import type { SealedItemKind } from '../../functions/domain/ports/keys.js';
import type { CaRecord } from '../../functions/domain/ports/pki.js';
import type { SealedValue } from '../../functions/domain/ports/secrets.js';
import { caKeyContext } from '../../functions/domain/pki/ca-service.js';
import { STATE_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { DynaliteProcess } from './support/processes.js';

// The data-key rotation's CA and ACME kinds against dynalite: they list every sealed
// key a tenant holds (and no other tenant's, and no KMS-held CA key), read each with the
// AAD its owner sealed it with, and replace it only while it is still the value read.

let counter = 0;
const sealed = (keyId: string): SealedValue => {
  counter += 1;
  return { keyId, iv: new Uint8Array(12).fill(counter), ciphertext: new Uint8Array([counter, 1, 2, 3]) };
};

const ca = (tenantId: string, caId: string, sealedKey: SealedValue | null): CaRecord => ({
  tenantId,
  caId,
  name: caId,
  kind: 'root',
  status: 'active',
  keyType: 'ec-p256',
  keyBackend: sealedKey ? 'sealed' : 'kms',
  sealedKey,
  keyRef: sealedKey ? null : 'kms-key-1',
  certificatePem: '-----BEGIN CERTIFICATE-----',
  chainPem: [],
  csrPem: null,
  notAfter: '2030-01-01T00:00:00.000Z',
  createdAt: '2026-11-30T00:00:00.000Z',
  crlNumber: 0,
});

const certificate = (tenantId: string, name: string, privateKey: SealedValue | null): ManagedCertificateRecord => ({
  tenantId,
  name,
  provider: 'le',
  domains: [`${name}.example`],
  challengeType: 'http-01',
  hostedZoneId: null,
  status: privateKey ? 'valid' : 'pending',
  nextAttemptAt: '2026-12-01T00:00:00.000Z',
  failures: 0,
  lastError: null,
  issued: privateKey
    ? {
        certificatePem: 'pem',
        chainPem: 'chain',
        serial: '01',
        notBefore: '2026-11-30T00:00:00.000Z',
        notAfter: '2027-02-28T00:00:00.000Z',
        privateKey,
        issuedAt: '2026-11-30T00:00:00.000Z',
      }
    : null,
  generation: 3,
  createdAt: '2026-11-30T00:00:00.000Z',
  updatedAt: '2026-11-30T00:00:00.000Z',
});

/** Every item of a kind for a tenant, one at a time, so every cursor is used. */
const listAll = async (kind: SealedItemKind, tenantId: string) => {
  const ids: { id: string; keyId: string }[] = [];
  let cursor: string | undefined;
  do {
    const page = await kind.list(tenantId, cursor, 1);
    ids.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return ids;
};

describe('sealed-item kinds of the PKI and ACME', () => {
  let dynalite: DynaliteProcess;
  let client: DynamoDBClient;
  let caKind: SealedItemKind;
  let acmeKind: SealedItemKind;

  beforeAll(async () => {
    dynalite = await DynaliteProcess.start();
    client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    await ensureTable(client, STATE_TABLE);
    const kinds = sealedItemKinds(client, STATE_TABLE.id);
    caKind = kinds.find((kind) => kind.name === 'ca_key')!;
    acmeKind = kinds.find((kind) => kind.name === 'acme_key')!;
    const pki = new DynamoDbPkiRepository(client, STATE_TABLE.id);
    await pki.putCa(ca('acme', 'ca_1', sealed('k1')), true);
    await pki.putCa(ca('acme', 'ca_2', sealed('k2')), true);
    await pki.putCa(ca('acme', 'ca_kms', null), true);
    await pki.putCa(ca('acmex', 'ca_other', sealed('k1')), true);
    const acme = new DynamoDbAcmeRepository(client, STATE_TABLE.id);
    const provider = { tenantId: 'acme', directoryUrl: 'https://acme.example/dir', contact: [], accountUrl: null, createdAt: '2026-11-30T00:00:00.000Z' };
    await acme.putProvider({ ...provider, name: 'le', accountKey: sealed('k1'), eab: { kid: 'kid-1', hmacKey: sealed('k1') } });
    await acme.putProvider({ ...provider, name: 'zerossl', accountKey: sealed('k2'), eab: null });
    await acme.createCertificate(certificate('acme', 'web', sealed('k2')));
    await acme.createCertificate(certificate('acme', 'pending', null));
  }, 60_000);

  afterAll(async () => {
    client?.destroy();
    await dynalite?.stop();
  });

  it("lists the tenant's sealed CA keys, not a KMS-held one nor another tenant's, and reads each with its AAD", async () => {
    expect(await listAll(caKind, 'acme')).toEqual([
      { id: 'ca_1', keyId: 'k1' },
      { id: 'ca_2', keyId: 'k2' },
    ]);
    const read = await caKind.read('acme', 'ca_1');
    expect(read?.context).toEqual(caKeyContext('acme', 'ca_1'));
    expect(read?.sealed.keyId).toBe('k1');
    expect(await caKind.read('acmex', 'ca_1')).toBeUndefined();
    expect(await caKind.read('acme', 'ca_kms')).toBeUndefined();
  });

  it('replaces a CA key only while it is the value read, and the CA still reads whole', async () => {
    const read = (await caKind.read('acme', 'ca_2'))!;
    const next = sealed('k3');
    expect(await caKind.replace('acme', read, next)).toBe(true);
    expect(await caKind.replace('acme', read, sealed('k3'))).toBe(false);
    const stored = await new DynamoDbPkiRepository(client, STATE_TABLE.id).getCa('ca_2');
    expect(stored?.sealedKey).toEqual(next);
    expect(stored?.name).toBe('ca_2');
  });

  it('refuses to write back a CA record whose key was re-sealed after it was read', async () => {
    const pki = new DynamoDbPkiRepository(client, STATE_TABLE.id);
    await pki.putCa({ ...ca('acme', 'ca_pending', sealed('k1')), status: 'pending' }, true);
    const readByImport = (await pki.getCa('ca_pending'))!;
    expect(await caKind.replace('acme', (await caKind.read('acme', 'ca_pending'))!, sealed('k6'))).toBe(true);
    await expect(pki.putCa({ ...readByImport, status: 'active' }, false)).rejects.toThrow('CA ca_pending changed concurrently');
    const reread = (await pki.getCa('ca_pending'))!;
    expect(reread.sealedKey?.keyId).toBe('k6');
    await pki.putCa({ ...reread, status: 'active' }, false);
    expect((await pki.getCa('ca_pending'))?.status).toBe('active');
  });

  it('lists account, EAB and certificate keys across both partitions, and reads each with its AAD', async () => {
    expect(await listAll(acmeKind, 'acme')).toEqual([
      { id: 'account:le', keyId: 'k1' },
      { id: 'eab:le', keyId: 'k1' },
      { id: 'account:zerossl', keyId: 'k2' },
      { id: 'certificate:web', keyId: 'k2' },
    ]);
    expect((await acmeKind.read('acme', 'account:le'))?.context).toEqual(accountKeyContext('acme', 'le'));
    expect((await acmeKind.read('acme', 'eab:le'))?.context).toEqual(eabKeyContext('acme', 'le'));
    expect((await acmeKind.read('acme', 'certificate:web'))?.context).toEqual(certificateKeyContext('acme', 'web', 3));
    expect(await acmeKind.read('acme', 'eab:zerossl')).toBeUndefined();
    expect(await acmeKind.read('acme', 'certificate:pending')).toBeUndefined();
  });

  it('replaces nested ACME keys in place, leaving the rest of the record as it was', async () => {
    const acme = new DynamoDbAcmeRepository(client, STATE_TABLE.id);
    for (const id of ['eab:le', 'certificate:web']) {
      const read = (await acmeKind.read('acme', id))!;
      const next = sealed('k4');
      expect(await acmeKind.replace('acme', read, next)).toBe(true);
      expect(await acmeKind.replace('acme', read, sealed('k4'))).toBe(false);
      expect((await acmeKind.read('acme', id))?.sealed).toEqual(next);
    }
    const provider = await acme.getProvider('acme', 'le');
    expect(provider?.eab?.kid).toBe('kid-1');
    expect(provider?.accountKey.keyId).toBe('k1');
    const web = await acme.getCertificate('acme', 'web');
    expect(web?.issued?.certificatePem).toBe('pem');
    expect(Object.keys(web?.issued?.privateKey ?? {}).sort()).toEqual(['ciphertext', 'iv', 'keyId']);
  });

  it('keeps a re-sealed certificate key when an order that read the record before the re-seal fails', async () => {
    const acme = new DynamoDbAcmeRepository(client, STATE_TABLE.id);
    await acme.createCertificate(certificate('acme', 'renewing', sealed('k1')));
    const readByTheOrder = (await acme.getCertificate('acme', 'renewing'))!;
    const resealed = sealed('k5');
    expect(await acmeKind.replace('acme', (await acmeKind.read('acme', 'certificate:renewing'))!, resealed)).toBe(true);
    await acme.saveFailure({
      ...readByTheOrder,
      status: 'renewal_failed',
      failures: 1,
      lastError: 'AcmeOrderFailed',
      nextAttemptAt: '2026-12-02T00:00:00.000Z',
    });
    const stored = await acme.getCertificate('acme', 'renewing');
    expect(stored).toMatchObject({ status: 'renewal_failed', failures: 1, lastError: 'AcmeOrderFailed', nextAttemptAt: '2026-12-02T00:00:00.000Z' });
    expect(stored?.issued?.privateKey).toEqual(resealed);
    // Due again at the new time: the index moved with it.
    expect((await acme.dueCertificates('2026-12-01T12:00:00.000Z', 10)).map((due) => due.name)).not.toContain('renewing');
    expect((await acme.dueCertificates('2026-12-02T00:00:01.000Z', 10)).map((due) => due.name)).toContain('renewing');
    // A certificate deleted while its order ran stays deleted.
    await acme.deleteCertificate('acme', 'renewing');
    await acme.saveFailure({ ...readByTheOrder, status: 'renewal_failed' });
    expect(await acme.getCertificate('acme', 'renewing')).toBeUndefined();
  });
});

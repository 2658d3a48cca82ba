import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_BUCKET } from '../../functions/runtime/definitions.js';
import { parseExposition, sumOf } from './support/exposition.js';
import { waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';

// The PKI end to end on the embedded stack, judged by OpenSSL: chains verify,
// the CRL verifies and lists what was revoked, OCSP answers good then revoked.

const dir = mkdtempSync(join(tmpdir(), 'pki-'));
const file = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};
const openssl = (...args: string[]) => spawnSync('openssl', args, { encoding: 'utf8' });

describe('pki', () => {
  let vault: VaultProcess;
  let token: string;
  let rootPem: string;
  let caId: string;

  const issue = (ca: string, role: string, body: Record<string, unknown>, as = token) =>
    vault.request('POST', `/v1/pki/cas/${ca}/issue/${role}`, { token: as, body });
  const putRole = async (ca: string, role: string, body: Record<string, unknown>) => {
    const response = await vault.request('PUT', `/v1/pki/cas/${ca}/roles/${role}`, { token, body });
    expect(response.status, response.text).toBe(200);
  };
  const inventory = async (ca: string) =>
    (await vault.request('GET', `/v1/pki/cas/${ca}/certificates`, { token })).body.certificates as { serial: string; state: string }[];

  beforeAll(async () => {
    // Every scrape here reads the inventory and this instance's latest counters, not an earlier read.
    vault = await VaultProcess.start({ env: { SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0', SCAIVAULT_METRICS_FLUSH_SECONDS: '0.1' } });
    token = await createIdentity(vault, { tenant: 'acme', identity: 'sa:pki', policies: ['admin'] });
    const root = await vault.request('POST', '/v1/pki/cas', { token, body: { type: 'root', name: 'root', common_name: 'Acme Root CA', key_type: 'ec-p256' } });
    expect(root.status, root.text).toBe(201);
    caId = root.body.ca_id;
    rootPem = root.body.certificate;
    await putRole(caId, 'web', { allowed_domains: ['example.com'], allow_subdomains: true, allow_ip_sans: true, max_ttl: 86_400 * 30, ttl: 86_400 });
  }, 60_000);

  afterAll(async () => {
    await vault?.stop();
  });

  it('issues certificates that openssl verify accepts, keeps them in the inventory, never the key', async () => {
    const issued = await issue(caId, 'web', { common_name: 'api.example.com', alt_names: ['www.example.com'], ip_sans: ['127.0.0.1'] });
    expect(issued.status, issued.text).toBe(200);
    expect(issued.body.private_key).toMatch(/BEGIN PRIVATE KEY/);
    const result = openssl('verify', '-CAfile', file('root.pem', rootPem), file('leaf.pem', issued.body.certificate));
    expect(result.stdout + result.stderr).toContain(': OK');
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' });
    expect(text).toContain('DNS:api.example.com');
    expect(text).toContain('IP Address:127.0.0.1');
    // At least 64 bits of randomness: 16 bytes, top bit cleared.
    expect(issued.body.serial).toMatch(/^[0-9a-f]{31,32}$/);
    const stored = await vault.request('GET', `/v1/pki/cas/${caId}/certificates/${issued.body.serial}`, { token });
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ common_name: 'api.example.com', state: 'active', role: 'web' });
    expect(stored.text).not.toContain('PRIVATE KEY');
  });

  it('signs a CSR the role allows and refuses one it does not, storing nothing', async () => {
    execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', join(dir, 'csr.key')]);
    const csr = (cn: string) =>
      execFileSync('openssl', ['req', '-new', '-key', join(dir, 'csr.key'), '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`], { encoding: 'utf8' });
    const signed = await vault.request('POST', `/v1/pki/cas/${caId}/sign/web`, { token, body: { csr: csr('svc.example.com') } });
    expect(signed.status, signed.text).toBe(200);
    const result = openssl('verify', '-CAfile', file('root.pem', rootPem), file('signed.pem', signed.body.certificate));
    expect(result.stdout).toContain(': OK');
    const before = (await inventory(caId)).length;
    const refused = await vault.request('POST', `/v1/pki/cas/${caId}/sign/web`, { token, body: { csr: csr('evil.org') } });
    expect(refused.status).toBe(400);
    expect(refused.body.detail).toContain('does not allow the name evil.org');
    const tooLong = await issue(caId, 'web', { common_name: 'a.example.com', ttl: 86_400 * 60 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.field).toBe('ttl');
    expect((await inventory(caId)).length).toBe(before);
  });

  it('revokes: the CRL verifies and lists the serial, OCSP says good then revoked', async () => {
    const issued = await issue(caId, 'web', { common_name: 'gone.example.com' });
    const serial = issued.body.serial as string;
    const leaf = file('gone.pem', issued.body.certificate);
    const root = file('root.pem', rootPem);
    const ocsp = () => openssl('ocsp', '-issuer', root, '-cert', leaf, '-CAfile', root, '-url', `${vault.url}/v1/pki/${caId}/ocsp`, '-no_nonce').stdout;
    expect(ocsp()).toContain(`${leaf}: good`);
    const revoked = await vault.request('POST', `/v1/pki/cas/${caId}/revoke`, { token, body: { serial, reason: 'keyCompromise' } });
    expect(revoked.status, revoked.text).toBe(200);
    expect(ocsp()).toContain(`${leaf}: revoked`);
    // The GET form (RFC 6960 A.1): the base64 DER request in the path.
    openssl('ocsp', '-issuer', root, '-cert', leaf, '-no_nonce', '-reqout', join(dir, 'req.der'));
    const request = encodeURIComponent(readFileSync(join(dir, 'req.der')).toString('base64'));
    const answer = await fetch(`${vault.url}/v1/pki/${caId}/ocsp/${request}`);
    expect(answer.headers.get('content-type')).toBe('application/ocsp-response');
    const respin = file('resp.der', new Uint8Array(await answer.arrayBuffer()));
    const shown = openssl('ocsp', '-respin', respin, '-issuer', root, '-CAfile', root, '-resp_text');
    expect(shown.stdout).toContain('Cert Status: revoked');
    expect(shown.stderr + shown.stdout).toContain('Response verify OK');
    const crl = await fetch(`${vault.url}/v1/pki/${caId}/crl`);
    expect(crl.headers.get('content-type')).toBe('application/pkix-crl');
    const der = file('crl.der', new Uint8Array(await crl.arrayBuffer()));
    const verified = openssl('crl', '-inform', 'DER', '-in', der, '-CAfile', root, '-verify', '-noout', '-text');
    expect(verified.stderr + verified.stdout).toContain('verify OK');
    expect(verified.stdout.toLowerCase()).toContain(serial.toUpperCase().toLowerCase());
    expect(verified.stdout).toContain('Key Compromise');
    const pem = await (await fetch(`${vault.url}/v1/pki/${caId}/crl/pem`)).text();
    expect(pem).toContain('BEGIN X509 CRL');
    // Published to the audit bucket's pki/ prefix too: the same signed bytes.
    const endpoint = vault.logLines().find((line) => line.message === 'embedded stack ready')?.sqs_and_s3 as string;
    const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'embedded', secretAccessKey: 'embedded' }, endpoint, forcePathStyle: true });
    const published = await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: `pki/acme/${caId}/crl.der` }));
    const publishedDer = Buffer.from(await published.Body!.transformToByteArray());
    s3.destroy();
    expect(publishedDer.equals(readFileSync(der))).toBe(true);
    // Revoking again, or a serial never issued: clear 4xx, nothing changes.
    expect((await vault.request('POST', `/v1/pki/cas/${caId}/revoke`, { token, body: { serial, reason: 'superseded' } })).status).toBe(409);
    expect((await vault.request('POST', `/v1/pki/cas/${caId}/revoke`, { token, body: { serial: 'abcdef01', reason: 'superseded' } })).status).toBe(404);
  });

  it('imports a CA with its key, completes a KMS-backed intermediate from its CSR, and chains verify', async () => {
    execFileSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'ext.key'),
      '-out',
      join(dir, 'ext.pem'),
      '-subj',
      '/CN=External Root',
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    const extPem = execFileSync('cat', [join(dir, 'ext.pem')], { encoding: 'utf8' });
    const extKey = execFileSync('cat', [join(dir, 'ext.key')], { encoding: 'utf8' });
    const imported = await vault.request('POST', '/v1/pki/cas', { token, body: { type: 'import', name: 'ext', certificate: extPem, private_key: extKey } });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.text).not.toContain('PRIVATE KEY');
    const inter = await vault.request('POST', '/v1/pki/cas', {
      token,
      body: { type: 'intermediate', name: 'inter', common_name: 'Acme Issuing CA', key_type: 'ec-p384', key_backend: 'kms' },
    });
    expect(inter.status, inter.text).toBe(201);
    expect(inter.body.status).toBe('pending');
    file('ext.cnf', 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    const signedInter = execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        file('inter.csr', inter.body.csr),
        '-CA',
        join(dir, 'ext.pem'),
        '-CAkey',
        join(dir, 'ext.key'),
        '-CAcreateserial',
        '-days',
        '365',
        '-extfile',
        join(dir, 'ext.cnf'),
      ],
      { encoding: 'utf8' },
    );
    const completed = await vault.request('POST', `/v1/pki/cas/${inter.body.ca_id}/signed-certificate`, {
      token,
      body: { certificate: signedInter, chain: [extPem] },
    });
    expect(completed.status, completed.text).toBe(200);
    await putRole(inter.body.ca_id, 'internal', { allowed_domains: ['*.svc.internal'], allow_glob_domains: true, key_types: ['rsa-2048', 'ec-p256'] });
    const leaf = await issue(inter.body.ca_id, 'internal', { common_name: 'db.svc.internal', key_type: 'rsa-2048' });
    expect(leaf.status, leaf.text).toBe(200);
    expect(leaf.body.ca_chain).toHaveLength(2);
    const result = openssl(
      'verify',
      '-CAfile',
      join(dir, 'ext.pem'),
      '-untrusted',
      file('inter.pem', leaf.body.issuing_ca),
      file('leaf2.pem', leaf.body.certificate),
    );
    expect(result.stdout + result.stderr).toContain(': OK');
  });

  it("answers an unknown CA and another tenant's CA with 404, and changes nothing", async () => {
    const other = await createIdentity(vault, { tenant: 'globex', identity: 'sa:pki', policies: ['admin'] });
    expect((await issue('ca_000000000000000000000000', 'web', { common_name: 'a.example.com' })).status).toBe(404);
    expect((await issue(caId, 'web', { common_name: 'a.example.com' }, other)).status).toBe(404);
    expect((await vault.request('GET', `/v1/pki/cas/${caId}`, { token: other })).status).toBe(404);
    expect((await vault.request('PUT', `/v1/pki/cas/${caId}/roles/web`, { token: other, body: { allowed_domains: ['evil.org'] } })).status).toBe(404);
    expect((await vault.request('GET', `/v1/pki/cas/${caId}/roles/web`, { token })).body.allowed_domains).toEqual(['example.com']);
    expect((await fetch(`${vault.url}/v1/pki/ca_000000000000000000000000/crl`)).status).toBe(404);
  });

  it('applies policies on pki/ paths: a grant to issue under one role is not a grant to revoke or manage', async () => {
    const issuer = await createIdentity(vault, {
      tenant: 'acme',
      identity: 'sa:web-issuer',
      rules: [{ path: `pki/cas/${caId}/roles/web`, capabilities: ['write'] }],
    });
    const issued = await issue(caId, 'web', { common_name: 'policy.example.com' }, issuer);
    expect(issued.status, issued.text).toBe(200);
    const revoke = await vault.request('POST', `/v1/pki/cas/${caId}/revoke`, { token: issuer, body: { serial: issued.body.serial } });
    expect(revoke.status).toBe(403);
    expect((await vault.request('POST', '/v1/pki/cas', { token: issuer, body: { type: 'root', name: 'x', common_name: 'X' } })).status).toBe(403);
    expect((await vault.request('PUT', `/v1/pki/cas/${caId}/roles/web`, { token: issuer, body: { allowed_domains: ['evil.org'] } })).status).toBe(403);
    expect((await vault.request('GET', `/v1/pki/cas/${caId}/certificates/${issued.body.serial}`, { token })).body.state).toBe('active');
  });

  it('exports the inventory as bounded gauges and counts issuance, revocation and KMS signatures', async () => {
    const listed = await inventory(caId);
    const active = listed.filter((cert) => cert.state === 'active').length;
    const scrape = async () => parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text);
    // Counters reach the scrape through the fleet store's next flush (every 0.1 s here).
    await waitFor(async () => sumOf(await scrape(), 'scaivault_certificates_issued_total', { ca_id: caId }) === listed.length, 10_000, 'issued counter');
    const samples = await scrape();
    expect(sumOf(samples, 'scaivault_certificates_active', { ca_id: caId })).toBe(active);
    // Every leaf of this CA lives a day: all are within 7 days.
    expect(sumOf(samples, 'scaivault_certificates_expiring_soon', { within_days: '7' })).toBeGreaterThanOrEqual(active);
    expect(sumOf(samples, 'scaivault_certificate_expiry_timestamp_seconds', { ca_id: caId })).toBeGreaterThan(0);
    expect(sumOf(samples, 'scaivault_ca_expiry_timestamp_seconds', { ca_id: caId })).toBeGreaterThan(Date.now() / 1000 + 86_400 * 365);
    expect(sumOf(samples, 'scaivault_crl_last_update_timestamp_seconds', { ca_id: caId })).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sumOf(samples, 'scaivault_certificates_issued_total', { ca_id: caId, issuer_type: 'internal' })).toBe(listed.length);
    expect(sumOf(samples, 'scaivault_certificates_revoked_total', { ca_id: caId })).toBe(1);
    expect(sumOf(samples, 'scaivault_kms_latency_seconds_count', { operation: 'sign' })).toBeGreaterThan(0);
  });
});

// ACME for real: Debian's pebble issues a certificate to an embedded vault that
// answers HTTP-01 on its own /.well-known route, ordered by the vault's scheduler.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { EAB, Pebble } from './support/pebble.js';
import { freePort, waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

let pebble: Pebble;
let vault: VaultProcess;
let receiver: WebhookReceiver;

const orders = async (status: string): Promise<number> =>
  sumOf(parseExposition((await vault.request('GET', '/v1/metrics', { token: null })).text), 'scaivault_acme_orders_total', { provider: 'pebble', status });

const settled = async (name: string, status: string) => {
  let body: any;
  await waitFor(
    async () => {
      body = (await vault.request('GET', `/v1/acme/certificates/${name}`)).body;
      return body?.status === status;
    },
    20_000,
    `certificate ${name} to be ${status}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify(body)}\n${vault.output.slice(-4000)}\n${pebble.log.slice(-2000)}`);
  });
  return body;
};

beforeAll(async () => {
  const port = await freePort();
  pebble = await Pebble.start(port);
  receiver = await WebhookReceiver.start();
  vault = await VaultProcess.start({
    port,
    env: { SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1', SCAIVAULT_ACME_CA_FILE: pebble.caFile, SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '0.5' },
  });
  const webhook = await vault.request('POST', '/v1/webhooks', {
    body: { url: receiver.url('/certs'), event_types: ['certificate.issued', 'certificate.renewed', 'certificate.renewal_failed'] },
  });
  expect(webhook.status).toBe(201);
  const provider = await vault.request('POST', '/v1/acme/providers', {
    body: { name: 'pebble', directory_url: pebble.directoryUrl, contact: ['mailto:ops@example.com'] },
  });
  expect(provider.status).toBe(201);
  expect(provider.body).toMatchObject({ name: 'pebble', account_registered: false });
}, 60_000);

afterAll(async () => {
  await vault?.stop();
  await pebble?.stop();
  await receiver?.close();
});

describe('ACME orders against pebble', () => {
  it('issues a certificate through HTTP-01 answered by the vault, and counts the order', async () => {
    const before = await orders('valid');
    const created = await vault.request('POST', '/v1/acme/certificates', {
      body: { name: 'web', provider: 'pebble', domains: ['web.acme-test.example', 'www.acme-test.example'], challenge_type: 'http-01' },
    });
    expect(created.status).toBe(202);
    expect(created.body.status).toBe('pending');
    const issued = await settled('web', 'valid');
    expect(issued.certificate).toContain('BEGIN CERTIFICATE');
    expect(issued).not.toHaveProperty('private_key');
    // The scheduler flushes its counters to the fleet store at the end of its run.
    await waitFor(async () => (await orders('valid')) === before + 1, 10_000, 'the valid order to be counted');

    // The chain verifies against pebble's own root, with openssl.
    const dir = pebble.dir;
    writeFileSync(join(dir, 'root.pem'), await pebble.rootPem());
    writeFileSync(join(dir, 'leaf.pem'), issued.certificate);
    writeFileSync(join(dir, 'chain.pem'), issued.chain);
    const verified = execFileSync('openssl', ['verify', '-CAfile', 'root.pem', '-untrusted', 'chain.pem', 'leaf.pem'], { cwd: dir }).toString();
    expect(verified.trim()).toBe('leaf.pem: OK');
    const leaf = new X509Certificate(issued.certificate);
    expect(leaf.subjectAltName).toContain('DNS:www.acme-test.example');
    // Renewal is due when a third of the certificate's own lifetime remains.
    const lifetime = Date.parse(issued.not_after) - Date.parse(issued.not_before);
    expect(Date.parse(issued.next_attempt_at)).toBe(Date.parse(issued.not_after) - Math.round(lifetime / 3));

    const key = await vault.request('GET', '/v1/acme/certificates/web/key');
    expect(key.status).toBe(200);
    const publicOf = (pem: string) => createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(publicOf(key.body.private_key)).toBe(leaf.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'));
    expect(createPrivateKey(key.body.private_key).asymmetricKeyType).toBe('ec');
    expect((await vault.request('GET', '/v1/acme/providers/pebble')).body.account_registered).toBe(true);
    await waitFor(async () => receiver.at('/certs').some((d) => JSON.parse(d.body).type === 'certificate.issued'), 10_000, 'certificate.issued webhook');
    // The scheduler's order is in the audit trail: attempted before it started, then its outcome; the key read too.
    const audited = async (type: string) =>
      (await vault.request('GET', `/v1/audit/events?${new URLSearchParams({ type, from: created.body.created_at, limit: '100' })}`)).body.events as {
        outcome: string;
        path: string;
      }[];
    expect(
      (await audited('acme.order'))
        .filter((e) => e.path === 'acme/certificates/web')
        .map((e) => e.outcome)
        .sort(),
    ).toEqual(['attempted', 'success']);
    expect(await audited('acme.certificate.key_read')).toHaveLength(1);
    expect(JSON.stringify(await audited('acme.certificate.key_read'))).not.toContain('PRIVATE KEY');
  }, 40_000);

  it('renews on request: a new certificate and key, announced as certificate.renewed', async () => {
    const before = (await vault.request('GET', '/v1/acme/certificates/web')).body;
    expect((await vault.request('POST', '/v1/acme/certificates/web/renew')).status).toBe(202);
    let renewed: any;
    await waitFor(
      async () => {
        renewed = (await vault.request('GET', '/v1/acme/certificates/web')).body;
        return renewed.status === 'valid' && renewed.serial !== before.serial;
      },
      20_000,
      'the renewed certificate',
    );
    expect(Date.parse(renewed.not_before)).toBeGreaterThanOrEqual(Date.parse(before.not_before));
    const key = (await vault.request('GET', '/v1/acme/certificates/web/key')).body.private_key;
    expect(createPublicKey(key).export({ type: 'spki', format: 'der' })).toEqual(
      new X509Certificate(renewed.certificate).publicKey.export({ type: 'spki', format: 'der' }),
    );
    await waitFor(async () => receiver.at('/certs').some((d) => JSON.parse(d.body).type === 'certificate.renewed'), 10_000, 'certificate.renewed webhook');
  }, 40_000);

  it('registers an account with External Account Binding, and pebble refuses a wrong HMAC key', async () => {
    const eab = (name: string, hmacKey: string) =>
      vault.request('POST', '/v1/acme/providers', { body: { name, directory_url: pebble.directoryUrl, eab: { kid: EAB.kid, hmac_key: hmacKey } } });
    expect((await eab('pebble-eab', EAB.hmacKey)).body).toMatchObject({ eab_kid: EAB.kid, account_registered: false });
    expect((await eab('pebble-bad-eab', Buffer.alloc(32, 1).toString('base64url'))).status).toBe(201);
    const order = (name: string, provider: string) =>
      vault.request('POST', '/v1/acme/certificates', { body: { name, provider, domains: [`${name}.acme-test.example`], challenge_type: 'http-01' } });
    expect((await order('bound', 'pebble-eab')).status).toBe(202);
    expect((await order('unbound', 'pebble-bad-eab')).status).toBe(202);
    expect((await settled('bound', 'valid')).serial).toMatch(/^[0-9a-f]+$/);
    expect((await vault.request('GET', '/v1/acme/providers/pebble-eab')).body.account_registered).toBe(true);
    expect((await settled('unbound', 'renewal_failed')).last_error).toMatch(/^AcmeError\((unauthorized|malformed)\)$/);
    expect((await vault.request('GET', '/v1/acme/providers/pebble-bad-eab')).body.account_registered).toBe(false);
  }, 40_000);

  it('counts a failed order as failed and announces certificate.renewal_failed', async () => {
    // challtestsrv points the name at an address where nothing answers: validation fails.
    await pebble.addA('down.acme-test.example', ['127.0.0.2']);
    const before = await orders('failed');
    const created = await vault.request('POST', '/v1/acme/certificates', {
      body: { name: 'down', provider: 'pebble', domains: ['down.acme-test.example'], challenge_type: 'http-01' },
    });
    expect(created.status).toBe(202);
    const failed = await settled('down', 'renewal_failed');
    expect(failed.failures).toBe(1);
    expect(failed.certificate).toBeNull();
    expect(failed.last_error).toMatch(/^AcmeError\((unauthorized|connection|dns|incorrectResponse)\)$/);
    expect(Date.parse(failed.next_attempt_at)).toBeGreaterThan(Date.now());
    await waitFor(async () => (await orders('failed')) === before + 1, 10_000, 'the failed order to be counted');
    await waitFor(
      async () => receiver.at('/certs').some((d) => JSON.parse(d.body).type === 'certificate.renewal_failed'),
      10_000,
      'certificate.renewal_failed webhook',
    );
  }, 40_000);

  it('answers bad input with a clear 4xx and changes nothing', async () => {
    const other = await createIdentity(vault, {
      tenant: 'acme-other',
      identity: 'sa:acme-other',
      rules: [{ path: 'acme/**', capabilities: ['read', 'write', 'list'] }],
    });
    const theirs = await vault.request('POST', '/v1/acme/providers', { token: other, body: { name: 'theirs', directory_url: pebble.directoryUrl } });
    expect(theirs.status).toBe(201);
    const listed = (await vault.request('GET', '/v1/acme/certificates')).body.certificates.length;
    const attempt = (body: Record<string, unknown>) =>
      vault.request('POST', '/v1/acme/certificates', {
        body: { name: 'bad', challenge_type: 'http-01', domains: ['ok.acme-test.example'], provider: 'pebble', ...body },
      });

    const unknown = await attempt({ provider: 'nope' });
    expect([unknown.status, unknown.body.field]).toEqual([400, 'provider']);
    const foreign = await attempt({ provider: 'theirs' });
    expect([foreign.status, foreign.body.detail]).toEqual([400, 'ACME provider theirs does not exist']);
    for (const domain of ['not a domain', 'localhost', '*.wild.acme-test.example', '10.0.0.1']) {
      const bad = await attempt({ domains: [domain] });
      expect([domain, bad.status, bad.body.field]).toEqual([domain, 400, 'domains']);
    }
    expect((await attempt({ challenge_type: 'dns-01' })).status).toBe(400);
    expect((await vault.request('POST', '/v1/acme/providers', { body: { name: 'plain', directory_url: 'http://127.0.0.1/dir' } })).status).toBe(400);
    expect((await vault.request('GET', '/v1/acme/certificates')).body.certificates.length).toBe(listed);

    // Tenant isolation: the other tenant sees none of ours, and reading a key is its own capability.
    expect((await vault.request('GET', '/v1/acme/certificates/web', { token: other })).status).toBe(404);
    const reader = await createIdentity(vault, {
      tenant: 'default',
      identity: 'sa:cert-reader',
      rules: [{ path: 'acme/certificates/*', capabilities: ['read'] }],
    });
    expect((await vault.request('GET', '/v1/acme/certificates/web', { token: reader })).status).toBe(200);
    expect((await vault.request('GET', '/v1/acme/certificates/web/key', { token: reader })).status).toBe(403);
  }, 30_000);

  it('serves HTTP-01 answers only for pending challenges, without a token', async () => {
    const response = await vault.request('GET', '/.well-known/acme-challenge/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', { token: null });
    expect(response.status).toBe(404);
  });
});

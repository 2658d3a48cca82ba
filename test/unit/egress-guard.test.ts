import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressPolicyCheck } from '../../functions/adapters/http/egress-check.js';
import { createEgressAgent } from '../../functions/adapters/http/egress-agent.js';
import { EgressPolicy, EgressRefusedError, forbiddenAddressReason, isForbiddenAddress, type Resolver } from '../../functions/adapters/http/egress-guard.js';

const REFUSED = [
  // IPv4: private, loopback, link-local/metadata, CGNAT, unspecified and friends
  '10.0.0.1',
  '10.255.255.255',
  '172.16.0.1',
  '172.31.255.254',
  '192.168.1.1',
  '127.0.0.1',
  '127.8.9.10',
  '169.254.169.254',
  '169.254.0.1',
  '100.64.0.1',
  '100.127.255.254',
  '100.100.100.200',
  '0.0.0.0',
  '0.1.2.3',
  '224.0.0.1',
  '255.255.255.255',
  '198.18.0.1',
  // IPv6: loopback, unspecified, unique local (incl. EC2 IMDS), link-local, multicast
  '::1',
  '::',
  '[::1]',
  'fc00::1',
  'fd00:ec2::254',
  'fdff:ffff::1',
  'fe80::1',
  'fe80::1%eth0',
  'febf::1',
  'ff02::1',
  // IPv4 wrapped in IPv6: mapped (dotted and hex), translated, compatible, NAT64, 6to4
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::FFFF:169.254.169.254',
  '::ffff:a9fe:a9fe',
  '::ffff:10.1.2.3',
  '::ffff:192.168.0.1',
  '::ffff:0:127.0.0.1',
  '::127.0.0.1',
  '64:ff9b::10.0.0.1',
  '64:ff9b::a9fe:a9fe',
  '2002:7f00:1::',
  '0:0:0:0:0:ffff:7f00:0001',
  // Not an address at all
  'not-an-ip',
  '1.2.3',
  '::ffff:999.1.1.1',
];

const ALLOWED = [
  '93.184.215.14',
  '8.8.8.8',
  '1.1.1.1',
  '100.63.255.255',
  '100.128.0.1',
  '172.15.255.255',
  '172.32.0.1',
  '192.169.0.1',
  '169.253.255.255',
  '2606:4700:4700::1111',
  '2001:4860:4860::8888',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::808:808',
  '2a00:1450:4001:81c::200e',
];

/** A resolver with fixed answers: no DNS traffic leaves the machine. */
const fixedResolver =
  (answers: Record<string, string[]>): Resolver =>
  async (hostname) => {
    const addresses = answers[hostname];
    if (!addresses) throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

const lookupOnce = (policy: EgressPolicy, hostname: string, all: boolean) =>
  new Promise<unknown>((resolve, reject) =>
    policy.lookup()(hostname, { all }, (error, address, family) => (error ? reject(error) : resolve(all ? address : { address, family }))),
  );

describe('egress guard: addresses', () => {
  it.each(REFUSED)('refuses %s', (address) => {
    expect(isForbiddenAddress(address)).toBe(true);
  });

  it.each(ALLOWED)('allows public address %s', (address) => {
    expect(forbiddenAddressReason(address)).toBeUndefined();
  });
});

describe('egress guard: hosts and lookups', () => {
  const resolver = fixedResolver({
    'evil.example': ['127.0.0.1'],
    'mixed.example': ['93.184.215.14', '10.0.0.7'],
    'good.example': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'mapped.example': ['::ffff:169.254.169.254'],
    'internal.corp': ['10.1.2.3'],
  });
  const policy = new EgressPolicy({ allowlist: ['Internal.Corp', '192.168.7.7', '[::1]'], resolver });

  it('refuses a name that resolves to loopback (DNS gives the attacker the address)', async () => {
    await expect(lookupOnce(policy, 'evil.example', true)).rejects.toBeInstanceOf(EgressRefusedError);
    await expect(lookupOnce(policy, 'evil.example', false)).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('refuses a name if any of its addresses is forbidden, and IPv4-mapped answers too', async () => {
    await expect(lookupOnce(policy, 'mixed.example', true)).rejects.toBeInstanceOf(EgressRefusedError);
    await expect(lookupOnce(policy, 'mapped.example', true)).rejects.toBeInstanceOf(EgressRefusedError);
  });

  it('hands vetted addresses to the socket in both lookup forms', async () => {
    expect(await lookupOnce(policy, 'good.example', true)).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:2800:21f:cb07:6820:80da:af6b:8b2c', family: 6 },
    ]);
    expect(await lookupOnce(policy, 'good.example', false)).toEqual({ address: '93.184.215.14', family: 4 });
  });

  it('lets allowlisted hosts through whatever they resolve to, matching names case-insensitively', async () => {
    expect(await lookupOnce(policy, 'internal.corp', true)).toEqual([{ address: '10.1.2.3', family: 4 }]);
    expect(() => policy.checkHost('192.168.7.7')).not.toThrow();
    expect(() => policy.checkHost('[::1]')).not.toThrow();
    expect(() => policy.checkHost('192.168.7.8')).toThrow(EgressRefusedError);
  });

  it('refuses IP literals and cloud metadata names before any lookup', () => {
    for (const host of ['169.254.169.254', '[fd00:ec2::254]', '[::ffff:127.0.0.1]', 'metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'instance-data']) {
      expect(() => policy.checkHost(host), host).toThrow(EgressRefusedError);
    }
    expect(() => policy.checkHost('example.com')).not.toThrow();
  });

  it('checks the address the socket actually reached', () => {
    expect(() => policy.checkConnected('good.example', { remoteAddress: '127.0.0.1' })).toThrow(EgressRefusedError);
    expect(() => policy.checkConnected('good.example', { remoteAddress: '::ffff:10.0.0.1' })).toThrow(EgressRefusedError);
    expect(() => policy.checkConnected('good.example', { remoteAddress: undefined })).toThrow(EgressRefusedError);
    expect(() => policy.checkConnected('good.example', { remoteAddress: '93.184.215.14' })).not.toThrow();
    expect(() => policy.checkConnected('internal.corp', { remoteAddress: '10.1.2.3' })).not.toThrow();
  });
});

describe('egress guard: the check at webhook creation', () => {
  const resolver = fixedResolver({ 'evil.example': ['127.0.0.1'], 'good.example': ['93.184.215.14'], 'internal.corp': ['10.1.2.3'] });
  const check = new EgressPolicyCheck(new EgressPolicy({ allowlist: ['internal.corp', '127.0.0.1'], resolver }));

  it('refuses private, loopback and metadata literals and names that resolve to them', async () => {
    for (const host of ['169.254.169.254', '10.0.0.1', '[::1]', 'metadata.google.internal', 'evil.example']) {
      expect(await check.refusal(host), host).toEqual(expect.any(String));
    }
  });

  it('lets public and allowlisted hosts through, and leaves names that do not resolve to delivery', async () => {
    for (const host of ['good.example', '8.8.8.8', 'internal.corp', '127.0.0.1', 'unknown.example']) expect(await check.refusal(host), host).toBeUndefined();
  });

  it('stops waiting for a resolver that never answers', async () => {
    const hung = new EgressPolicyCheck(new EgressPolicy({ allowlist: [], resolver: () => new Promise(() => undefined) }), 50);
    expect(await hung.refusal('slow.example')).toBeUndefined();
  });
});

describe('egress guard: the undici agent against a loopback server', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      hits.push(request.headers.host ?? '');
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const get = async (url: string, policy: EgressPolicy) => {
    const agent = createEgressAgent(policy, { connectTimeoutMs: 2000 });
    try {
      const response = await fetch(url, { dispatcher: agent } as RequestInit);
      return { status: response.status, text: await response.text() };
    } catch (error) {
      return { error: (error as Error & { cause?: unknown }).cause };
    } finally {
      await agent.close();
    }
  };

  it('refuses a rebinding name, an IP literal and localhost without an allowlist, before any byte is sent', async () => {
    const resolver = fixedResolver({ 'evil.example': ['127.0.0.1'] });
    const before = hits.length;
    for (const url of [`http://evil.example:${port}/`, `http://127.0.0.1:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`]) {
      const result = await get(url, new EgressPolicy({ allowlist: [], resolver }));
      expect(result.error, url).toBeInstanceOf(EgressRefusedError);
    }
    // The real resolver: localhost is loopback wherever this runs.
    expect((await get(`http://localhost:${port}/`, new EgressPolicy({ allowlist: [] }))).error).toBeInstanceOf(EgressRefusedError);
    expect(hits.length).toBe(before);
  });

  it('connects when the host is allowlisted', async () => {
    const resolver = fixedResolver({ 'evil.example': ['127.0.0.1'] });
    expect(await get(`http://evil.example:${port}/`, new EgressPolicy({ allowlist: ['evil.example'], resolver }))).toEqual({ status: 200, text: 'ok' });
    expect(await get(`http://127.0.0.1:${port}/`, new EgressPolicy({ allowlist: ['127.0.0.1'] }))).toEqual({ status: 200, text: 'ok' });
    expect(hits).toContain(`evil.example:${port}`);
  });
});

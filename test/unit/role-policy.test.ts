import { describe, expect, it } from 'vitest';
import { checkRequest, domainAllowed, leafNotAfter, RoleViolationError } from '../../functions/domain/pki/role-policy.js';
import type { RoleRecord } from '../../functions/domain/ports/pki.js';

const role = (overrides: Partial<RoleRecord> = {}): RoleRecord => ({
  tenantId: 't',
  caId: 'ca_1',
  name: 'web',
  allowedDomains: ['example.com'],
  allowSubdomains: false,
  allowGlobs: false,
  allowBareDomains: true,
  allowIpSans: false,
  keyTypes: ['ec-p256'],
  maxTtlSeconds: 86_400,
  defaultTtlSeconds: 3600,
  keyUsages: ['digitalSignature'],
  extKeyUsages: ['serverAuth'],
  onCaExpiry: 'refuse',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

const request = { commonName: 'example.com', dnsNames: [], ipAddresses: [], keyType: 'ec-p256' as const, ttlSeconds: undefined };

const violation = (fn: () => unknown): RoleViolationError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof RoleViolationError) return error;
    throw error;
  }
  throw new Error('expected a role violation');
};

describe('role checks', () => {
  it('allows exact domains, subdomains only when asked, and never a look-alike suffix', () => {
    expect(domainAllowed(role(), 'example.com')).toBe(true);
    expect(domainAllowed(role(), 'api.example.com')).toBe(false);
    expect(domainAllowed(role({ allowSubdomains: true }), 'api.example.com')).toBe(true);
    expect(domainAllowed(role({ allowSubdomains: true }), 'a.b.example.com')).toBe(true);
    expect(domainAllowed(role({ allowSubdomains: true }), 'badexample.com')).toBe(false);
    expect(domainAllowed(role({ allowBareDomains: false, allowSubdomains: true }), 'example.com')).toBe(false);
  });

  it('matches globs one label at a time, only when globs are allowed', () => {
    const globs = role({ allowedDomains: ['*.svc.internal', 'web-*.example.com'], allowGlobs: true });
    expect(domainAllowed(globs, 'db.svc.internal')).toBe(true);
    expect(domainAllowed(globs, 'a.db.svc.internal')).toBe(false);
    expect(domainAllowed(globs, 'web-1.example.com')).toBe(true);
    expect(domainAllowed(globs, 'web-1.evil.com')).toBe(false);
    expect(domainAllowed(role({ allowedDomains: ['*.svc.internal'] }), 'db.svc.internal')).toBe(false);
  });

  it('names the violation: the name, the IP SAN, the key type, the TTL', () => {
    expect(violation(() => checkRequest(role(), { ...request, commonName: 'evil.org' }))).toMatchObject({
      field: 'common_name',
      message: expect.stringContaining('evil.org'),
    });
    expect(violation(() => checkRequest(role(), { ...request, dnsNames: ['x.evil.org'] })).field).toBe('alt_names');
    expect(violation(() => checkRequest(role(), { ...request, ipAddresses: ['10.0.0.1'] })).field).toBe('ip_sans');
    expect(violation(() => checkRequest(role({ allowIpSans: true }), { ...request, ipAddresses: ['not-an-ip'] })).field).toBe('ip_sans');
    expect(violation(() => checkRequest(role(), { ...request, keyType: 'rsa-2048' })).message).toContain('rsa-2048');
    expect(violation(() => checkRequest(role(), { ...request, keyType: undefined })).field).toBe('key_type');
    expect(violation(() => checkRequest(role(), { ...request, ttlSeconds: 86_401 })).field).toBe('ttl');
    expect(violation(() => checkRequest(role(), { ...request, commonName: '' })).field).toBe('common_name');
  });

  it('gives the asked TTL or the default, and allows IP SANs when the role does', () => {
    expect(checkRequest(role(), request)).toBe(3600);
    expect(checkRequest(role({ allowIpSans: true }), { ...request, ipAddresses: ['10.0.0.1', '::1'], ttlSeconds: 600 })).toBe(600);
  });

  it('never lets a leaf outlive its CA: refuse, or truncate to the CA', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const caEnd = new Date('2026-01-01T12:00:00Z');
    expect(leafNotAfter(role(), start, 3600, caEnd)).toEqual(new Date('2026-01-01T01:00:00Z'));
    expect(violation(() => leafNotAfter(role(), start, 86_400, caEnd)).message).toContain('outlive');
    expect(leafNotAfter(role({ onCaExpiry: 'truncate' }), start, 86_400, caEnd)).toEqual(caEnd);
  });
});

// What a role allows: checked for `issue` and `sign` before anything is signed
// or stored. A violation names itself (field and reason) in a 400 answer.
import { isIP } from 'node:net';
import { ValidationError } from '../errors.js';
import type { KeyType, RoleRecord } from '../ports/pki.js';

export const KEY_USAGES = ['digitalSignature', 'nonRepudiation', 'keyEncipherment', 'dataEncipherment', 'keyAgreement', 'keyCertSign', 'cRLSign'] as const;
export const EXT_KEY_USAGES = ['serverAuth', 'clientAuth', 'codeSigning', 'emailProtection', 'timeStamping', 'ocspSigning'] as const;

/** A request the role does not allow: a 400 naming the field and the rule. */
export class RoleViolationError extends ValidationError {}

/** What a request asks to be certified. */
export interface CertificateRequest {
  readonly commonName: string;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly keyType: KeyType | undefined;
  readonly ttlSeconds: number | undefined;
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A role glob (`*` spans one label or part of one, never a dot) as a regex. */
const globRegex = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[a-z0-9-]*')}$`,
  );

/** Whether `name` (lowercase) is allowed by one of the role's domains. */
export const domainAllowed = (role: Pick<RoleRecord, 'allowedDomains' | 'allowSubdomains' | 'allowGlobs' | 'allowBareDomains'>, name: string): boolean =>
  role.allowedDomains.some((raw) => {
    const domain = raw.toLowerCase();
    if (role.allowGlobs && domain.includes('*')) return globRegex(domain).test(name);
    if (name === domain) return role.allowBareDomains;
    if (!role.allowSubdomains || !name.endsWith(`.${domain}`)) return false;
    // A wildcard certificate for a subdomain is allowed like the subdomain itself.
    return DNS_NAME.test(name);
  });

const checkName = (role: RoleRecord, name: string, field: string): void => {
  if (!DNS_NAME.test(name)) throw new RoleViolationError(`${name} is not a valid DNS name`, field);
  if (!domainAllowed(role, name)) throw new RoleViolationError(`role ${role.name} does not allow the name ${name}`, field);
};

/** The validity to give a certificate under `role`: the asked TTL or the role's default, never above its maximum. */
export const checkRequest = (role: RoleRecord, request: CertificateRequest): number => {
  const commonName = request.commonName.toLowerCase();
  if (commonName) checkName(role, commonName, 'common_name');
  for (const name of request.dnsNames) checkName(role, name.toLowerCase(), 'alt_names');
  if (!commonName && request.dnsNames.length === 0 && request.ipAddresses.length === 0) {
    throw new RoleViolationError('a certificate needs a common name or at least one subject alternative name', 'common_name');
  }
  for (const ip of request.ipAddresses) {
    if (!isIP(ip)) throw new RoleViolationError(`${ip} is not an IP address`, 'ip_sans');
    if (!role.allowIpSans) throw new RoleViolationError(`role ${role.name} does not allow IP subject alternative names`, 'ip_sans');
  }
  if (request.keyType && !role.keyTypes.includes(request.keyType)) {
    throw new RoleViolationError(`role ${role.name} does not allow key type ${request.keyType} (allowed: ${role.keyTypes.join(', ')})`, 'key_type');
  }
  if (request.keyType === undefined)
    throw new RoleViolationError('the key type is not one any role may allow (EC P-256/P-384, RSA 2048/3072/4096)', 'key_type');
  const ttl = request.ttlSeconds ?? role.defaultTtlSeconds;
  if (ttl > role.maxTtlSeconds) throw new RoleViolationError(`ttl ${ttl}s exceeds role ${role.name}'s max_ttl of ${role.maxTtlSeconds}s`, 'ttl');
  return ttl;
};

/**
 * The not-after of a leaf under a CA that expires at `caNotAfter`: refuse
 * or truncate as the role says, never silently outlive the CA.
 */
export const leafNotAfter = (role: RoleRecord, notBefore: Date, ttlSeconds: number, caNotAfter: Date): Date => {
  const wanted = new Date(notBefore.getTime() + ttlSeconds * 1000);
  if (wanted <= caNotAfter) return wanted;
  if (role.onCaExpiry === 'truncate') return caNotAfter;
  throw new RoleViolationError(
    `the certificate would outlive its CA (CA expires ${caNotAfter.toISOString()}); role ${role.name} refuses (on_ca_expiry: refuse)`,
    'ttl',
  );
};

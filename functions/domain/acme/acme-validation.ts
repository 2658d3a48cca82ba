// What a provider or a managed certificate may be called and what it may name.
import { ValidationError } from '../errors.js';
import type { ChallengeType } from '../ports/acme.js';

const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export const MAX_DOMAINS = 100;

export const validateName = (name: string, field: string): string => {
  if (!NAME.test(name)) throw new ValidationError(`${field} must be 1-63 lower-case letters, digits or dashes, starting with a letter or digit`, field);
  return name;
};

/** A DNS name an ACME CA can validate: lower case, at least two labels, `*.` only for dns-01. */
export const validateDomain = (raw: string, challengeType: ChallengeType): string => {
  const domain = raw.trim().toLowerCase().replace(/\.$/, '');
  const wildcard = domain.startsWith('*.');
  const labels = (wildcard ? domain.slice(2) : domain).split('.');
  if (domain.length > 253 || labels.length < 2 || !labels.every((label) => LABEL.test(label)) || /^\d+$/.test(labels.at(-1) ?? '')) {
    throw new ValidationError(`"${raw.slice(0, 80)}" is not a DNS name`, 'domains');
  }
  if (wildcard && challengeType !== 'dns-01') throw new ValidationError('a wildcard domain needs the dns-01 challenge', 'domains');
  return domain;
};

export const validateDomains = (domains: readonly string[], challengeType: ChallengeType): string[] => {
  if (domains.length === 0 || domains.length > MAX_DOMAINS) throw new ValidationError(`domains must name 1 to ${MAX_DOMAINS} names`, 'domains');
  const valid = domains.map((domain) => validateDomain(domain, challengeType));
  if (new Set(valid).size !== valid.length) throw new ValidationError('domains must not repeat', 'domains');
  return valid;
};

/** An ACME directory is reached over HTTPS only. */
export const validateDirectoryUrl = (raw: string): URL => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ValidationError('directory_url must be an absolute URL', 'directory_url');
  }
  if (url.protocol !== 'https:') throw new ValidationError('directory_url must use https', 'directory_url');
  if (url.username || url.password) throw new ValidationError('directory_url must not carry credentials', 'directory_url');
  return url;
};

/** The EAB HMAC key as CAs hand it out (base64url), at least 128 bits. */
export const validateHmacKey = (raw: string): string => {
  if (!/^[A-Za-z0-9_-]+={0,2}$/.test(raw) || Buffer.from(raw, 'base64url').length < 16) {
    throw new ValidationError('eab.hmac_key must be base64url and at least 16 bytes', 'eab.hmac_key');
  }
  return raw.replace(/=+$/, '');
};

/** When a certificate is renewed: once a third of its own lifetime (notBefore to notAfter) remains. */
export const renewalTime = (notBefore: Date, notAfter: Date): Date => new Date(notAfter.getTime() - (notAfter.getTime() - notBefore.getTime()) / 3);

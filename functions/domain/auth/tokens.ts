import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_PREFIX = 'svt_';
const TOKEN_PATTERN = /^svt_[A-Za-z0-9_-]{43}$/;

/** A new opaque bearer token: 256 random bits. Only its hash is ever stored. */
export const newToken = (): string => TOKEN_PREFIX + randomBytes(32).toString('base64url');

export const isWellFormedToken = (token: string): boolean => TOKEN_PATTERN.test(token);

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

/** A short public handle for a token, safe to show and log. */
export const accessorOf = (tokenHash: string): string => `acc_${tokenHash.slice(0, 16)}`;

export const constantTimeEquals = (a: string, b: string): boolean => {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
};

import { ValidationError } from '../errors.js';

const SEGMENT = /^[A-Za-z0-9_.-]{1,128}$/;
/** Final segments that name sub-resources of a secret in the API. */
export const RESERVED_SUFFIXES = new Set(['versions', 'rotate', 'restore']);
export const MAX_PATH_LENGTH = 512;
export const MAX_PATH_DEPTH = 16;

/** Validates a secret path: relative, no traversal, no empty or dot segments. */
export const validateSecretPath = (path: string): string => {
  if (path.length === 0 || path.length > MAX_PATH_LENGTH) {
    throw new ValidationError(`secret path must be 1 to ${MAX_PATH_LENGTH} characters`, 'path');
  }
  const segments = path.split('/');
  if (segments.length > MAX_PATH_DEPTH) throw new ValidationError(`secret path may have at most ${MAX_PATH_DEPTH} segments`, 'path');
  for (const segment of segments) {
    if (segment === '.' || segment === '..') throw new ValidationError('secret path must not contain . or .. segments', 'path');
    if (!SEGMENT.test(segment)) {
      throw new ValidationError('secret path segments must be non-empty and use only letters, digits, _ . -', 'path');
    }
  }
  if (RESERVED_SUFFIXES.has(segments[segments.length - 1] ?? '')) {
    throw new ValidationError(`secret path must not end in ${[...RESERVED_SUFFIXES].join(', ')}`, 'path');
  }
  return path;
};

/** A listing prefix: empty, or a path-like string that may end with a slash. */
export const validatePrefix = (prefix: string): string => {
  if (prefix === '') return prefix;
  if (prefix.length > MAX_PATH_LENGTH) throw new ValidationError('prefix is too long', 'prefix');
  const segments = prefix.split('/');
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '.' || segment === '..' || (!(last && segment === '') && !SEGMENT.test(segment))) {
      throw new ValidationError('prefix must be a path without . or .. segments', 'prefix');
    }
  });
  return prefix;
};

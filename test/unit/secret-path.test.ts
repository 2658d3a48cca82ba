import { describe, expect, it } from 'vitest';
import { MAX_PATH_DEPTH, MAX_PATH_LENGTH, validatePrefix, validateSecretPath } from '../../functions/domain/secrets/secret-path.js';
import { rejected } from './support/api-event.js';

describe('validateSecretPath', () => {
  it.each([
    ['empty', ''],
    ['a .. segment', '..'],
    ['a . segment', '.'],
    ['an empty segment', 'a//b'],
    ['a leading slash', '/a'],
    ['a trailing slash', 'a/'],
    ['traversal inside', 'a/../b'],
    ['a dot segment inside', 'a/./b'],
    ['a reserved "versions" suffix', 'app/db/versions'],
    ['a reserved "rotate" suffix', 'app/rotate'],
    ['a reserved "restore" suffix', 'restore'],
    ['a space', 'app/my secret'],
    ['non-ASCII letters', 'app/pässword'],
    ['an emoji', 'app/🔑'],
    ['a backslash', 'app\\db'],
    ['a percent sign', 'app/%2e%2e'],
    ['a segment over 128 characters', `app/${'a'.repeat(129)}`],
  ])('rejects %s (%j) with field "path"', (_, path) => {
    expect(rejected(() => validateSecretPath(path)).field).toBe('path');
  });

  it('rejects a path over the maximum length', () => {
    const long = Array.from({ length: 5 }, () => 'a'.repeat(110)).join('/');
    expect(long.length).toBeGreaterThan(MAX_PATH_LENGTH);
    rejected(() => validateSecretPath(long));
  });

  it('rejects a path deeper than the maximum', () => {
    rejected(() =>
      validateSecretPath(
        Array(MAX_PATH_DEPTH + 1)
          .fill('a')
          .join('/'),
      ),
    );
    expect(validateSecretPath(Array(MAX_PATH_DEPTH).fill('a').join('/'))).toBe(Array(MAX_PATH_DEPTH).fill('a').join('/'));
  });

  it('accepts letters, digits, _ . - in several segments and returns the path unchanged', () => {
    expect(validateSecretPath('app/db-1/pass.word_2')).toBe('app/db-1/pass.word_2');
    expect(validateSecretPath('a')).toBe('a');
    expect(validateSecretPath('...')).toBe('...');
  });

  it('allows reserved words anywhere but the last segment', () => {
    expect(validateSecretPath('versions/db')).toBe('versions/db');
    expect(validateSecretPath('app/rotate/key')).toBe('app/rotate/key');
  });
});

describe('validatePrefix', () => {
  it('accepts the empty prefix, a partial segment and a trailing slash', () => {
    expect(validatePrefix('')).toBe('');
    expect(validatePrefix('app/')).toBe('app/');
    expect(validatePrefix('app/db')).toBe('app/db');
  });

  it.each(['/app', 'app//', '../app', 'app/../', './', 'app/ x', 'ä/'])('rejects %j with field "prefix"', (prefix) => {
    expect(rejected(() => validatePrefix(prefix)).field).toBe('prefix');
  });

  it('rejects an over-long prefix', () => {
    rejected(() => validatePrefix(`${'a/'.repeat(MAX_PATH_LENGTH / 2)}a`));
  });
});

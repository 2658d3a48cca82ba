import { describe, expect, it } from 'vitest';
import { globMatches, isValidGlob } from '../../functions/domain/auth/path-glob.js';

describe('globMatches', () => {
  it('matches a literal glob only against the identical path', () => {
    expect(globMatches('app/db', 'app/db')).toBe(true);
    expect(globMatches('app/db', 'app/db2')).toBe(false);
    expect(globMatches('app/db', 'app')).toBe(false);
    expect(globMatches('app/db', 'x/app/db')).toBe(false);
  });

  it('lets * match within one segment but never across a slash', () => {
    expect(globMatches('app/*', 'app/db')).toBe(true);
    expect(globMatches('app/*', 'app/db/password')).toBe(false);
    expect(globMatches('app/*/password', 'app/db/password')).toBe(true);
    expect(globMatches('app/*/password', 'app/db/x/password')).toBe(false);
    expect(globMatches('app/db-*', 'app/db-prod')).toBe(true);
    expect(globMatches('app/db-*', 'app/cache-prod')).toBe(false);
    expect(globMatches('*', 'app')).toBe(true);
    expect(globMatches('*', 'app/db')).toBe(false);
  });

  it('lets app/** match everything below app but not app itself', () => {
    expect(globMatches('app/**', 'app/db')).toBe(true);
    expect(globMatches('app/**', 'app/db/password')).toBe(true);
    expect(globMatches('app/**', 'app')).toBe(false);
    expect(globMatches('app/**', 'application/db')).toBe(false);
    expect(globMatches('app/**', 'other/app/db')).toBe(false);
  });

  it('lets ** alone match every path', () => {
    for (const path of ['a', 'a/b', 'a/b/c/d/e', 'sys']) expect(globMatches('**', path)).toBe(true);
  });

  it('lets a leading ** match any number of whole leading segments, including none', () => {
    expect(globMatches('**/db', 'db')).toBe(true);
    expect(globMatches('**/db', 'app/db')).toBe(true);
    expect(globMatches('**/db', 'a/b/c/db')).toBe(true);
    expect(globMatches('**/db', 'appdb')).toBe(false);
    expect(globMatches('**/db', 'app/db/x')).toBe(false);
  });

  it('lets a middle ** match zero or more whole segments', () => {
    expect(globMatches('a/**/z', 'a/z')).toBe(true);
    expect(globMatches('a/**/z', 'a/b/z')).toBe(true);
    expect(globMatches('a/**/z', 'a/b/c/z')).toBe(true);
    expect(globMatches('a/**/z', 'az')).toBe(false);
    expect(globMatches('a/**/z', 'a/bz')).toBe(false);
    expect(globMatches('a/**/z', 'ab/z')).toBe(false);
    expect(globMatches('a/**/z', 'a/b/z/y')).toBe(false);
  });

  it('treats regex metacharacters in a glob literally', () => {
    expect(globMatches('a.b', 'a.b')).toBe(true);
    expect(globMatches('a.b', 'axb')).toBe(false);
    expect(globMatches('a+', 'aa')).toBe(false);
    expect(globMatches('a+', 'a+')).toBe(true);
    expect(globMatches('(a|b)', 'a')).toBe(false);
    expect(globMatches('(a|b)', '(a|b)')).toBe(true);
    expect(globMatches('x?', 'x')).toBe(false);
    expect(globMatches('[ab]', 'a')).toBe(false);
    expect(globMatches('a$', 'a$')).toBe(true);
    expect(globMatches('^a', 'a')).toBe(false);
    expect(globMatches('a{2}', 'aa')).toBe(false);
    expect(globMatches('a\\d', 'a1')).toBe(false);
  });

  it('gives the same answer for a glob on repeated calls (compiled-glob cache)', () => {
    expect(globMatches('cache/*', 'cache/x')).toBe(true);
    expect(globMatches('cache/*', 'cache/x/y')).toBe(false);
    expect(globMatches('cache/*', 'cache/x')).toBe(true);
  });
});

describe('isValidGlob', () => {
  it('accepts well-formed policy paths', () => {
    for (const glob of ['**', 'app/**', '**/db', 'a/**/z', 'app/db-*', 'a.b_c']) expect(isValidGlob(glob)).toBe(true);
  });

  it('rejects empty segments, traversal segments, odd characters and over-long globs', () => {
    for (const glob of ['', '/app', 'app/', 'a//b', 'a b', 'a$', 'ä', 'app/../x', './app', 'a/.', 'a'.repeat(513)]) {
      expect(isValidGlob(glob)).toBe(false);
    }
  });
});

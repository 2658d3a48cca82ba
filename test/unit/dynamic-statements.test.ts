import { escapeIdentifier, escapeLiteral } from 'pg';
import { describe, expect, it } from 'vitest';
import { parseLeaseId, validateLeasePrefix } from '../../functions/domain/dynamic/dynamic.js';
import { DEFAULT_STATEMENTS, renderStatement, validateRoleStatements, validateStatements } from '../../functions/domain/dynamic/statement-template.js';
import { ValidationError } from '../../functions/domain/errors.js';

const escape = { identifier: escapeIdentifier, literal: escapeLiteral };

describe('role statement templates', () => {
  it('quote the name as an identifier and the password and expiration as literals, whatever they hold', () => {
    const sql = renderStatement(
      'CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{ expiration }}',
      { name: 'x"; DROP ROLE postgres; --', password: "it's'; DROP TABLE t; --", expiration: '2030-01-01T00:00:00.000Z' },
      escape,
    );
    expect(sql).toBe(`CREATE ROLE "x""; DROP ROLE postgres; --" LOGIN PASSWORD 'it''s''; DROP TABLE t; --' VALID UNTIL '2030-01-01T00:00:00.000Z'`);
  });

  it('fill in defaults for revocation, renewal and rollback', () => {
    const statements = validateRoleStatements({ creation: ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}}'] });
    expect(statements.revocation).toEqual(DEFAULT_STATEMENTS.revocation);
    expect(statements.renewal).toEqual(DEFAULT_STATEMENTS.renewal);
    expect(statements.rollback).toEqual(DEFAULT_STATEMENTS.rollback);
  });

  it.each([
    ['creation', [], /at least one statement/],
    ['creation', ['CREATE ROLE {{name}} LOGIN PASSWORD {{secret}}'], /unknown placeholder \{\{secret\}\}/],
    ['creation', ["CREATE ROLE {{name}} LOGIN PASSWORD '{{password}}'"], /without quotes/],
    ['creation', ['CREATE ROLE {{name}} LOGIN'], /must use \{\{password\}\}/],
    ['creation', ['CREATE ROLE {{name}} PASSWORD {{password}} {{'], /unbalanced/],
    ['revocation', ['DROP ROLE {{name}}; SELECT {{password}}'], /may not use \{\{password\}\}/],
    ['revocation', ['DROP ROLE someone_else'], /must use \{\{name\}\}/],
    ['renewal', ['   '], /is empty/],
  ] as const)('refuse %s statements %j', (kind, statements, message) => {
    try {
      validateStatements(kind, statements);
      expect.unreachable('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe(`${kind}_statements`);
      expect((error as Error).message).toMatch(message);
    }
  });
});

describe('lease ids and prefixes', () => {
  it('name their engine and role', () => {
    expect(parseLeaseId('dynamic/main/creds/reader/0abc123def456789')).toEqual({ engine: 'main', role: 'reader' });
    expect(() => parseLeaseId('dynamic/main/creds/../x/0abc123def456789')).toThrow(ValidationError);
    expect(() => parseLeaseId('secret/main')).toThrow(ValidationError);
  });

  it('take prefixes from an engine down, never everything', () => {
    expect(validateLeasePrefix('dynamic/main/')).toBe('dynamic/main/');
    expect(validateLeasePrefix('dynamic/main/creds/reader/')).toBe('dynamic/main/creds/reader/');
    for (const prefix of ['', 'dynamic/', 'dynamic', 'dynamic/Main/', 'secrets/']) expect(() => validateLeasePrefix(prefix)).toThrow(ValidationError);
  });
});

import { describe, expect, it } from 'vitest';
import { assertContract, ContractViolationError, contractViolation } from '../integration/support/contract.js';

const jsonResponse = (status: number, body: unknown, contentType = 'application/json') => ({ status, contentType, text: JSON.stringify(body) });
const problem = (status: number) =>
  jsonResponse(status, { type: 'https://scaivault.dev/problems/x', title: 'X', status, request_id: 'req_1' }, 'application/problem+json');
const written = { path: 'app/db', version: 2, created_at: '2026-11-30T01:00:00.000Z' };

describe('the contract check of the integration suite', () => {
  it('accepts a response that matches its declared schema', () => {
    expect(contractViolation('PUT', '/v1/secrets/app/db', jsonResponse(200, written))).toBeUndefined();
    expect(
      contractViolation('GET', '/v1/health', jsonResponse(200, { status: 'ok', version: '0.1.0', timestamp: '2026-11-30T04:30:00.000Z' })),
    ).toBeUndefined();
    expect(contractViolation('DELETE', '/v1/secrets/app/db?destroy=true', { status: 204, contentType: null, text: '' })).toBeUndefined();
  });

  it('reports a body of the wrong shape, naming the field', () => {
    expect(contractViolation('PUT', '/v1/secrets/app/db', jsonResponse(200, { ...written, version: '2' }))).toMatch(/version/);
    expect(contractViolation('PUT', '/v1/secrets/app/db', jsonResponse(200, { path: 'app/db' }))).toMatch(/schema/);
  });

  it('reports a field the schema does not declare: a value must never leak into a listing', () => {
    const listed = {
      path: 'app/db',
      type: 'generic',
      current_version: 1,
      metadata: {},
      created_at: written.created_at,
      updated_at: written.created_at,
      deleted_at: null,
      rotation: null,
    };
    expect(contractViolation('GET', '/v1/secrets?prefix=app', jsonResponse(200, { secrets: [listed], next_cursor: null }))).toBeUndefined();
    expect(contractViolation('GET', '/v1/secrets?prefix=app', jsonResponse(200, { secrets: [{ ...listed, value: 'x' }], next_cursor: null }))).toMatch(/value/);
  });

  it('reports an undeclared status, a wrong media type and a body where none is declared', () => {
    expect(contractViolation('GET', '/v1/health', jsonResponse(201, { status: 'ok', version: '1' }))).toMatch(/not declared/);
    expect(contractViolation('GET', '/v1/health', jsonResponse(200, { status: 'ok', version: '1' }, 'text/plain'))).toMatch(/content type/);
    expect(contractViolation('DELETE', '/v1/webhooks/wh_1', { status: 204, contentType: 'application/json', text: '{}' })).toMatch(/no body/);
  });

  it('takes any error as problem+json, and checks that problem', () => {
    expect(contractViolation('GET', '/v1/secrets/app/db', problem(404))).toBeUndefined();
    expect(contractViolation('GET', '/v1/nothing-here', problem(404))).toBeUndefined();
    expect(contractViolation('GET', '/v1/secrets/app/db', { ...problem(404), status: 403 })).toMatch(/status/);
    expect(contractViolation('GET', '/v1/secrets/app/db', jsonResponse(500, { error: 'boom' }))).toMatch(/not declared/);
    expect(contractViolation('GET', '/v1/secrets/app/db', jsonResponse(404, { title: 'X' }, 'application/problem+json'))).toMatch(/problem body/);
  });

  it('fails the request that broke it', () => {
    expect(() => assertContract('PUT', '/v1/secrets/app/db', jsonResponse(200, {}))).toThrow(ContractViolationError);
  });
});

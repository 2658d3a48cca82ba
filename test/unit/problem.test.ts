import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  IntegrityError,
  NotFoundError,
  PreconditionFailedError,
  RateLimitedError,
  TooLargeError,
  UnauthenticatedError,
  ValidationError,
  VaultError,
  WriteContentionError,
} from '../../functions/domain/errors.js';
import { HttpError, problemResponse, toProblem } from '../../functions/http/problem.js';

const REQUEST_ID = 'req-0123';

describe('toProblem', () => {
  it.each([
    [new ValidationError('path is invalid', 'path'), 400],
    [new UnauthenticatedError('missing bearer token'), 401],
    [new ForbiddenError('permission denied: read on app/db'), 403],
    [new NotFoundError('secret app/db not found'), 404],
    [new ConflictError('tenant acme already exists'), 409],
    [new PreconditionFailedError('version 1 is not current', 2), 412],
    [new TooLargeError('value must be at most 65536 bytes'), 413],
    [new RateLimitedError('read', 100, 3), 429],
  ])('maps %s to %i with its message, a problem type and the request id', (error, status) => {
    const problem = toProblem(error, REQUEST_ID);
    expect(problem.status).toBe(status);
    expect(problem.body).toMatchObject({ status, detail: error.message, request_id: REQUEST_ID });
    expect(problem.body.type).toMatch(/^https:\/\/scaivault\.dev\/problems\/[a-z-]+$/);
    expect(typeof problem.body.title).toBe('string');
  });

  it('names the offending field of a ValidationError', () => {
    expect(toProblem(new ValidationError('bad', 'ttl_seconds'), REQUEST_ID).body.field).toBe('ttl_seconds');
    expect(toProblem(new ValidationError('bad'), REQUEST_ID).body).not.toHaveProperty('field');
  });

  it('reports the current version on a failed precondition or conflict', () => {
    expect(toProblem(new PreconditionFailedError('stale', 7), REQUEST_ID).body.current_version).toBe(7);
    expect(toProblem(new ConflictError('raced', 4), REQUEST_ID).body.current_version).toBe(4);
    expect(toProblem(new ConflictError('raced'), REQUEST_ID).body).not.toHaveProperty('current_version');
  });

  it('sets retry-after and rate-limit headers on RateLimitedError', () => {
    const problem = toProblem(new RateLimitedError('write', 20, 4), REQUEST_ID);
    expect(problem.headers).toMatchObject({
      'retry-after': '4',
      'ratelimit-limit': '20',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '4',
    });
    expect(problem.headers.ratelimit).toContain('limit=20');
    expect(problem.body.category).toBe('write');
  });

  it('answers 503 for an unavailable dependency without its message or cause', () => {
    const error = new DependencyUnavailableError('dynamodb', { cause: new Error('connect ECONNREFUSED 10.1.2.3:8000') });
    const problem = toProblem(error, REQUEST_ID);
    expect(problem.status).toBe(503);
    expect(problem.body.request_id).toBe(REQUEST_ID);
    const text = JSON.stringify(problem);
    expect(text).not.toContain('dynamodb');
    expect(text).not.toContain('10.1.2.3');
  });

  it('answers write contention with 503, Retry-After and a detail saying nothing was written', () => {
    const problem = toProblem(new WriteContentionError(1), REQUEST_ID);
    expect(problem.status).toBe(503);
    expect(problem.headers['retry-after']).toBe('1');
    expect(problem.body).toMatchObject({ type: 'https://scaivault.dev/problems/write-contention', detail: expect.stringContaining('nothing was written') });
  });

  it.each([
    ['an unexpected Error', new Error('TypeError at /var/task/index.js:42 secret=hunter2')],
    ['an integrity failure', new IntegrityError('data key dk_abc of tenant acme is missing hunter2')],
    ['an unmapped VaultError', new VaultError('internal detail hunter2')],
    ['a thrown string', 'hunter2'],
    ['a 5xx HttpError', new HttpError(502, 'upstream hunter2 broke')],
  ])('answers 5xx for %s without leaking its message', (_, error) => {
    const problem = toProblem(error, REQUEST_ID);
    expect(problem.status).toBeGreaterThanOrEqual(500);
    expect(problem.body.request_id).toBe(REQUEST_ID);
    expect(JSON.stringify(problem)).not.toContain('hunter2');
  });

  it("keeps an HttpError's status, message and headers below 500", () => {
    const problem = toProblem(new HttpError(405, 'method PATCH is not allowed here', { allow: 'GET, PUT' }), REQUEST_ID);
    expect(problem.status).toBe(405);
    expect(problem.headers).toEqual({ allow: 'GET, PUT' });
    expect(problem.body).toMatchObject({ detail: 'method PATCH is not allowed here', title: 'Method not allowed', request_id: REQUEST_ID });
    expect(toProblem(new HttpError(415, 'request body must be application/json'), REQUEST_ID).status).toBe(415);
  });
});

describe('problemResponse', () => {
  it("renders application/problem+json, never cached, with the problem's own headers winning", () => {
    const problem = toProblem(new RateLimitedError('read', 100, 2), REQUEST_ID);
    const response = problemResponse(problem, { 'retry-after': '999', 'x-request-id': REQUEST_ID });
    expect(response.statusCode).toBe(429);
    expect(response.headers).toMatchObject({
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      'retry-after': '2',
      'x-request-id': REQUEST_ID,
    });
    expect(JSON.parse(response.body as string)).toEqual(problem.body);
  });
});

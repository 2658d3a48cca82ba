import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { ValidationError } from '../../functions/domain/errors.js';
import { queryOf, validateRequest } from '../../functions/http/edge-validation.js';
import { booleanQuery, optional, positiveIntegerQuery } from '../../functions/routes/schemas.js';
import { apiEvent as event, rejected } from './support/api-event.js';

const bodyOf = <T>(schema: z.ZodMiniType<T>, body: unknown) => validateRequest({ body: schema }, event({ body: JSON.stringify(body) }), {}).body as T;

describe('request bodies at the edge', () => {
  const writeBody = z.strictObject({
    value: z.string(),
    type: optional(z.string().check(z.maxLength(5))),
    ttl: optional(z.int().check(z.gte(1), z.lte(100))),
    renewable: optional(z.boolean()),
    policies: optional(z.array(z.string()).check(z.maxLength(2))),
    metadata: optional(z.record(z.string(), z.string())),
    rotation: optional(z.strictObject({ interval_days: z.int() })),
  });

  it('rejects an unknown field, naming it', () => {
    const error = rejected(() => bodyOf(writeBody, { value: 'x', valeu: 'y' }));
    expect(error.field).toBe('valeu');
    expect(error.message).toBe('unknown field "valeu"');
  });

  it('enforces type, presence and length of strings', () => {
    expect(bodyOf(writeBody, { value: 'x' })).toEqual({ value: 'x' });
    expect(rejected(() => bodyOf(writeBody, {})).field).toBe('value');
    expect(rejected(() => bodyOf(writeBody, {})).message).toBe('value is required');
    expect(rejected(() => bodyOf(writeBody, { value: 5 })).field).toBe('value');
    expect(rejected(() => bodyOf(writeBody, { value: 5 })).message).toBe('value must be of type string');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', type: 'abcdef' })).field).toBe('type');
    // zod/mini carries no locale of its own: without the English one every detail would read "Invalid input".
    expect(rejected(() => bodyOf(writeBody, { value: 'x', type: 'abcdef' })).message).toBe('type: Too big: expected string to have <=5 characters');
  });

  it('treats null as absent for optional fields only', () => {
    expect(bodyOf(writeBody, { value: 'x', type: null }).type ?? undefined).toBeUndefined();
    expect(rejected(() => bodyOf(writeBody, { value: null })).message).toBe('value is required');
  });

  it('reads integers within bounds only', () => {
    expect(bodyOf(writeBody, { value: 'x', ttl: 60 }).ttl).toBe(60);
    for (const ttl of [1.5, '60', 0, 101]) expect(rejected(() => bodyOf(writeBody, { value: 'x', ttl })).field).toBe('ttl');
  });

  it('reads booleans strictly', () => {
    expect(bodyOf(writeBody, { value: 'x', renewable: true }).renewable).toBe(true);
    for (const renewable of ['true', 1]) expect(rejected(() => bodyOf(writeBody, { value: 'x', renewable })).field).toBe('renewable');
  });

  it('reads string arrays and string maps, rejecting wrong element types', () => {
    expect(bodyOf(writeBody, { value: 'x', policies: ['a', 'b'] }).policies).toEqual(['a', 'b']);
    expect(rejected(() => bodyOf(writeBody, { value: 'x', policies: ['a', 1] })).field).toBe('policies[1]');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', policies: 'a' })).field).toBe('policies');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', policies: ['a', 'b', 'c'] })).field).toBe('policies');
    expect(bodyOf(writeBody, { value: 'x', metadata: { k: 'v' } }).metadata).toEqual({ k: 'v' });
    expect(rejected(() => bodyOf(writeBody, { value: 'x', metadata: { k: 1 } })).field).toBe('metadata.k');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', metadata: ['v'] })).field).toBe('metadata');
  });

  it('checks nested objects against their own fields', () => {
    expect(rejected(() => bodyOf(writeBody, { value: 'x', rotation: { interval_days: 30, extra: 1 } })).field).toBe('rotation.extra');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', rotation: 'monthly' })).field).toBe('rotation');
    expect(rejected(() => bodyOf(writeBody, { value: 'x', rotation: {} })).field).toBe('rotation.interval_days');
  });

  it('never reads the body of a route that declares none', () => {
    expect(validateRequest(undefined, event({ body: 'not json' }), {}).body).toBeUndefined();
  });

  it('takes a missing optional body as {}', () => {
    const renew = z.strictObject({ increment_seconds: optional(z.int()) });
    expect(validateRequest({ body: renew, bodyOptional: true }, event({ body: '' }), {}).body).toEqual({});
    expect(() => validateRequest({ body: renew }, event({ body: '' }), {})).toThrow(ValidationError);
  });
});

describe('query parameters at the edge', () => {
  const listQuery = z.strictObject({ prefix: z.optional(z.string()), limit: positiveIntegerQuery(100), deleted: booleanQuery() });
  const queryFor = (rawQueryString: string) => validateRequest({ query: listQuery }, event({ rawQueryString }), {}).query as z.infer<typeof listQuery>;

  it('returns the declared parameters, decoded and typed', () => {
    expect(queryFor('prefix=app%2Fdb&limit=10&deleted=true')).toEqual({ prefix: 'app/db', limit: 10, deleted: true });
    expect(queryFor('')).toEqual({});
  });

  it('rejects an unknown parameter, naming it, on routes that declare none too', () => {
    const error = rejected(() => queryFor('prefix=a&limt=5'));
    expect(error.field).toBe('limt');
    expect(error.message).toBe('unknown query parameter "limt"');
    expect(rejected(() => validateRequest(undefined, event({ rawQueryString: 'force=1' }), {})).field).toBe('force');
  });

  it('answers a route that declares no schema (checked without zod) as one that declares an empty one', () => {
    const empty = { query: z.strictObject({}), params: z.strictObject({}) };
    for (const [rawQueryString, params] of [
      ['force=1&dry=2', {}],
      ['', { id: 'x', version: '2' }],
      ['', {}],
    ] as const) {
      const outcome = (schemas: typeof empty | undefined) => {
        try {
          return validateRequest(schemas, event({ rawQueryString }), params);
        } catch (error) {
          return { field: (error as ValidationError).field, message: (error as ValidationError).message };
        }
      };
      expect(outcome(undefined)).toEqual(outcome(empty));
    }
    expect(rejected(() => validateRequest(undefined, event({ rawQueryString: 'force=1&dry=2' }), {})).message).toBe('unknown query parameter "force", "dry"');
  });

  it('rejects a repeated parameter', () => {
    expect(rejected(() => queryOf(event({ rawQueryString: 'limit=5&limit=6' }))).field).toBe('limit');
  });

  it('treats a missing query string as empty', () => {
    expect(queryOf(event({ rawQueryString: undefined as unknown as string }))).toEqual({});
  });

  it.each(['0', '-1', '01', '1.5', '1e3', ' 1', 'abc', '', '101'])('rejects limit=%j', (raw) => {
    const error = rejected(() => queryFor(`limit=${encodeURIComponent(raw)}`));
    expect(error.field).toBe('limit');
    expect(error.message).toBe('limit: must be an integer between 1 and 100');
  });

  it('accepts only true or false as a flag', () => {
    expect(queryFor('deleted=false').deleted).toBe(false);
    expect(rejected(() => queryFor('deleted=yes')).message).toBe('deleted: must be true or false');
  });
});

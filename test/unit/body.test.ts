import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { TooLargeError, ValidationError } from '../../functions/domain/errors.js';
import { Fields, MAX_BODY_BYTES, headerOf, parseJsonBody, parseQuery, positiveIntegerParam } from '../../functions/http/body.js';
import { HttpError } from '../../functions/http/problem.js';

const event = (overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 =>
  ({
    version: '2.0',
    routeKey: '$default',
    rawPath: '/v1/secrets/app',
    rawQueryString: '',
    headers: { 'content-type': 'application/json' },
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEventV2['requestContext'],
    ...overrides,
  }) as APIGatewayProxyEventV2;

const thrown = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
};

describe('parseJsonBody', () => {
  it('parses a JSON object', () => {
    expect(parseJsonBody(event({ body: '{"value":"x","n":1}' }))).toEqual({ value: 'x', n: 1 });
  });

  it('decodes a base64-encoded body', () => {
    const body = Buffer.from('{"value":"ü"}').toString('base64');
    expect(parseJsonBody(event({ body, isBase64Encoded: true }))).toEqual({ value: 'ü' });
  });

  it('accepts application/json with parameters, +json types, and any header casing', () => {
    for (const type of ['application/json; charset=utf-8', 'application/merge-patch+json', 'Application/JSON']) {
      expect(parseJsonBody(event({ body: '{}', headers: { 'content-type': type } }))).toEqual({});
    }
    expect(parseJsonBody(event({ body: '{}', headers: { 'Content-Type': 'application/json' } }))).toEqual({});
  });

  it('requires a body unless optional', () => {
    expect(thrown(() => parseJsonBody(event({ body: undefined })))).toBeInstanceOf(ValidationError);
    expect(parseJsonBody(event({ body: '' }), { optional: true })).toEqual({});
  });

  it.each([
    ['no content type', {}],
    ['text/plain', { 'content-type': 'text/plain' }],
    ['a json-lookalike', { 'content-type': 'application/jsonx' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
  ])('answers 415 for %s', (_, headers) => {
    const error = thrown(() => parseJsonBody(event({ body: '{}', headers })));
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(415);
  });

  it('rejects malformed JSON', () => {
    for (const body of ['{', '{"a":}', "{'a':1}", 'undefined']) {
      expect(thrown(() => parseJsonBody(event({ body })))).toBeInstanceOf(ValidationError);
    }
  });

  it('rejects JSON that is not an object', () => {
    for (const body of ['[]', '[{"a":1}]', '"text"', '42', 'null', 'true']) {
      expect(thrown(() => parseJsonBody(event({ body })))).toBeInstanceOf(ValidationError);
    }
  });

  it('rejects a body over the size limit with TooLargeError, counting bytes', () => {
    const big = JSON.stringify({ value: 'a'.repeat(MAX_BODY_BYTES) });
    expect(thrown(() => parseJsonBody(event({ body: big })))).toBeInstanceOf(TooLargeError);
    const multibyte = JSON.stringify({ value: 'é'.repeat(MAX_BODY_BYTES / 2) });
    expect(multibyte.length).toBeLessThan(MAX_BODY_BYTES);
    expect(thrown(() => parseJsonBody(event({ body: multibyte })))).toBeInstanceOf(TooLargeError);
  });
});

describe('headerOf', () => {
  it('finds a header regardless of case', () => {
    expect(headerOf(event({ headers: { 'If-Match': '"3"' } }), 'if-match')).toBe('"3"');
    expect(headerOf(event({ headers: {} }), 'if-match')).toBeUndefined();
  });
});

describe('Fields', () => {
  it('rejects an unknown field, naming it', () => {
    const error = thrown(() => new Fields({ value: 'x', valeu: 'y' }, ['value', 'type']));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('valeu');
  });

  it('reads strings, enforcing type, presence and length', () => {
    const fields = new Fields({ value: 'x', number: 5, long: 'abcdef' }, ['value', 'number', 'long', 'missing']);
    expect(fields.string('value', { required: true })).toBe('x');
    expect(fields.string('missing')).toBeUndefined();
    expect((thrown(() => fields.string('missing', { required: true })) as ValidationError).field).toBe('missing');
    expect((thrown(() => fields.string('number')) as ValidationError).field).toBe('number');
    expect(thrown(() => fields.string('long', { max: 5 }))).toBeInstanceOf(ValidationError);
  });

  it('treats null as absent', () => {
    const fields = new Fields({ value: null }, ['value']);
    expect(fields.string('value')).toBeUndefined();
    expect(thrown(() => fields.string('value', { required: true }))).toBeInstanceOf(ValidationError);
  });

  it('reads integers within bounds only', () => {
    const fields = new Fields({ ok: 60, frac: 1.5, str: '60', low: 0 }, ['ok', 'frac', 'str', 'low']);
    expect(fields.integer('ok', { min: 1, max: 100 })).toBe(60);
    expect(thrown(() => fields.integer('frac'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.integer('str'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.integer('low', { min: 1 }))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.integer('ok', { max: 59 }))).toBeInstanceOf(ValidationError);
  });

  it('reads booleans strictly', () => {
    const fields = new Fields({ yes: true, str: 'true', num: 1 }, ['yes', 'str', 'num']);
    expect(fields.boolean('yes')).toBe(true);
    expect(thrown(() => fields.boolean('str'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.boolean('num'))).toBeInstanceOf(ValidationError);
  });

  it('reads string arrays and string maps, rejecting wrong element types', () => {
    const fields = new Fields(
      { list: ['a', 'b'], mixed: ['a', 1], notList: 'a', map: { k: 'v' }, badMap: { k: 1 }, arrMap: ['v'] },
      ['list', 'mixed', 'notList', 'map', 'badMap', 'arrMap'],
    );
    expect(fields.stringArray('list')).toEqual(['a', 'b']);
    expect(thrown(() => fields.stringArray('mixed'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.stringArray('notList'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.stringArray('list', { maxItems: 1 }))).toBeInstanceOf(ValidationError);
    expect(fields.stringMap('map')).toEqual({ k: 'v' });
    expect(thrown(() => fields.stringMap('badMap'))).toBeInstanceOf(ValidationError);
    expect(thrown(() => fields.stringMap('arrMap'))).toBeInstanceOf(ValidationError);
  });

  it('checks nested objects against their own allowed fields', () => {
    const fields = new Fields({ rotation: { interval_days: 30, extra: 1 } }, ['rotation']);
    expect(thrown(() => fields.object('rotation', ['interval_days']))).toBeInstanceOf(ValidationError);
    expect(fields.object('rotation', ['interval_days', 'extra'])?.integer('interval_days')).toBe(30);
    expect(thrown(() => new Fields({ rotation: 'monthly' }, ['rotation']).object('rotation', []))).toBeInstanceOf(ValidationError);
  });
});

describe('parseQuery', () => {
  it('returns the allowed parameters, decoded', () => {
    const query = parseQuery(event({ rawQueryString: 'prefix=app%2Fdb&limit=10' }), ['prefix', 'limit', 'cursor']);
    expect(query.get('prefix')).toBe('app/db');
    expect(query.get('limit')).toBe('10');
    expect(query.has('cursor')).toBe(false);
  });

  it('rejects an unknown parameter, naming it', () => {
    const error = thrown(() => parseQuery(event({ rawQueryString: 'prefix=a&limt=5' }), ['prefix', 'limit']));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('limt');
  });

  it('rejects a repeated parameter', () => {
    const error = thrown(() => parseQuery(event({ rawQueryString: 'limit=5&limit=6' }), ['limit']));
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('limit');
  });

  it('treats a missing query string as empty', () => {
    expect(parseQuery(event({ rawQueryString: undefined as unknown as string }), []).size).toBe(0);
  });
});

describe('positiveIntegerParam', () => {
  it('accepts positive decimal integers within the maximum', () => {
    expect(positiveIntegerParam(undefined, 'version')).toBeUndefined();
    expect(positiveIntegerParam('7', 'version')).toBe(7);
    expect(positiveIntegerParam('100', 'limit', 100)).toBe(100);
  });

  it.each(['0', '-1', '01', '1.5', '1e3', ' 1', 'abc', '', '101'])('rejects %j', (raw) => {
    expect(thrown(() => positiveIntegerParam(raw, 'limit', 100))).toBeInstanceOf(ValidationError);
  });
});

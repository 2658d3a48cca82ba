import { describe, expect, it } from 'vitest';
import { TooLargeError, ValidationError } from '../../functions/domain/errors.js';
import { MAX_BODY_BYTES, headerOf, parseJsonBody } from '../../functions/http/body.js';
import { HttpError } from '../../functions/http/problem.js';
import { apiEvent as event } from './support/api-event.js';

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
    for (const type of ['application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/merge-patch+json', 'Application/JSON']) {
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
    ['a charset other than UTF-8', { 'content-type': 'application/json; charset=utf-16' }],
    ['a quoted charset other than UTF-8', { 'content-type': 'application/json; charset="latin1"' }],
    ['an empty charset', { 'content-type': 'application/json; charset=' }],
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

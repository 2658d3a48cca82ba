import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { TooLargeError, ValidationError } from '../domain/errors.js';
import { HttpError } from './problem.js';

/** Larger than any valid request: a 64 KiB value JSON-escaped plus metadata. */
export const MAX_BODY_BYTES = 512 * 1024;

export type JsonObject = Record<string, unknown>;

/** Parses a JSON object body; rejects other media types, oversize and malformed JSON. */
export const parseJsonBody = (event: APIGatewayProxyEventV2, { optional = false } = {}): JsonObject => {
  const raw = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
  if (raw.length === 0) {
    if (optional) return {};
    throw new ValidationError('a JSON body is required');
  }
  const contentType = headerOf(event, 'content-type') ?? '';
  if (!/^application\/(.+\+)?json\s*(;|$)/i.test(contentType)) {
    throw new HttpError(415, 'request body must be application/json');
  }
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw new TooLargeError(`request body must be at most ${MAX_BODY_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ValidationError('request body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ValidationError('request body must be a JSON object');
  return parsed as JsonObject;
};

export const headerOf = (event: APIGatewayProxyEventV2, name: string): string | undefined => {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
};

/** Strict field access: unknown fields and wrong types are errors, never ignored. */
export class Fields {
  constructor(private readonly source: JsonObject, allowed: readonly string[]) {
    const unknown = Object.keys(source).filter((key) => !allowed.includes(key));
    if (unknown.length > 0) throw new ValidationError(`unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`, unknown[0]);
  }

  string(name: string, options: { required: true; max?: number }): string;
  string(name: string, options?: { required?: false; max?: number }): string | undefined;
  string(name: string, { required = false, max = 1024 }: { required?: boolean; max?: number } = {}): string | undefined {
    const value = this.present(name, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new ValidationError(`${name} must be a string`, name);
    if (value.length > max) throw new ValidationError(`${name} must be at most ${max} characters`, name);
    return value;
  }

  integer(name: string, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}): number | undefined {
    const value = this.present(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new ValidationError(`${name} must be an integer between ${min} and ${max}`, name);
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.present(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw new ValidationError(`${name} must be true or false`, name);
    return value;
  }

  stringArray(name: string, { required = false, maxItems = 64 } = {}): string[] | undefined {
    const value = this.present(name, required);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length > maxItems || value.some((item) => typeof item !== 'string')) {
      throw new ValidationError(`${name} must be an array of at most ${maxItems} strings`, name);
    }
    return value as string[];
  }

  stringMap(name: string): Record<string, string> | undefined {
    const value = this.present(name, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw new ValidationError(`${name} must be an object of string values`, name);
    }
    return { ...(value as Record<string, string>) };
  }

  object(name: string, allowed: readonly string[], { required = false } = {}): Fields | undefined {
    const value = this.present(name, required);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(`${name} must be an object`, name);
    return new Fields(value as JsonObject, allowed);
  }

  array(name: string, { required = false, maxItems = 64 } = {}): unknown[] | undefined {
    const value = this.present(name, required);
    if (value === undefined) return undefined;
    if (!Array.isArray(value) || value.length > maxItems) throw new ValidationError(`${name} must be an array of at most ${maxItems} items`, name);
    return value;
  }

  private present(name: string, required: boolean): unknown {
    const value = this.source[name];
    if (value === undefined || value === null) {
      if (required) throw new ValidationError(`${name} is required`, name);
      return undefined;
    }
    return value;
  }
}

/** Query parameters, strictly: unknown or repeated parameters are errors. */
export const parseQuery = (event: APIGatewayProxyEventV2, allowed: readonly string[]): Map<string, string> => {
  const params = new URLSearchParams(event.rawQueryString ?? '');
  const result = new Map<string, string>();
  for (const [key, value] of params) {
    if (!allowed.includes(key)) throw new ValidationError(`unknown query parameter ${JSON.stringify(key)}`, key);
    if (result.has(key)) throw new ValidationError(`query parameter ${key} is repeated`, key);
    result.set(key, value);
  }
  return result;
};

export const positiveIntegerParam = (raw: string | undefined, name: string, max = Number.MAX_SAFE_INTEGER): number | undefined => {
  if (raw === undefined) return undefined;
  if (!/^[1-9]\d{0,15}$/.test(raw) || Number(raw) > max) throw new ValidationError(`${name} must be an integer between 1 and ${max}`, name);
  return Number(raw);
};

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

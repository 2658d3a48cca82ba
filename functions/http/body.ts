import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { TooLargeError, ValidationError } from '../domain/errors.js';
import { HttpError } from './problem.js';

/** Larger than any valid request: a 64 KiB value JSON-escaped plus metadata. */
export const MAX_BODY_BYTES = 512 * 1024;

export type JsonObject = Record<string, unknown>;

/** The request body as text, whether API Gateway passed it as is or base64-encoded. */
export const bodyText = (event: APIGatewayProxyEventV2): string =>
  event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';

/** Parses a JSON object body; rejects other media types, oversize and malformed JSON. */
export const parseJsonBody = (event: APIGatewayProxyEventV2, { optional = false } = {}): JsonObject => {
  const raw = bodyText(event);
  if (raw.length === 0) {
    if (optional) return {};
    throw new ValidationError('a JSON body is required');
  }
  if (!isUtf8Json(headerOf(event, 'content-type') ?? '')) {
    throw new HttpError(415, 'request body must be application/json in UTF-8');
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

/** `application/json` or `application/*+json`, with no charset or charset utf-8: the body is read as UTF-8. */
const isUtf8Json = (contentType: string): boolean => {
  const [media = '', ...parameters] = contentType.split(';').map((part) => part.trim());
  if (!/^application\/([^/]+\+)?json$/i.test(media)) return false;
  return parameters.every((parameter) => {
    const [name = '', ...rest] = parameter.split('=');
    return name.trim().toLowerCase() !== 'charset' || /^"?utf-8"?$/i.test(rest.join('=').trim());
  });
};

export const headerOf = (event: APIGatewayProxyEventV2, name: string): string | undefined => {
  const headers = event.headers ?? {};
  return headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
};

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  ConflictError,
  DependencyUnavailableError,
  ForbiddenError,
  IdempotencyKeyReusedError,
  IntegrityError,
  NotFoundError,
  OutcomeUnknownError,
  PreconditionFailedError,
  QuotaExceededError,
  RateLimitedError,
  TooLargeError,
  UnauthenticatedError,
  ValidationError,
  WriteContentionError,
  type VaultError,
} from '../domain/errors.js';

/** An error raised by the HTTP layer itself (routing, content negotiation). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface ProblemKind {
  readonly status: number;
  readonly slug: string;
  readonly title: string;
}

// The one table from domain errors to HTTP answers.
const KINDS: ReadonlyArray<[new (...args: never[]) => VaultError, ProblemKind]> = [
  [ValidationError, { status: 400, slug: 'invalid-request', title: 'Invalid request' }],
  [UnauthenticatedError, { status: 401, slug: 'unauthenticated', title: 'Authentication required' }],
  [ForbiddenError, { status: 403, slug: 'forbidden', title: 'Permission denied' }],
  [NotFoundError, { status: 404, slug: 'not-found', title: 'Not found' }],
  [ConflictError, { status: 409, slug: 'conflict', title: 'Conflict' }],
  [PreconditionFailedError, { status: 412, slug: 'precondition-failed', title: 'Precondition failed' }],
  [TooLargeError, { status: 413, slug: 'too-large', title: 'Payload too large' }],
  [IdempotencyKeyReusedError, { status: 422, slug: 'idempotency-key-reused', title: 'Idempotency-Key reused' }],
  [RateLimitedError, { status: 429, slug: 'rate-limited', title: 'Too many requests' }],
  [QuotaExceededError, { status: 429, slug: 'quota-exceeded', title: 'Quota exceeded' }],
  [OutcomeUnknownError, { status: 504, slug: 'outcome-unknown', title: 'Outcome unknown' }],
  [DependencyUnavailableError, { status: 503, slug: 'unavailable', title: 'Service unavailable' }],
  [IntegrityError, { status: 500, slug: 'integrity', title: 'Stored data failed its integrity check' }],
];

const HTTP_TITLES: Record<number, string> = {
  400: 'Invalid request',
  404: 'Not found',
  405: 'Method not allowed',
  413: 'Payload too large',
  415: 'Unsupported media type',
};

export interface Problem {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Record<string, string>;
}

type ProblemBase = (status: number, slug: string, title: string, detail: string | undefined) => Problem;

/** A 5xx answer says what the caller may assume, never what failed inside. */
const serverProblem = (error: VaultError, kind: ProblemKind, base: ProblemBase): Problem => {
  if (error instanceof WriteContentionError) {
    const detail = 'too many concurrent writes to this secret; nothing was written, retry later';
    return { ...base(503, 'write-contention', 'Write contention', detail), headers: { 'retry-after': String(error.retryAfterSeconds) } };
  }
  if (error instanceof OutcomeUnknownError) {
    const detail = 'the change was sent and no answer came: it may or may not have been made; retry with If-Match or with the same Idempotency-Key';
    return base(504, kind.slug, kind.title, detail);
  }
  const detail = kind.status === 503 ? 'a dependency is unavailable; nothing was changed; retry later' : 'the request could not be completed';
  return { ...base(kind.status, kind.slug, kind.title, detail), headers: kind.status === 503 ? { 'retry-after': '1' } : {} };
};

/** Maps any error to a problem. Only 4xx answers carry the error's own message. */
export const toProblem = (error: unknown, requestId: string): Problem => {
  const base = (status: number, slug: string, title: string, detail: string | undefined, extra: Record<string, unknown> = {}) => ({
    status,
    headers: {},
    body: { type: `https://scaivault.dev/problems/${slug}`, title, status, ...(detail ? { detail } : {}), request_id: requestId, ...extra },
  });
  if (error instanceof HttpError) {
    const problem = base(
      error.status,
      error.status < 500 ? `http-${error.status}` : 'internal',
      HTTP_TITLES[error.status] ?? 'Error',
      error.status < 500 ? error.message : undefined,
    );
    return { ...problem, headers: error.headers };
  }
  for (const [type, kind] of KINDS) {
    if (!(error instanceof type)) continue;
    if (kind.status >= 500) return serverProblem(error, kind, base);
    const extra: Record<string, unknown> = {};
    const headers: Record<string, string> = {};
    if (error instanceof ValidationError && error.field) extra.field = error.field;
    if ((error instanceof PreconditionFailedError || error instanceof ConflictError) && error.currentVersion !== undefined) {
      extra.current_version = error.currentVersion;
    }
    if (error instanceof RateLimitedError) {
      headers['retry-after'] = String(error.retryAfterSeconds);
      headers['ratelimit-limit'] = String(error.limit);
      headers['ratelimit-remaining'] = '0';
      headers['ratelimit-reset'] = String(error.retryAfterSeconds);
      headers.ratelimit = `limit=${error.limit}, remaining=0, reset=${error.retryAfterSeconds}`;
      extra.category = error.category;
    }
    if (error instanceof QuotaExceededError) {
      headers['retry-after'] = String(error.retryAfterSeconds);
      extra.limit = error.limit;
    }
    return { ...base(kind.status, kind.slug, kind.title, error.message, extra), headers };
  }
  return base(500, 'internal', 'Internal error', 'an unexpected error occurred', {});
};

export const problemResponse = (problem: Problem, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode: problem.status,
  headers: { 'content-type': 'application/problem+json', 'cache-control': 'no-store', ...headers, ...problem.headers },
  body: JSON.stringify(problem.body),
});

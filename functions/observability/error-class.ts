// The one small set of error classes a failed span carries (`scaivault.error.class`),
// so traces can be filtered by kind of failure whatever the error's own name.

export const ERROR_CLASSES = ['network', 'auth', 'io_transient', 'io_permanent', 'validation'] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

// Socket and DNS failures (Node and undici codes), and the SDK's socket timeouts.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);
const NETWORK_NAMES = new Set(['TimeoutError', 'AbortError', 'FetchError', 'EgressRefusedError']);
const AUTH_NAMES = new Set([
  'UnauthenticatedError',
  'ForbiddenError',
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'MissingAuthenticationTokenException',
  'CredentialsProviderError',
]);
const TRANSIENT_NAMES = new Set([
  'DependencyUnavailableError',
  'DeadlineExceededError',
  'WriteContentionError',
  'OutcomeUnknownError',
  'RateLimitedError',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'KMSInternalException',
  'InternalServerError',
  'ServiceUnavailable',
]);
const VALIDATION_NAMES = new Set([
  'ValidationError',
  'TooLargeError',
  'ConflictError',
  'PreconditionFailedError',
  'IdempotencyKeyReusedError',
  'ZodError',
  'SyntaxError',
  'ValidationException',
  'SerializationException',
]);

interface ErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly cause?: unknown;
  readonly $fault?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** The class an HTTP status stands for; undefined for a success. */
export const errorClassOfStatus = (status: number): ErrorClass | undefined => {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429 || status >= 500) return 'io_transient';
  if (status === 400 || status === 409 || status === 412 || status === 413 || status === 422) return 'validation';
  return status >= 400 ? 'io_permanent' : undefined;
};

/** One error of a chain, on its own: undefined when it says nothing definite. */
const classOfOne = (error: ErrorShape): ErrorClass | undefined => {
  const name = error.name ?? '';
  // DOMException (an aborted or timed-out fetch) carries a numeric legacy `code`.
  const code = typeof error.code === 'string' ? error.code : '';
  if (NETWORK_CODES.has(code) || code.startsWith('UND_ERR') || NETWORK_NAMES.has(name)) return 'network';
  if (AUTH_NAMES.has(name)) return 'auth';
  if (TRANSIENT_NAMES.has(name)) return 'io_transient';
  if (VALIDATION_NAMES.has(name)) return 'validation';
  const status = error.$metadata?.httpStatusCode;
  // AWS answers most client errors 400 whatever they are; the named ones were matched above.
  if (status) return status === 400 ? 'io_permanent' : errorClassOfStatus(status);
  return error.$fault === 'server' ? 'io_transient' : undefined;
};

/**
 * The class of a failure: the innermost error of its cause chain that says
 * something definite wins (a DependencyUnavailableError caused by ECONNREFUSED
 * is `network`); an error nothing recognises is `io_permanent`, as a retry
 * will not mend a defect.
 */
export const errorClassOf = (error: unknown): ErrorClass => {
  let found: ErrorClass | undefined;
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 5; depth += 1) {
    found = classOfOne(current as ErrorShape) ?? found;
    current = (current as ErrorShape).cause;
  }
  return found ?? 'io_permanent';
};

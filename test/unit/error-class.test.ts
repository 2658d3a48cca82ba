import { describe, expect, it } from 'vitest';
import {
  ConflictError,
  DeadlineExceededError,
  DependencyUnavailableError,
  ForbiddenError,
  IntegrityError,
  NotFoundError,
  UnauthenticatedError,
  ValidationError,
} from '../../functions/domain/errors.js';
import { ERROR_CLASSES, errorClassOf, errorClassOfStatus } from '../../functions/observability/error-class.js';

/** An AWS SDK v3 service exception as the SDK shapes it. */
const awsError = (name: string, httpStatusCode: number, fault: 'client' | 'server' = 'client') =>
  Object.assign(new Error('message that may quote input'), { name, $fault: fault, $metadata: { httpStatusCode } });
const systemError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('errorClassOf', () => {
  it.each([
    ['a refused connection', systemError('ECONNREFUSED'), 'network'],
    ['an undici connect timeout', systemError('UND_ERR_CONNECT_TIMEOUT'), 'network'],
    ["fetch's TypeError caused by a reset socket", new TypeError('fetch failed', { cause: systemError('ECONNRESET') }), 'network'],
    ['an SDK socket timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'network'],
    ['a missing token', new UnauthenticatedError('no token'), 'auth'],
    ['a refused capability', new ForbiddenError('no'), 'auth'],
    ['KMS refusing the role', awsError('AccessDeniedException', 400), 'auth'],
    ['an unknown AWS 403', awsError('SomethingNew', 403), 'auth'],
    ['DynamoDB throttling', awsError('ProvisionedThroughputExceededException', 400), 'io_transient'],
    ['an AWS 5xx', awsError('InternalFailure', 500, 'server'), 'io_transient'],
    ['a request past its deadline', new DeadlineExceededError(1000), 'io_transient'],
    ['a dependency down for no known reason', new DependencyUnavailableError('dynamodb'), 'io_transient'],
    ['a missing table', awsError('ResourceNotFoundException', 400), 'io_permanent'],
    ['a tampered ciphertext', new IntegrityError('bad tag'), 'io_permanent'],
    ['a deleted secret', new NotFoundError('gone'), 'io_permanent'],
    ['a bug', new TypeError('x is undefined'), 'io_permanent'],
    ['something thrown that is no error', 'oops', 'io_permanent'],
    ['malformed input', new ValidationError('bad', 'value'), 'validation'],
    ['a version conflict', new ConflictError('taken', 3), 'validation'],
    ['an SDK ValidationException', awsError('ValidationException', 400), 'validation'],
  ])('classes %s', (_what, error, expected) => {
    expect(errorClassOf(error)).toBe(expected);
  });

  it("classes a fetch's DOMException timeout (numeric legacy code) as network", () => {
    expect(errorClassOf(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toBe('network');
  });

  it('lets the innermost definite cause win over its wrapper', () => {
    expect(errorClassOf(new DependencyUnavailableError('kms', { cause: awsError('AccessDeniedException', 400) }))).toBe('auth');
    expect(errorClassOf(new DependencyUnavailableError('dynamodb', { cause: systemError('ECONNREFUSED') }))).toBe('network');
    // A cause that says nothing definite leaves the wrapper's class.
    expect(errorClassOf(new DependencyUnavailableError('dynamodb', { cause: new Error('?') }))).toBe('io_transient');
  });

  it('always answers one of the fixed classes', () => {
    for (const thrown of [undefined, null, 42, {}, new Error('x'), awsError('Whatever', 302)]) expect(ERROR_CLASSES).toContain(errorClassOf(thrown));
  });
});

describe('errorClassOfStatus', () => {
  it.each([
    [200, undefined],
    [304, undefined],
    [400, 'validation'],
    [401, 'auth'],
    [403, 'auth'],
    [404, 'io_permanent'],
    [409, 'validation'],
    [429, 'io_transient'],
    [503, 'io_transient'],
  ])('classes HTTP %i', (status, expected) => {
    expect(errorClassOfStatus(status)).toBe(expected);
  });
});

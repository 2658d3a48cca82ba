import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { expect } from 'vitest';
import { ValidationError } from '../../../functions/domain/errors.js';

/** An API Gateway HTTP API event carrying a JSON request, with the overrides given. */
export const apiEvent = (overrides: Partial<APIGatewayProxyEventV2> = {}): APIGatewayProxyEventV2 =>
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

/** The ValidationError `run` throws; fails the test when it throws nothing or something else. */
export const rejected = (run: () => unknown): ValidationError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError');
};

import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A JSON answer that no cache may keep (secret values travel in these bodies). */
export const json = (statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 => ({
  statusCode,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify(body),
});

/** 204: done, nothing to say. */
export const noContent = (): APIGatewayProxyStructuredResultV2 => ({ statusCode: 204, headers: { 'cache-control': 'no-store' } });

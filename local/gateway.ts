import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { lambdaContext } from './lambda-context.js';
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

// A small stand-in for API Gateway HTTP API: turns each HTTP request into a
// payload-format-2.0 event, invokes the same handler Lambda runs, and writes
// the structured result back.

export type ApiHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/** API Gateway's own payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;
const TEXT_TYPES = /^(application\/([\w.+-]*json|x-www-form-urlencoded|xml)|text\/)/i;

/** How long an over-limit body is still drained (and discarded) after the 413, so the client reads the answer instead of a reset. */
const LINGER_MS = 2000;

const declaresTooMuch = (request: IncomingMessage): boolean => {
  const declared = Number(request.headers['content-length']);
  return Number.isFinite(declared) && declared > MAX_PAYLOAD_BYTES;
};

/** The body, or null as soon as it passes the limit: nothing past it is kept. */
const readBody = (request: IncomingMessage): Promise<Buffer | null> =>
  new Promise((resolve, reject) => {
    if (declaresTooMuch(request)) {
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_PAYLOAD_BYTES) {
        request.off('data', onData);
        chunks.length = 0;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

/** A problem+json body of the gateway's own (the handler never saw the request). */
const problemBody = (status: number, detail: string, requestId: string): string =>
  JSON.stringify({ type: `https://scaivault.dev/problems/http-${status}`, title: STATUS_CODES[status] ?? 'Error', status, detail, request_id: requestId });

const PROBLEM_HEADERS = { 'content-type': 'application/problem+json', 'cache-control': 'no-store' };

/** A complete HTTP/1.1 answer with a problem+json body, for writing straight onto a socket. */
const rawProblem = (status: number, detail: string, requestId: string): string => {
  const body = problemBody(status, detail, requestId);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\ncache-control: no-store\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
};

/**
 * Answers 413 and closes. Written on the socket itself: Node's response would
 * destroy the socket as soon as the answer is flushed, and a client still
 * sending its body would get a reset instead of the answer. So the rest of the
 * body is read only to be thrown away, for at most LINGER_MS (a lingering close).
 */
const refuseTooLarge = (request: IncomingMessage, requestId: string): void => {
  const socket = request.socket;
  socket.end(rawProblem(413, `request body must be at most ${MAX_PAYLOAD_BYTES} bytes`, requestId));
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.once('close', () => clearTimeout(linger));
  request.resume();
};

/**
 * Node's parser refused the request (NUL or raw non-ASCII bytes in the path, a
 * bare CR, an unknown method, oversized headers, a timeout): answer problem+json
 * on the raw socket instead of Node's empty 400, then close.
 */
const answerClientError = (error: NodeJS.ErrnoException, socket: Duplex): void => {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail =
    status === 431
      ? 'request headers are too large'
      : status === 408
        ? 'the request was not received in time'
        : error.code === 'HPE_INVALID_METHOD'
          ? 'unknown HTTP method'
          : 'malformed HTTP request';
  socket.end(rawProblem(status, detail, `req_${randomUUID().replaceAll('-', '')}`));
  // A client that never reads must not hold the socket open.
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
};

export const toEvent = (request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 => {
  const url = request.url ?? '/';
  const queryIndex = url.indexOf('?');
  const rawPath = queryIndex === -1 ? url : url.slice(0, queryIndex);
  const rawQueryString = queryIndex === -1 ? '' : url.slice(queryIndex + 1);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== 'cookie') headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const now = new Date();
  const isText = TEXT_TYPES.test(headers['content-type'] ?? '');
  const query = new URLSearchParams(rawQueryString);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    cookies: request.headers.cookie?.split(/;\s*/),
    headers,
    queryStringParameters: rawQueryString ? Object.fromEntries([...query.keys()].map((key) => [key, query.getAll(key).join(',')])) : undefined,
    requestContext: {
      accountId: 'embedded',
      apiId: 'embedded',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'embedded',
      http: {
        method: request.method ?? 'GET',
        path: rawPath,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: body.length === 0 ? undefined : isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
  };
};

const send = (response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void => {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  const body = result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
};

export interface Gateway {
  readonly server: Server;
  readonly url: string;
  /** Stops accepting, waits for requests in flight, then closes idle sockets. */
  close(): Promise<void>;
}

export const startGateway = async (options: { handler: ApiHandler; host: string; port: number; functionName?: string }): Promise<Gateway> => {
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = createServer(async (request, response) => {
    inFlight += 1;
    try {
      const body = await readBody(request);
      if (body === null) {
        refuseTooLarge(request, `req_${randomUUID().replaceAll('-', '')}`);
        return;
      }
      const result = await options.handler(toEvent(request, body), lambdaContext(options.functionName ?? 'scaivault-api', 29_000));
      send(response, result);
    } catch {
      // The integration failed (API Gateway's own 500), still as problem+json.
      if (!response.headersSent)
        send(response, {
          statusCode: 500,
          headers: PROBLEM_HEADERS,
          body: problemBody(500, 'the request could not be completed', `req_${randomUUID().replaceAll('-', '')}`),
        });
    } finally {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    }
  });
  server.keepAliveTimeout = 5000;
  server.on('clientError', answerClientError);
  // Expect: 100-continue with a length over the limit is refused before the client sends a byte of it.
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (declaresTooMuch(request)) {
      refuseTooLarge(request, `req_${randomUUID().replaceAll('-', '')}`);
      return;
    }
    response.writeContinue();
    server.emit('request', request, response);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    url: `http://${options.host}:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      server.closeAllConnections();
      await closed;
    },
  };
};

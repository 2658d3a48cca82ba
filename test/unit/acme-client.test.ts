import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AcmeClient, AcmeError } from '../../functions/adapters/acme/acme-client.js';
import { retryAfterMs } from '../../functions/adapters/http/retry-after.js';
import { createEgressAgent } from '../../functions/adapters/http/egress-agent.js';
import { EgressPolicy, EgressRefusedError } from '../../functions/adapters/http/egress-guard.js';
import { Tracing } from '../../functions/observability/tracing.js';
import { SilentServer } from './support/silent-server.js';
import { UNIT_TRACING_CONFIG } from './support/tracing-config.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

/** A scripted ACME server: each path answers with the next handler queued for it. */
class ScriptedAcme {
  readonly seen: { path: string; body: string }[] = [];
  readonly script = new Map<string, Handler[]>();
  private server: Server | undefined;
  private nonce = 0;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const body = Buffer.concat(chunks).toString('utf8');
        this.seen.push({ path, body });
        response.setHeader('replay-nonce', `nonce-${++this.nonce}`);
        if (path === '/dir')
          return void response.end(JSON.stringify({ newNonce: `${this.url}/nonce`, newAccount: `${this.url}/acct`, newOrder: `${this.url}/order` }));
        if (path === '/nonce') return void response.end();
        const next = this.script.get(path)?.shift();
        if (!next) return void ((response.statusCode = 500), response.end());
        next(request, body, response);
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string, ...handlers: Handler[]): void {
    this.script.set(path, [...(this.script.get(path) ?? []), ...handlers]);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const problem =
  (status: number, type: string, headers: Record<string, string> = {}): Handler =>
  (_request, _body, response) => {
    response.writeHead(status, { 'content-type': 'application/problem+json', ...headers });
    response.end(JSON.stringify({ type: `urn:ietf:params:acme:error:${type}`, detail: 'scripted' }));
  };
const ok =
  (body: unknown, headers: Record<string, string> = {}): Handler =>
  (_request, _body, response) => {
    response.writeHead(200, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

const accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }) as JWK;
const protectedHeader = (body: string) => JSON.parse(Buffer.from(JSON.parse(body).protected, 'base64url').toString('utf8'));

describe('AcmeClient', () => {
  const acme = new ScriptedAcme();
  const exporter = new InMemorySpanExporter();
  const tracing = new Tracing(UNIT_TRACING_CONFIG, new SimpleSpanProcessor(exporter));
  const dispatcher = createEgressAgent(new EgressPolicy({ allowlist: ['127.0.0.1'] }));
  const waits: number[] = [];
  const client = (accountUrl?: string, timeoutMs = 2000) =>
    new AcmeClient({
      directoryUrl: `${acme.url}/dir`,
      accountKey,
      accountUrl,
      dispatcher,
      tracing,
      timeoutMs,
      sleep: async (ms) => void waits.push(ms),
    });

  beforeAll(() => acme.start());
  afterAll(() => acme.stop());
  afterEach(() => {
    exporter.reset();
    waits.length = 0;
    acme.seen.length = 0;
  });

  it('retries a badNonce with the nonce the refusal carried, and traces every call by its ACME operation', async () => {
    acme.on('/acct', problem(400, 'badNonce'), (_request, _body, response) => {
      response.writeHead(201, { location: `${acme.url}/acct/1`, 'content-type': 'application/json' });
      response.end('{}');
    });
    const account = await client().register(['mailto:ops@example.com']);
    expect(account).toBe(`${acme.url}/acct/1`);
    const posts = acme.seen.filter((s) => s.path === '/acct').map((s) => protectedHeader(s.body));
    expect(posts).toHaveLength(2);
    expect(posts[1].nonce).not.toBe(posts[0].nonce);
    expect(posts[0]).toMatchObject({ alg: 'ES256', url: `${acme.url}/acct` });
    expect(posts[0].jwk).toEqual({ kty: 'EC', crv: 'P-256', x: accountKey.x, y: accountKey.y });

    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['acme directory', 'acme new-nonce', 'acme new-account', 'acme new-account']);
    const attributes = JSON.stringify(spans.map((s) => s.attributes));
    for (const leak of [accountKey.d as string, 'nonce-', posts[0].nonce]) expect(attributes).not.toContain(leak);
  });

  it('signs with the account URL as kid, and binds an external account with HS256 over the account key', async () => {
    acme.on('/acct', (_request, body, response) => {
      const binding = JSON.parse(Buffer.from(JSON.parse(body).payload, 'base64url').toString('utf8')).externalAccountBinding;
      const header = JSON.parse(Buffer.from(binding.protected, 'base64url').toString('utf8'));
      response.writeHead(201, { location: `${acme.url}/acct/2`, 'x-eab': JSON.stringify(header) });
      response.end('{}');
    });
    const hmacKey = Buffer.alloc(32, 7).toString('base64url');
    await client().register([], { kid: 'kid-1', hmacKey });
    const eab = JSON.parse(Buffer.from(JSON.parse(acme.seen.at(-1)!.body).payload, 'base64url').toString('utf8')).externalAccountBinding;
    expect(JSON.parse(Buffer.from(eab.protected, 'base64url').toString('utf8'))).toEqual({ alg: 'HS256', kid: 'kid-1', url: `${acme.url}/acct` });
    expect(JSON.parse(Buffer.from(eab.payload, 'base64url').toString('utf8'))).toEqual({ kty: 'EC', crv: 'P-256', x: accountKey.x, y: accountKey.y });

    acme.on('/order', ok({ status: 'pending', authorizations: [], finalize: `${acme.url}/fin` }, { location: `${acme.url}/order/1` }));
    const order = await client(`${acme.url}/acct/2`).newOrder(['a.example.com']);
    expect(order.url).toBe(`${acme.url}/order/1`);
    expect(protectedHeader(acme.seen.at(-1)!.body)).toMatchObject({ kid: `${acme.url}/acct/2` });
    expect(protectedHeader(acme.seen.at(-1)!.body)).not.toHaveProperty('jwk');
  });

  it("honours the server's Retry-After while polling, and on a rate limit", async () => {
    const processing = { status: 'processing', authorizations: [], finalize: '' };
    acme.on('/order/9', ok(processing, { 'retry-after': '3' }), problem(429, 'rateLimited', { 'retry-after': '2' }), ok({ ...processing, status: 'valid' }));
    const acmeClient = client(`${acme.url}/acct/1`);
    const order = await acmeClient.poll(
      () => acmeClient.orderPolled(`${acme.url}/order/9`),
      (o) => o.status === 'valid',
      60_000,
    );
    expect(order.status).toBe('valid');
    expect(waits).toEqual([3000, 2000]);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT'))).toBe(60_000);
  });

  it('gives up a poll whose budget the server would overrun, and passes other problems on', async () => {
    acme.on('/order/10', ok({ status: 'processing', authorizations: [], finalize: '' }, { 'retry-after': '20' }));
    const acmeClient = client(`${acme.url}/acct/1`);
    await expect(
      acmeClient.poll(
        () => acmeClient.orderPolled(`${acme.url}/order/10`),
        () => false,
        5000,
      ),
    ).rejects.toMatchObject({ type: 'timeout' });
    acme.on('/order/11', problem(403, 'unauthorized'));
    const refused = await acmeClient.orderPolled(`${acme.url}/order/11`).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AcmeError);
    expect(refused).toMatchObject({ type: 'unauthorized', status: 403, code: 'unauthorized' });
  });

  it('ends a call to a hung ACME server at its timeout', async () => {
    const silent = new SilentServer();
    await silent.start();
    try {
      const hung = new AcmeClient({ directoryUrl: `${silent.endpoint}/dir`, accountKey, dispatcher, tracing, timeoutMs: 300 });
      const started = performance.now();
      await expect(hung.directory()).rejects.toMatchObject({ name: 'TimeoutError' });
      expect(performance.now() - started).toBeLessThan(3000);
    } finally {
      await silent.stop();
    }
  });

  it('refuses a directory on a loopback address unless the egress allowlist names it', async () => {
    const guarded = new AcmeClient({ directoryUrl: `${acme.url}/dir`, accountKey, dispatcher: createEgressAgent(new EgressPolicy({ allowlist: [] })) });
    const error = (await guarded.directory().then(
      () => undefined,
      (e: unknown) => e as Error,
    )) as Error;
    expect(error.cause ?? error).toBeInstanceOf(EgressRefusedError);
    expect(acme.seen).toHaveLength(0);
  });
});

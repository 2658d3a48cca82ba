import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultProcess } from './support/vault.js';

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly ms: number;
}

/**
 * Sends bytes exactly as given over a TCP socket (no HTTP client would send
 * them), then optionally streams `bodyBytes` of body, and reads the answer
 * until the server closes the connection.
 */
const sendRaw = (port: number, head: Buffer | string, bodyBytes = 0): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const text = Buffer.concat(received).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      if (split === -1) return reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: text.slice(split + 4), ms: performance.now() - started });
    };
    const timer = setTimeout(() => {
      socket.destroy();
      finish();
    }, 10_000);
    socket.on('data', (chunk: Buffer) => {
      received.push(chunk);
      // The whole answer is in once its body has content-length bytes.
      const text = Buffer.concat(received).toString('latin1');
      const split = text.indexOf('\r\n\r\n');
      const length = /content-length:\s*(\d+)/i.exec(text.slice(0, split))?.[1];
      if (split !== -1 && length !== undefined && Buffer.byteLength(text.slice(split + 4), 'latin1') >= Number(length)) {
        socket.destroy();
        finish();
      }
    });
    // A reset after the answer arrived is fine; one before it fails in finish().
    socket.on('error', () => finish());
    socket.on('close', () => finish());
    socket.on('connect', async () => {
      socket.write(head);
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      for (let sent = 0; sent < bodyBytes && !socket.destroyed; sent += chunk.length) {
        if (!socket.write(chunk.subarray(0, Math.min(chunk.length, bodyBytes - sent)))) {
          await new Promise<void>((r) => {
            socket.once('drain', r);
            socket.once('close', r);
          });
        }
      }
    });
  });

const expectProblem = (answer: RawAnswer, status: number): Record<string, unknown> => {
  expect(answer.status, answer.body).toBe(status);
  expect(answer.headers['content-type']).toBe('application/problem+json');
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String), request_id: expect.stringMatching(/^req_/) });
  return body;
};

describe('every answer of the embedded HTTP server is problem+json', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    vault = await VaultProcess.start();
  });

  afterAll(async () => {
    await vault?.stop();
  });

  const put = (headers: string) =>
    `PUT /v1/secrets/edge/big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${vault.rootToken}\r\nContent-Type: application/json\r\n${headers}\r\n`;

  it.each([
    ['a declared length over 10 MiB', 11 * 1024 * 1024, 'Content-Length: 11534336\r\n'],
    ['a declared length of 1 GiB, of which 12 MiB are sent', 12 * 1024 * 1024, `Content-Length: ${1024 ** 3}\r\n`],
    ['a chunked body that passes 10 MiB', 0, 'Transfer-Encoding: chunked\r\n'],
  ])('answers 413 for %s and stops reading', async (_, bodyBytes, headers) => {
    let answer: RawAnswer;
    if (headers.startsWith('Transfer-Encoding')) {
      // 11 chunks of 1 MiB, sent as one stream.
      const chunk = Buffer.concat([Buffer.from(`100000\r\n`), Buffer.alloc(1024 * 1024, 0x61), Buffer.from('\r\n')]);
      answer = await sendRaw(vault.port, Buffer.concat([Buffer.from(put(headers)), ...Array.from({ length: 11 }, () => chunk)]));
    } else {
      answer = await sendRaw(vault.port, put(headers), bodyBytes);
    }
    expect(expectProblem(answer, 413).detail).toMatch(/at most 10485760 bytes/);
    expect(answer.headers.connection).toBe('close');
    expect(answer.ms).toBeLessThan(5000);
    // Nothing was written, and the vault serves on.
    expect((await vault.request('GET', '/v1/secrets/edge/big')).status).toBe(404);
  });

  it('refuses an Expect: 100-continue over the limit with 413 before any of the body is sent', async () => {
    const answer = await sendRaw(vault.port, put('Content-Length: 11534336\r\nExpect: 100-continue\r\n'));
    expect(answer.status).toBe(413);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.ms).toBeLessThan(1000);
  });

  it('answers an ordinary client sending 20 MiB with a 413 it can read', async () => {
    const response = await fetch(`${vault.url}/v1/secrets/edge/big`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${vault.rootToken}`, 'content-type': 'application/json' },
      body: Buffer.alloc(20 * 1024 * 1024, 0x61),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 413, request_id: expect.stringMatching(/^req_/) });
  });

  it.each([
    ['a NUL byte in the path', Buffer.from('GET /v1/he\u0000alth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 'latin1')],
    [
      'raw non-ASCII bytes in the path',
      Buffer.concat([Buffer.from('GET /v1/secrets/caf'), Buffer.from([0xc3, 0xa9, 0xff]), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')]),
    ],
    ['a bare CR in a header', Buffer.from('GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Note: a\rb\r\n\r\n')],
    ['an unknown method', Buffer.from('BREW /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')],
    ['a request line that is not HTTP', Buffer.from('hello there\r\n\r\n')],
  ])('answers %s with a problem+json 400', async (_, bytes) => {
    const answer = await sendRaw(vault.port, bytes);
    const body = expectProblem(answer, 400);
    // Nothing of the request is echoed back (the request id is random hex, which may spell "caf").
    expect(JSON.stringify({ ...body, request_id: undefined })).not.toMatch(/alth|caf|X-Note|BREW|hello/);
    expect((await vault.request('GET', '/v1/health', { token: null })).status).toBe(200);
  });

  it('answers oversized headers with a problem+json 431', async () => {
    const answer = await sendRaw(vault.port, `GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expectProblem(answer, 431);
  });
});

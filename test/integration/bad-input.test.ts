import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultProcess } from './support/vault.js';

/** Sends a path exactly as given: fetch would normalise `..` away before it left the client. */
const rawRequest = (vault: VaultProcess, method: string, path: string, body?: string): Promise<{ status: number; contentType: string; body: string }> =>
  new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: vault.port, method, path, headers: { authorization: `Bearer ${vault.rootToken}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type']), body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });

describe('bad input gets a 4xx problem and changes nothing', () => {
  let vault: VaultProcess;

  /** Every secret with its current version: what "changes nothing" is measured against. */
  const snapshot = async () => {
    const listed = await vault.request('GET', '/v1/secrets?include_deleted=true&limit=1000');
    return listed.body.secrets.map(
      (s: { path: string; current_version: number; deleted_at: string | null }) => `${s.path}@${s.current_version}:${s.deleted_at}`,
    );
  };

  beforeAll(async () => {
    vault = await VaultProcess.start();
    await vault.request('PUT', '/v1/secrets/app/existing', { body: { value: 'keep-me' } });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  const cases: Array<{ name: string; send: () => Promise<{ status: number; contentType: string | null; body: string }>; status: number }> = [
    { name: 'malformed JSON', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { raw: '{"value": "x",' }) },
    { name: 'a JSON array body', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { raw: '["x"]' }) },
    { name: 'an unknown field', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'x', colour: 'blue' } }) },
    { name: 'a number as value', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 42 } }) },
    { name: 'a missing value', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { body: { type: 'generic' } }) },
    { name: 'an unknown type', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'x', type: 'plutonium' } }) },
    { name: 'metadata that is not strings', status: 400, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'x', metadata: { n: 1 } } }) },
    { name: 'a value over 64 KiB', status: 413, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'x'.repeat(64 * 1024 + 1) } }) },
    {
      name: 'a value of 64 KiB in multibyte characters',
      status: 413,
      send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'é'.repeat(32 * 1024 + 1) } }),
    },
    {
      name: 'a non-JSON content type',
      status: 415,
      send: () => send('PUT', '/v1/secrets/app/new', { raw: 'value=x', headers: { 'content-type': 'text/plain' } }),
    },
    {
      name: 'a charset other than UTF-8',
      status: 415,
      send: () => send('PUT', '/v1/secrets/app/existing', { body: { value: 'x' }, headers: { 'content-type': 'application/json; charset=utf-16' } }),
    },
    { name: 'an encoded traversal', status: 400, send: () => rawRequest(vault, 'PUT', '/v1/secrets/app/%2e%2e/escape', '{"value":"x"}') },
    { name: 'an encoded slash traversal', status: 400, send: () => send('PUT', '/v1/secrets/app%2F..%2Fescape', { body: { value: 'x' } }) },
    { name: 'a raw traversal', status: 400, send: () => rawRequest(vault, 'PUT', '/v1/secrets/app/../escape', '{"value":"x"}') },
    { name: 'an empty segment', status: 400, send: () => rawRequest(vault, 'PUT', '/v1/secrets/app//double', '{"value":"x"}') },
    { name: 'invalid characters', status: 400, send: () => send('PUT', '/v1/secrets/app/semi;colon', { body: { value: 'x' } }) },
    { name: 'invalid percent-encoding', status: 400, send: () => send('PUT', '/v1/secrets/app/%E0%A4%A', { body: { value: 'x' } }) },
    { name: 'a reserved final segment', status: 400, send: () => send('PUT', '/v1/secrets/app/versions', { body: { value: 'x' } }) },
    {
      name: 'a malformed If-Match',
      status: 400,
      send: () => send('PUT', '/v1/secrets/app/existing', { body: { value: 'x' }, headers: { 'if-match': 'W/"1"' } }),
    },
    { name: 'a stale If-Match', status: 412, send: () => send('PUT', '/v1/secrets/app/existing', { body: { value: 'x' }, headers: { 'if-match': '"7"' } }) },
    {
      name: 'an If-Match with a leading zero',
      status: 400,
      send: () => send('PUT', '/v1/secrets/app/existing', { body: { value: 'x' }, headers: { 'if-match': '"01"' } }),
    },
    { name: 'a stale If-Match on delete', status: 412, send: () => send('DELETE', '/v1/secrets/app/existing', { headers: { 'if-match': '"7"' } }) },
    {
      name: 'a stale If-Match on destroy',
      status: 412,
      send: () => send('DELETE', '/v1/secrets/app/existing?destroy=true', { headers: { 'if-match': '"0"' } }),
    },
    {
      name: 'an If-Match with a leading zero on delete',
      status: 400,
      send: () => send('DELETE', '/v1/secrets/app/existing', { headers: { 'if-match': '"01"' } }),
    },
    { name: 'an unknown query parameter', status: 400, send: () => send('PUT', '/v1/secrets/app/new?force=1', { body: { value: 'x' } }) },
    { name: 'a bad version parameter', status: 400, send: () => send('GET', '/v1/secrets/app/existing?version=-1') },
    { name: 'a bad limit', status: 400, send: () => send('GET', '/v1/secrets?limit=0') },
    { name: 'a garbage cursor', status: 400, send: () => send('GET', '/v1/secrets?cursor=%%%') },
    { name: 'an unknown query parameter on token/self', status: 400, send: () => send('GET', '/v1/auth/token/self?verbose=1') },
    { name: 'a bad destroy flag', status: 400, send: () => send('DELETE', '/v1/secrets/app/existing?destroy=yes') },
    { name: 'a forged token', status: 401, send: () => send('PUT', '/v1/secrets/app/new', { body: { value: 'x' }, token: `svt_${'B'.repeat(43)}` }) },
    { name: 'an unknown route', status: 404, send: () => send('GET', '/v1/nothing-here') },
    { name: 'a wrong method', status: 405, send: () => send('PATCH', '/v1/secrets/app/existing', { body: { value: 'x' } }) },
  ];

  const send = async (method: string, path: string, options: Parameters<VaultProcess['request']>[2] = {}) => {
    const response = await vault.request(method, path, options);
    return { status: response.status, contentType: response.headers.get('content-type'), body: response.text };
  };

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, testCase) => {
    const before = await snapshot();
    const response = await testCase.send();
    expect(response.status).toBe(testCase.status);
    expect(response.contentType).toBe('application/problem+json');
    const problem = JSON.parse(response.body);
    expect(problem).toMatchObject({ status: testCase.status, title: expect.any(String), type: expect.stringContaining('/problems/') });
    expect(problem.request_id).toMatch(/^req_[0-9a-f]{32}$/);
    expect(await snapshot()).toEqual(before);
    expect((await vault.request('GET', '/v1/secrets/app/existing')).body.value).toBe('keep-me');
  });

  it('refuses a policy without rules, naming the field, and stores no policy', async () => {
    const empty = await vault.request('PUT', '/v1/policies/empty-rules', { body: { rules: [] } });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ status: 400, field: 'rules' });
    const identity = await vault.request('POST', '/v1/identities', { body: { identity: 'sa:nobody', policies: ['empty-rules'] } });
    expect(identity.status).toBe(400);
    expect(identity.body).toMatchObject({ field: 'policies' });
  });

  it('echoes a client X-Request-ID in the header and the problem', async () => {
    const response = await vault.request('GET', '/v1/secrets/app/missing', { headers: { 'x-request-id': 'client-trace-42' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('x-request-id')).toBe('client-trace-42');
    expect(response.body.request_id).toBe('client-trace-42');
  });
});

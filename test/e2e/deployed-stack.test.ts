import { describe, expect, it } from 'vitest';

// Runs against a deployed stack: set SCAIVAULT_E2E_URL (the HttpApiUrl output)
// and SCAIVAULT_E2E_TOKEN (the root token). Without them the suite is skipped.
const url = process.env.SCAIVAULT_E2E_URL;
const token = process.env.SCAIVAULT_E2E_TOKEN;
const reason = 'skipped: SCAIVAULT_E2E_URL and SCAIVAULT_E2E_TOKEN are not set (no deployed stack to test)';

if (!url || !token) console.log(`test/e2e: ${reason}`);

describe.skipIf(!url || !token)('deployed stack', () => {
  it('is ready and round-trips a secret', async () => {
    expect((await fetch(`${url}/v1/health/ready`)).status).toBe(200);
    const path = `e2e/check-${Date.now()}`;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const write = await fetch(`${url}/v1/secrets/${path}`, { method: 'PUT', headers, body: JSON.stringify({ value: 'e2e-value' }) });
    expect(write.status).toBe(201);
    const read = await fetch(`${url}/v1/secrets/${path}`, { headers });
    expect(((await read.json()) as { value: string }).value).toBe('e2e-value');
    expect((await fetch(`${url}/v1/secrets/${path}?destroy=true`, { method: 'DELETE', headers })).status).toBe(204);
  });
});

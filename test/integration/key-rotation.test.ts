import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './support/exposition.js';
import { waitFor } from './support/processes.js';
import { createIdentity, VaultProcess } from './support/vault.js';
import { WebhookReceiver } from './support/webhook-receiver.js';

// Data-key rotation over the real embedded vault (issue 15, point 1): a few
// thousand sealed values re-sealed in the background while a writer keeps
// writing, every value readable after, progress on /v1/metrics reaching 1;
// and a rotation killed with SIGKILL halfway resumes after a restart.

const PATHS = 500;
const VERSIONS = 4;
const IN_FLIGHT = 16;
const CRASH_PATHS = 300;
const CRASH_VERSIONS = 2;

const inBatches = async <T>(count: number, run: (index: number) => Promise<T>): Promise<T[]> => {
  const results: T[] = [];
  for (let start = 0; start < count; start += IN_FLIGHT) {
    results.push(...(await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count - start) }, (_, i) => run(start + i)))));
  }
  return results;
};

const valueOf = (tenant: string, index: number, version: number) => `${tenant}-value-${index}-v${version}`;

describe('data-key rotation', () => {
  let vault: VaultProcess;
  let receiver: WebhookReceiver;

  /**
   * Writes `value` as version `version` of `path`, with If-Match on the version before it, so a
   * retry after an unknown outcome (a 504 on a loaded machine) never makes an extra version: a
   * 412 on the retry means the first attempt landed, which a read confirms.
   */
  const write = async (token: string, path: string, value: string, version: number) => {
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await vault.request('PUT', `/v1/secrets/${path}`, { token, body: { value }, headers: { 'if-match': `"${version - 1}"` } });
      if (response.status === 200 || response.status === 201) return;
      if (response.status === 412 && attempt > 0) {
        const current = await vault.request('GET', `/v1/secrets/${path}`, { token });
        if (current.body.version === version && current.body.value === value) return;
      }
      if (response.status < 500 && response.status !== 409) throw new Error(`write ${path}: ${response.status} ${response.text}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    throw new Error(`write ${path}: no answer after 10 attempts`);
  };

  /** `paths` × `versions` sealed secret versions (2,000 by default). */
  const seed = async (tenant: string, token: string, paths = PATHS, versions = VERSIONS) => {
    for (let version = 1; version <= versions; version += 1) {
      await inBatches(paths, (i) => write(token, `seed/s${i}`, valueOf(tenant, i, version), version));
    }
  };

  /** Every version of every seeded path reads back as written. */
  const expectAllReadable = async (tenant: string, token: string, paths = PATHS, versions = VERSIONS) => {
    const wrong = await inBatches(paths * versions, async (n) => {
      const index = n % paths;
      const version = Math.floor(n / paths) + 1;
      let read = await vault.request('GET', `/v1/secrets/seed/s${index}?version=${version}`, { token });
      // A read that timed out on a loaded machine is asked again; a wrong value never is.
      for (let attempt = 0; read.status >= 500 && attempt < 5; attempt += 1) {
        read = await vault.request('GET', `/v1/secrets/seed/s${index}?version=${version}`, { token });
      }
      return read.status === 200 && read.body.value === valueOf(tenant, index, version) ? 0 : 1;
    });
    expect(wrong.filter((miss) => miss === 1)).toHaveLength(0);
  };

  const rotation = async (token: string, tenant: string) => (await vault.request('GET', `/v1/admin/keys/rotation?tenant=${tenant}`, { token })).body;

  const metric = async (name: string, labels: Record<string, string>): Promise<number> =>
    sumOf(parseExposition((await vault.request('GET', '/v1/metrics')).text), name, labels);

  beforeAll(async () => {
    receiver = await WebhookReceiver.start();
    vault = await VaultProcess.start({
      env: {
        SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '0.3',
        // Two cores shared with other suites: a slow moment is not the outage these tests are not about.
        SCAIVAULT_DEPENDENCY_TIMEOUT_MS: '15000',
        SCAIVAULT_REQUEST_DEADLINE_MS: '30000',
        SCAIVAULT_METRICS_STATE_CACHE_SECONDS: '0',
        SCAIVAULT_RATE_LIMITS: 'read=1000000/1m,write=1000000/1m,admin=100000/1m',
        SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
        SCAIVAULT_KEY_ROTATION_BATCH_SIZE: '50',
      },
      logToFile: true,
    });
  }, 60_000);

  afterAll(async () => {
    await vault?.stop();
    await receiver?.close();
  });

  it('re-seals 2,000 secret versions and a webhook signing secret while a writer writes, losing nothing', async () => {
    const token = await createIdentity(vault, { tenant: 'rotating', identity: 'sa:ops', policies: ['admin'] });
    await seed('rotating', token);
    const hook = await vault.request('POST', '/v1/webhooks', {
      token,
      body: { url: receiver.url('/keys'), event_types: ['key.rotation_started', 'key.rotation_finished'], description: 'key events' },
    });
    expect(hook.status, hook.text).toBe(201);
    // A CA whose key is sealed under the tenant's data key: re-sealed like the rest, and still signing after.
    const ca = await vault.request('POST', '/v1/pki/cas', {
      token,
      body: { type: 'root', name: 'rotating-root', common_name: 'Rotating Root', key_type: 'ec-p256' },
    });
    expect(ca.status, ca.text).toBe(201);
    const caId = ca.body.ca_id as string;
    const role = await vault.request('PUT', `/v1/pki/cas/${caId}/roles/web`, {
      token,
      body: { allowed_domains: ['rotating.example'], allow_subdomains: true },
    });
    expect(role.status, role.text).toBeLessThan(300);

    const started = await vault.request('POST', '/v1/admin/keys/rotate', { token, body: { tenant: 'rotating' } });
    expect(started.status, started.text).toBe(202);
    expect(started.body).toMatchObject({ tenant: 'rotating', state: 'running', phase: 'count' });
    expect((await vault.request('POST', '/v1/admin/keys/rotate', { token, body: {} })).status).toBe(409);

    // The writer: new versions of 50 seeded paths' neighbours, over and over, until the rotation ends.
    const written = new Map<string, string>();
    let writes = 0;
    const writer = (async () => {
      while ((await rotation(token, 'rotating')).state === 'running') {
        await inBatches(20, async (i) => {
          const value = `during-${writes}-${i}`;
          await write(token, `live/w${i}`, value, writes + 1);
          written.set(`live/w${i}`, value);
        });
        writes += 1;
      }
    })();
    await waitFor(async () => (await rotation(token, 'rotating')).state === 'finished', 120_000, 'the rotation to finish');
    await writer;

    const finished = await rotation(token, 'rotating');
    expect(finished).toMatchObject({ state: 'finished', progress_ratio: 1, key_id: started.body.key_id });
    // Every seeded version, the webhook's signing secret and the CA key.
    expect(finished.total).toBeGreaterThanOrEqual(PATHS * VERSIONS + 2);
    const issued = await vault.request('POST', `/v1/pki/cas/${caId}/issue/web`, { token, body: { common_name: 'www.rotating.example' } });
    expect(issued.status, issued.text).toBe(200);
    expect(writes).toBeGreaterThan(0);
    for (const [path, value] of written) expect((await vault.request('GET', `/v1/secrets/${path}`, { token })).body.value).toBe(value);
    await expectAllReadable('rotating', token);
    expect(await metric('scaivault_key_rotation_progress_ratio', { tenant: 'rotating' })).toBe(1);
    expect(await metric('scaivault_key_rotation_active', { tenant: 'rotating' })).toBe(0);
    expect(await metric('scaivault_sealed_items', { key_state: 'older' })).toBe(0);
    // The new key was generated and wrapped by the local provider (reads of old values may all be cache hits).
    expect(await metric('scaivault_key_wraps_total', { provider: 'local', result: 'success' })).toBeGreaterThan(0);

    // The webhook's signing secret was re-sealed too: deliveries are still signed, the finish event among them.
    await waitFor(async () => receiver.received.some((delivery) => delivery.body.includes('key.rotation_finished')), 30_000, 'the finish event');
    const audit = await vault.request('GET', '/v1/audit/events?type=key_rotation.finished&tenant_id=rotating', { token: vault.rootToken });
    expect(audit.status, audit.text).toBe(200);
    expect(audit.body.events).toHaveLength(1);
  }, 400_000);

  it('resumes a rotation killed halfway with SIGKILL after a restart, and finishes it', async () => {
    const token = await createIdentity(vault, { tenant: 'crashing', identity: 'sa:ops', policies: ['admin'] });
    // Smaller: what matters here is a kill between (or inside) batches, not volume.
    await seed('crashing', token, CRASH_PATHS, CRASH_VERSIONS);
    const started = await vault.request('POST', '/v1/admin/keys/rotate', { token, body: { tenant: 'crashing' } });
    expect(started.status, started.text).toBe(202);
    await waitFor(
      async () => {
        const current = await rotation(token, 'crashing');
        return current.phase === 'reseal' && current.done > 0 && current.done < current.total / 2;
      },
      60_000,
      'the rotation to be under way',
    );
    await vault.stop('SIGKILL');
    await vault.restart();

    const resumed = await rotation(token, 'crashing');
    expect(resumed.state).toBe('running');
    expect(resumed.done).toBeGreaterThan(0);
    await waitFor(async () => (await rotation(token, 'crashing')).state === 'finished', 60_000, 'the resumed rotation to finish');
    expect(await metric('scaivault_key_rotation_progress_ratio', { tenant: 'crashing' })).toBe(1);
    await expectAllReadable('crashing', token, CRASH_PATHS, CRASH_VERSIONS);
  }, 400_000);
});

// Issue "rotation and webhooks" benchmarks: rotations per second through the
// rotation queue and worker, and webhook deliveries per second to a local
// receiver, both on the embedded stack in this one run.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';

const ROTATIONS = 60;
const DELIVERIES = 200;

const rotationBenchmark = async (vault: VaultProcess): Promise<number> => {
  for (let i = 0; i < ROTATIONS; i += 1) {
    await vault.request('PUT', `/v1/secrets/bench/rot-${i}`, { body: { value: `initial-${i}`, rotation: { interval_days: 30, rotator: 'password' } } });
  }
  const started = performance.now();
  const jobs: string[] = [];
  for (let i = 0; i < ROTATIONS; i += 1) jobs.push((await vault.request('POST', `/v1/secrets/bench/rot-${i}/rotate`)).body.job_id as string);
  await waitFor(
    async () => {
      const statuses = await Promise.all(jobs.map(async (id) => (await vault.request('GET', `/v1/jobs/${id}`)).body.status as string));
      if (statuses.some((status) => status === 'failed')) throw new Error('a benchmark rotation failed');
      return statuses.every((status) => status === 'succeeded');
    },
    120_000,
    'rotations',
  );
  const seconds = (performance.now() - started) / 1000;
  const perSecond = ROTATIONS / seconds;
  console.log(
    `\nrotations: ${ROTATIONS} requested and promoted in ${seconds.toFixed(2)} s = ${perSecond.toFixed(1)} rotations/s (password rotator, one embedded worker)`,
  );
  return perSecond;
};

const webhookBenchmark = async (vault: VaultProcess): Promise<number> => {
  let received = 0;
  let _firstAt = 0;
  let lastAt = 0;
  const receiver = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      lastAt = performance.now();
      _firstAt ||= lastAt;
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  try {
    const created = await vault.request('POST', '/v1/webhooks', { body: { url: `http://127.0.0.1:${port}/hook`, event_types: ['secret.created'] } });
    if (created.status !== 201) throw new Error(`webhook creation answered ${created.status}: ${created.text}`);
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        for (let i = worker; i < DELIVERIES; i += 8) await vault.request('PUT', `/v1/secrets/bench/hook-${i}`, { body: { value: 'x' } });
      }),
    );
    await waitFor(async () => received >= DELIVERIES, 120_000, 'webhook deliveries');
    const seconds = (lastAt - started) / 1000;
    const perSecond = DELIVERIES / seconds;
    console.log(
      `webhooks: ${DELIVERIES} events written and delivered (signed, through the webhook queue) in ${seconds.toFixed(2)} s = ${perSecond.toFixed(1)} deliveries/s`,
    );
    return perSecond;
  } finally {
    receiver.close();
  }
};

export const runJobBenchmarks = async (): Promise<Record<string, number>> => {
  const vault = await VaultProcess.start({
    env: { LOG_LEVEL: 'warn', SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1', SCAIVAULT_RATE_LIMITS: 'read=100000/1s,write=100000/1s,admin=10000/1s' },
  });
  try {
    return { rotations_per_second: await rotationBenchmark(vault), webhook_deliveries_per_second: await webhookBenchmark(vault) };
  } finally {
    await vault.stop();
  }
};

// Issue 16 item 5: rotations and webhook deliveries through the embedded worker, each
// beside its floor measured in the same run (bench/job-floors.ts): the queue's send,
// receive and delete around the signed POST to the same receiver, or around a
// rotation's DynamoDB reads and writes, on the same dynalite and fauxqs processes
// the vault uses. Target: each ≥ 0.5 of its floor.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ROTATION_WORKER_FUNCTION, STATE_TABLE, WEBHOOK_WORKER_FUNCTION } from '../functions/runtime/definitions.js';
import { ensureTable } from '../local/provision.js';
import { DynaliteProcess, FauxqsProcess, waitFor } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { figure, report } from './harness.js';
import { rotationFloor, sqsClient, webhookBookkeepingFloor, webhookFloor, type ConsumerShape } from './job-floors.js';

const ROTATIONS = 60;
const DELIVERIES = 200;
const WRITERS = 8;
/** Subscriptions per event: each secret write fans out to this many deliveries, so the write path does not bound the worker. */
const FAN_OUT = 10;
const TARGET = 0.5;

const shapeOf = (trigger: { batchSize: number; maxConcurrency: number }, concurrentBatch: boolean): ConsumerShape => ({
  concurrency: trigger.maxConcurrency,
  batchSize: trigger.batchSize,
  concurrentBatch,
});
const ROTATION_SHAPE = shapeOf(ROTATION_WORKER_FUNCTION.trigger as { batchSize: number; maxConcurrency: number }, false);
const WEBHOOK_SHAPE = shapeOf(WEBHOOK_WORKER_FUNCTION.trigger as { batchSize: number; maxConcurrency: number }, true);

const rotationBenchmark = async (vault: VaultProcess): Promise<number> => {
  for (let i = 0; i < ROTATIONS; i += 1) {
    await vault.request('PUT', `/v1/secrets/bench/rot-${i}`, { body: { value: `initial-${i}`, rotation: { interval_days: 30, rotator: 'password' } } });
  }
  const started = performance.now();
  const jobs: string[] = [];
  for (let i = 0; i < ROTATIONS; i += 1) jobs.push((await vault.request('POST', `/v1/secrets/bench/rot-${i}/rotate`)).body.job_id as string);
  // Only the jobs still pending are asked for, so the polling adds little load to the vault it measures.
  let pending = jobs;
  await waitFor(
    async () => {
      const statuses = await Promise.all(pending.map(async (id) => [id, (await vault.request('GET', `/v1/jobs/${id}`)).body.status as string] as const));
      if (statuses.some(([, status]) => status === 'failed')) throw new Error('a benchmark rotation failed');
      pending = statuses.filter(([, status]) => status !== 'succeeded').map(([id]) => id);
      return pending.length === 0;
    },
    120_000,
    'rotations',
  );
  return ROTATIONS / ((performance.now() - started) / 1000);
};

/** A local receiver counting POSTs per first path segment; `until(path, n)` resolves with the time of the n-th. */
const startReceiver = async () => {
  const received = new Map<string, { count: number; lastAt: number }>();
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      // Counted per first path segment: /hook/3 counts as /hook.
      const path = `/${(request.url ?? '').split('/')[1] ?? ''}`;
      const entry = received.get(path) ?? { count: 0, lastAt: 0 };
      entry.count += 1;
      entry.lastAt = performance.now();
      received.set(path, entry);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const count = (path: string): number => received.get(path)?.count ?? 0;
  const until = async (path: string, count: number): Promise<number> => {
    await waitFor(async () => (received.get(path)?.count ?? 0) >= count, 120_000, `${count} POSTs to ${path}`);
    return received.get(path)?.lastAt ?? 0;
  };
  return { base, count, until, close: () => server.close() };
};

const webhookBenchmark = async (
  vault: VaultProcess,
  receiver: Awaited<ReturnType<typeof startReceiver>>,
): Promise<{ endToEnd: number; leftWhenWritten: number }> => {
  for (let i = 0; i < FAN_OUT; i += 1) {
    const created = await vault.request('POST', '/v1/webhooks', { body: { url: `${receiver.base}/hook/${i}`, event_types: ['secret.created'] } });
    if (created.status !== 201) throw new Error(`webhook creation answered ${created.status}: ${created.text}`);
  }
  const events = DELIVERIES / FAN_OUT;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, worker) => {
      for (let i = worker; i < events; i += WRITERS) await vault.request('PUT', `/v1/secrets/bench/hook-${i}`, { body: { value: 'x' } });
    }),
  );
  const written = performance.now();
  const backlog = DELIVERIES - receiver.count('/hook');
  const finished = await receiver.until('/hook', DELIVERIES);
  console.log(
    `      webhooks: ${events} events written in ${((written - started) / 1000).toFixed(2)} s; ${backlog} of their ${DELIVERIES} deliveries left then, delivered ${((finished - written) / 1000).toFixed(2)} s later: the worker keeps pace with the writes`,
  );
  return { endToEnd: DELIVERIES / ((finished - started) / 1000), leftWhenWritten: backlog };
};

const ratio = (name: string, measured: number, floor: number, unit: string): number => {
  const value = measured / floor;
  report(name, `${measured.toFixed(1)} vs ${floor.toFixed(1)} ${unit} = ${value.toFixed(2)}`, `≥ ${TARGET} of the floor`, value >= TARGET);
  return value;
};

export const runJobBenchmarks = async (): Promise<Record<string, number>> => {
  const [dynalite, fauxqs, receiver] = await Promise.all([DynaliteProcess.start(), FauxqsProcess.start(), startReceiver()]);
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const sqs = sqsClient(fauxqs.endpoint);
  const floorTable = { ...STATE_TABLE, id: 'bench-rotation-floor' };
  await ensureTable(dynamodb, floorTable);
  const vault = await VaultProcess.start({
    env: {
      LOG_LEVEL: 'warn',
      SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
      SCAIVAULT_RATE_LIMITS: 'read=100000/1s,write=100000/1s,admin=10000/1s',
      // The vault and the floors use the same emulator processes.
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_SQS_S3_ENDPOINT: fauxqs.endpoint,
    },
  });
  try {
    console.log(
      `\njobs: ${ROTATIONS} password rotations and ${DELIVERIES} webhook deliveries through the embedded worker; floors on the same dynalite and fauxqs processes, same consumer shape`,
    );
    const rotationFloorRate = await rotationFloor(sqs, dynamodb, floorTable.id, ROTATIONS, ROTATION_SHAPE);
    const rotations = await rotationBenchmark(vault);
    const webhookFloorRate = await webhookFloor(sqs, `${receiver.base}/floor`, DELIVERIES, WRITERS, WEBHOOK_SHAPE);
    const deliveries = await webhookBenchmark(vault, receiver);
    const bookkeeping = await webhookBookkeepingFloor(sqs, dynamodb, floorTable.id, `${receiver.base}/floor`, DELIVERIES, WRITERS, WEBHOOK_SHAPE);
    figure(
      "delivery floor with the design's 9 DynamoDB calls",
      `${bookkeeping.toFixed(1)} /s = ${(bookkeeping / webhookFloorRate).toFixed(2)} of the floor; the vault reaches ${(deliveries.endToEnd / bookkeeping).toFixed(2)} of it`,
    );
    return {
      rotations_per_second: rotations,
      rotation_floor_per_second: rotationFloorRate,
      rotation_ratio: ratio('rotations/s through the worker', rotations, rotationFloorRate, '/s'),
      webhook_deliveries_per_second: deliveries.endToEnd,
      webhook_deliveries_left_when_written: deliveries.leftWhenWritten,
      webhook_floor_per_second: webhookFloorRate,
      webhook_ratio: ratio('webhook deliveries/s through the worker', deliveries.endToEnd, webhookFloorRate, '/s'),
      webhook_bookkeeping_floor_per_second: bookkeeping,
      webhook_over_bookkeeping_floor: deliveries.endToEnd / bookkeeping,
    };
  } finally {
    receiver.close();
    dynamodb.destroy();
    sqs.destroy();
    await Promise.all([vault.stop(), dynalite.stop(), fauxqs.stop()]);
  }
};

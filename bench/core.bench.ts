// Issue "core" benchmarks: full HTTP read path vs raw GetItem on the same
// dynalite; and, since every read is audited fail-closed, vs its storage floor:
// the same GetItem and one audit PutItem issued in parallel (issue 16), for
// throughput at 16 clients and median latency at one; key-provider unwraps per
// 1,000 warm reads, and the api bundle size.
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, fetch as undiciFetch } from 'undici';
import { join } from 'node:path';
import { AUDIT_TABLE, STATE_TABLE } from '../functions/runtime/definitions.js';
import { buildFunctions } from '../scripts/build.js';
import { lambdaNode } from '../scripts/lambda-node.js';
import { DynaliteProcess, freePort, ROOT, waitFor } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { compareLatency, compareThroughput, figure, report } from './harness.js';

const CONCURRENCY = 16;

/** bench/floor/http-storage-server.ts in its own process on the Lambda runtime's Node, as the vault runs. */
const startHttpFloor = async (endpoint: string): Promise<{ url: string; stop: () => void }> => {
  const port = await freePort();
  const child = spawn(lambdaNode().path, ['--import', 'tsx', join(ROOT, 'bench/floor/http-storage-server.ts'), String(port), endpoint], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/none`).catch(() => undefined))?.status === 404, 20_000, 'HTTP floor server');
  return { url, stop: () => child.kill() };
};

export const runCoreBenchmarks = async (): Promise<Record<string, number>> => {
  const bundles = await buildFunctions();
  const api = bundles.find((b) => b.name === 'api');
  if (!api) throw new Error('no api bundle');

  const dynalite = await DynaliteProcess.start();
  const rootToken = `svt_${'b'.repeat(43)}`;
  // On the Node major the Lambdas run, as the other latency benchmarks are.
  const vault = await VaultProcess.start({
    node: lambdaNode().path,
    env: {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: rootToken,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
      SCAIVAULT_RATE_LIMITS: 'read=100000000/1s,admin=100000/1s',
      // In AWS the scheduler (sealing, verifying the audit chain) is its own function, not the api's CPU.
      SCAIVAULT_SCHEDULER_INTERVAL_SECONDS: '86400',
      LOG_LEVEL: 'warn',
    },
  });
  try {
    const paths = Array.from({ length: 20 }, (_, i) => `bench/app-${i}/password`);
    for (const path of paths) await vault.request('PUT', `/v1/secrets/${path}`, { body: { value: `value-of-${path}` } });

    const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
    const headers = { authorization: `Bearer ${rootToken}` };
    let next = 0;
    const httpRead = async () => {
      const path = paths[next++ % paths.length];
      const response = await undiciFetch(`${vault.url}/v1/secrets/${path}`, { headers, dispatcher });
      if (response.status !== 200) throw new Error(`read answered ${response.status}`);
      await response.arrayBuffer();
    };
    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const rawGet = async () => {
      const path = paths[next++ % paths.length];
      const result = await client.send(
        new GetItemCommand({ TableName: STATE_TABLE.id, Key: { pk: { S: 'T#default#SECRETS' }, sk: { S: path! } }, ConsistentRead: true }),
      );
      if (!result.Item) throw new Error('raw read found nothing');
    };

    // The storage work a fail-closed read cannot skip: the read, and one audit record written beside it.
    const auditPut = async () => {
      const time = new Date().toISOString();
      const eventId = `aev_${randomUUID().replaceAll('-', '')}`;
      await client.send(
        new PutItemCommand({
          TableName: AUDIT_TABLE.id,
          Item: {
            pk: { S: `DAY#${time.slice(0, 10)}` },
            sk: { S: `${time}#${eventId}` },
            eventId: { S: eventId },
            time: { S: time },
            type: { S: 'secret.read' },
            outcome: { S: 'success' },
            tenantId: { S: 'default' },
            identityId: { S: 'sa:root' },
            path: { S: 'bench/app-0/password' },
            requestId: { S: `req_${eventId}` },
            sourceAddress: { S: '127.0.0.1' },
            method: { S: 'GET' },
            status: { N: '200' },
            hmac: { M: { token: { S: `hmac-sha256:${'0'.repeat(64)}` } } },
          },
        }),
      );
    };
    const storageFloor = async () => {
      await Promise.all([rawGet(), auditPut()]);
    };

    // Warm both paths (connections, caches, JIT) before measuring.
    await compareThroughput(httpRead, rawGet, { rounds: 1, concurrency: CONCURRENCY, roundMs: 1000 });
    const { a: http, b: raw } = await compareThroughput(httpRead, rawGet, { rounds: 4, concurrency: CONCURRENCY, roundMs: 2500 });
    const ratio = http.perSecond / raw.perSecond;
    const { a: httpAgain, b: floor } = await compareThroughput(httpRead, storageFloor, { rounds: 4, concurrency: CONCURRENCY, roundMs: 2500 });
    const auditedRatio = httpAgain.perSecond / floor.perSecond;
    const latency = await compareLatency(httpRead, storageFloor, { rounds: 6, perRound: 150 });
    const latencyRatio = latency.a / latency.b;
    // What the HTTP hop alone adds to the floor: splits the vault's latency into hop and pipeline.
    const httpFloor = await startHttpFloor(dynalite.endpoint);
    const httpFloorRead = async () => {
      const response = await undiciFetch(`${httpFloor.url}/${encodeURIComponent(paths[next++ % paths.length]!)}`, { dispatcher });
      if (response.status !== 200) throw new Error(`HTTP floor answered ${response.status}`);
      await response.arrayBuffer();
    };
    let hop: { a: number; b: number };
    let hopThroughput: { a: { perSecond: number }; b: { perSecond: number } };
    try {
      hop = await compareLatency(httpFloorRead, storageFloor, { rounds: 4, perRound: 150 });
      hopThroughput = await compareThroughput(httpRead, httpFloorRead, { rounds: 2, concurrency: CONCURRENCY, roundMs: 2500 });
    } finally {
      httpFloor.stop();
    }

    const cacheMisses = async () => (await vault.request('GET', '/v1/admin/status')).body.cache.misses as number;
    const before = await cacheMisses();
    for (let i = 0; i < 1000; i += 1) await httpRead();
    const unwrapsPer1000 = (await cacheMisses()) - before;
    client.destroy();
    await dispatcher.close();

    console.log(
      `\nsecret reads: full HTTP path ${http.perSecond.toFixed(0)}/s, raw GetItem ${raw.perSecond.toFixed(0)}/s (concurrency ${CONCURRENCY}, same dynalite)`,
    );
    report('read ratio (HTTP reads / raw GetItem)', ratio.toFixed(3), '>= 0.5', ratio >= 0.5);
    console.log(
      `secret reads: full HTTP path ${httpAgain.perSecond.toFixed(0)}/s, floor (GetItem ‖ audit PutItem) ${floor.perSecond.toFixed(0)}/s at ${CONCURRENCY} clients`,
    );
    report('audited read throughput (HTTP / floor, 16 clients)', auditedRatio.toFixed(3), '>= 0.8', auditedRatio >= 0.8);
    console.log(`secret reads at one client: full HTTP path median ${latency.a.toFixed(2)} ms, floor median ${latency.b.toFixed(2)} ms`);
    report('audited read median latency (HTTP / floor, 1 client)', latencyRatio.toFixed(3), '<= 1.3', latencyRatio <= 1.3);
    figure('  the floor behind a bare HTTP server / floor', `${(hop.a / hop.b).toFixed(3)} (${hop.a.toFixed(2)} ms vs ${hop.b.toFixed(2)} ms)`);
    figure(
      '  HTTP reads / that HTTP floor, 16 clients',
      `${(hopThroughput.a.perSecond / hopThroughput.b.perSecond).toFixed(3)} (${hopThroughput.a.perSecond.toFixed(0)}/s vs ${hopThroughput.b.perSecond.toFixed(0)}/s)`,
    );
    report('key-provider unwraps per 1,000 warm reads', String(unwrapsPer1000), '<= 1', unwrapsPer1000 <= 1);
    report('api bundle size (read at init)', `${(api.bytes / 1024).toFixed(1)} KiB`, '<= 400 KiB', api.bytes <= 400 * 1024);
    return {
      http_reads_per_second: http.perSecond,
      raw_getitem_per_second: raw.perSecond,
      read_ratio: ratio,
      floor_getitem_and_putitem_per_second: floor.perSecond,
      audited_read_throughput_ratio: auditedRatio,
      http_read_median_ms_one_client: latency.a,
      floor_median_ms_one_client: latency.b,
      audited_read_latency_ratio: latencyRatio,
      http_floor_median_ms_one_client: hop.a,
      http_floor_latency_ratio: hop.a / hop.b,
      http_reads_over_http_floor_throughput: hopThroughput.a.perSecond / hopThroughput.b.perSecond,
      unwraps_per_1000_warm_reads: unwrapsPer1000,
      api_bundle_bytes: api.bytes,
    };
  } finally {
    await vault.stop();
    await dynalite.stop();
  }
};

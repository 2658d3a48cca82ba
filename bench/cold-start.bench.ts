// Issue 16 "cold start at its floor": the api bundle's cold init against a floor
// bundle built the same way (scripts/build.ts) that only constructs the
// DynamoDB client and answers liveness, each in fresh processes of the Lambda
// runtime's Node, alternated so machine load hits both alike.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { buildBundle, buildFunctions, type BuiltFunction } from '../scripts/build.js';
import { apiBundleEnv, lambdaNode } from '../scripts/lambda-node.js';
import { ROOT } from '../test/integration/support/processes.js';
import { figure, median, report } from './harness.js';

const SAMPLES = 15;

// Init as Lambda's init phase runs it (the module import), then one liveness invocation.
const PROBE = `
const started = performance.now();
const cpu = process.cpuUsage();
const { handler } = await import(process.argv[1]);
const init = performance.now() - started;
const used = process.cpuUsage(cpu);
const initCpu = (used.user + used.system) / 1000;
const event = { version: '2.0', routeKey: '$default', rawPath: '/v1/health', rawQueryString: '', headers: {},
  requestContext: { http: { method: 'GET', path: '/v1/health', sourceIp: '127.0.0.1' }, requestId: 'r-1', timeEpoch: Date.now() } };
const context = { functionName: 'scaivault-api', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 10000 };
const response = await handler(event, context);
if (response.statusCode !== 200) throw new Error('liveness answered ' + response.statusCode);
process.stdout.write(JSON.stringify({ init, initCpu, first: performance.now() - started }));
`;

const ENV = apiBundleEnv();

interface ColdStart {
  readonly init: number;
  /** CPU time of the init: less disturbed than wall time by other work on a shared machine. */
  readonly initCpu: number;
  readonly first: number;
}

const coldStart = (node: string, bundle: BuiltFunction): ColdStart => {
  const result = spawnSync(node, ['--input-type=module', '-e', PROBE, bundle.outfile], { env: ENV, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${bundle.name} cold start failed: ${result.stderr.slice(-2000)}`);
  return JSON.parse(result.stdout) as ColdStart;
};

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

export const runColdStartBenchmarks = async (): Promise<Record<string, number>> => {
  // Inside the repository, so both bundles find @aws-sdk/* in node_modules as Lambda finds the runtime's copy.
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const outDir = mkdtempSync(join(ROOT, '.tmp', 'cold-start-'));
  try {
    const api = (await buildFunctions({ outDir })).find((built) => built.name === 'api');
    if (!api) throw new Error('no api bundle');
    const floor = await buildBundle('floor', 'bench/floor/liveness-handler.ts', { outDir });
    const libraries = await buildBundle('libraries-floor', 'bench/floor/libraries-handler.ts', { outDir });
    const node = lambdaNode();
    const samples = { api: [] as ColdStart[], floor: [] as ColdStart[], libraries: [] as ColdStart[] };
    for (const bundle of [api, floor, libraries]) coldStart(node.path, bundle);
    for (let i = 0; i < SAMPLES; i += 1) {
      samples.api.push(coldStart(node.path, api));
      samples.floor.push(coldStart(node.path, floor));
      samples.libraries.push(coldStart(node.path, libraries));
    }
    const of = (side: ColdStart[], field: keyof ColdStart) => median(side.map((sample) => sample[field]));
    const apiInit = of(samples.api, 'init');
    const floorInit = of(samples.floor, 'init');
    const apiFirst = of(samples.api, 'first');
    const floorFirst = of(samples.floor, 'first');
    const apiCpu = of(samples.api, 'initCpu');
    const floorCpu = of(samples.floor, 'initCpu');
    const librariesInit = of(samples.libraries, 'init');
    console.log(`\ncold start on Node ${node.version}, median of ${SAMPLES} fresh processes each, alternated:`);
    console.log(
      `  api   init ${apiInit.toFixed(1)} ms, init + first liveness ${apiFirst.toFixed(1)} ms, ${kib(api.bytes)} read at init (+ ${kib(api.chunkBytes)} lazy chunks)`,
    );
    console.log(`  init CPU time: api ${apiCpu.toFixed(1)} ms, floor ${floorCpu.toFixed(1)} ms`);
    console.log(`  floor init ${floorInit.toFixed(1)} ms, init + first liveness ${floorFirst.toFixed(1)} ms, ${kib(floor.bytes)} read at init`);
    report('cold init ratio (api / floor)', (apiInit / floorInit).toFixed(3), '<= 1.3', apiInit / floorInit <= 1.3);
    report('cold init CPU time (api / floor)', (apiCpu / floorCpu).toFixed(3), '<= 1.3', apiCpu / floorCpu <= 1.3);
    report('cold init + first liveness (api / floor)', (apiFirst / floorFirst).toFixed(3), '<= 1.3', apiFirst / floorFirst <= 1.3);
    report('api bundle size (read at init)', kib(api.bytes), '<= 400 KiB', api.bytes <= 400 * 1024);
    figure(
      '  floor + the libraries the api loads at init',
      `init ${librariesInit.toFixed(1)} ms (${kib(libraries.bytes)}) = ${(librariesInit / floorInit).toFixed(2)} of the floor; the api is ${(apiInit / librariesInit).toFixed(2)} of it`,
    );
    return {
      api_cold_init_ms: apiInit,
      floor_cold_init_ms: floorInit,
      cold_init_ratio: apiInit / floorInit,
      api_cold_init_cpu_ms: apiCpu,
      floor_cold_init_cpu_ms: floorCpu,
      cold_init_cpu_ratio: apiCpu / floorCpu,
      api_first_liveness_ms: apiFirst,
      floor_first_liveness_ms: floorFirst,
      first_liveness_ratio: apiFirst / floorFirst,
      api_bundle_bytes: api.bytes,
      api_chunk_bytes: api.chunkBytes,
      floor_bundle_bytes: floor.bytes,
      libraries_floor_init_ms: librariesInit,
      api_over_libraries_floor: apiInit / librariesInit,
    };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
};

// The functions deploy on nodejs24.x while this suite may run on an older Node:
// the built api bundle is loaded and invoked on the Lambda runtime's Node here.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbFleetMetricsStore } from '../../functions/adapters/dynamodb/dynamodb-fleet-metrics-store.js';
import { LAMBDA_NODE_MAJOR, METRICS_TABLE } from '../../functions/runtime/definitions.js';
import { ensureTable } from '../../local/provision.js';
import { type BuiltFunction, buildFunctions } from '../../scripts/build.js';
import { apiBundleEnv, lambdaNode } from '../../scripts/lambda-node.js';
import { OtlpReceiver, SPAN_KIND } from '../integration/support/otlp-receiver.js';
import { DynaliteProcess, ROOT, waitFor } from '../integration/support/processes.js';

// What a Lambda invocation of GET /v1/health looks like to the bundle, and what it answered.
const INVOKE = `
const { handler } = await import(process.argv[1]);
const event = { version: '2.0', routeKey: '$default', rawPath: '/v1/health', rawQueryString: '', headers: {},
  requestContext: { http: { method: 'GET', path: '/v1/health', sourceIp: '127.0.0.1' }, requestId: 'r-1', timeEpoch: Date.now() } };
const context = { functionName: 'scaivault-api', awsRequestId: 'r-1', getRemainingTimeInMillis: () => 10000 };
const response = await handler(event, context);
process.stdout.write(JSON.stringify({ node: process.versions.node, response }));
`;

const LAMBDA_ENV = apiBundleEnv();

// Three liveness invocations, then an instance left idle until Lambda shuts it down.
const INVOKE_THEN_IDLE = `
const { handler } = await import(process.argv[1]);
for (let i = 0; i < 3; i += 1) {
  const event = { version: '2.0', routeKey: '$default', rawPath: '/v1/health', rawQueryString: '', headers: {},
    requestContext: { http: { method: 'GET', path: '/v1/health', sourceIp: '127.0.0.1' }, requestId: 'r-' + i, timeEpoch: Date.now() } };
  await handler(event, { functionName: 'scaivault-api', awsRequestId: 'r-' + i, getRemainingTimeInMillis: () => 10000 });
  // Between invocations Lambda's runtime client posts the answer and asks for the next: the flush an answer
  // started (setImmediate) runs then. Queued after it, so it runs first; a timer could fire before it.
  await new Promise((resolve) => setImmediate(resolve));
}
process.stdout.write('idle\\n');
setInterval(() => undefined, 60_000);
`;

/** The entry and every chunk it imports statically: the code a cold start loads. */
const initFiles = (entry: string): string[] => {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, path] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*"(\.\.?\/[^"]+\.mjs)"/g)) visit(join(dirname(file), path!));
  };
  visit(entry);
  return [...seen];
};
const initCode = (entry: string): string =>
  initFiles(entry)
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
/** The chunks only dynamic import() reaches. */
const lazyCode = (entry: string): string => {
  const loaded = new Set(initFiles(entry));
  const dir = join(dirname(entry), 'chunks');
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((file) => file.endsWith('.mjs') && !loaded.has(file))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
};

// The entry, then every chunk beside it: each lazily loaded chunk links (its imports resolve, the folded entry exports what it names) and runs.
const IMPORT_EVERY_CHUNK = `
const { readdirSync } = await import('node:fs');
const { dirname, join } = await import('node:path');
await import(process.argv[1]);
const dir = join(dirname(process.argv[1]), 'chunks');
const chunks = readdirSync(dir).filter((name) => name.endsWith('.mjs'));
for (const name of chunks) await import(join(dir, name));
process.stdout.write(String(chunks.length));
`;

describe(`the api bundle on Node ${LAMBDA_NODE_MAJOR}, the Lambdas' runtime`, () => {
  let bundle: string;
  let initBytes: number;
  let outDir: string;
  let built: BuiltFunction[];

  beforeAll(async () => {
    // Inside the repository, so the bundle finds @aws-sdk/* in node_modules as Lambda finds the runtime's copy.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    outDir = mkdtempSync(join(ROOT, '.tmp', 'lambda-runtime-'));
    built = await buildFunctions({ outDir });
    const api = built.find((fn) => fn.name === 'api');
    if (!api) throw new Error('no api bundle');
    bundle = api.outfile;
    initBytes = api.bytes;
  }, 120_000);

  afterAll(() => rmSync(outDir, { recursive: true, force: true }));

  it('loads and answers a liveness invocation', () => {
    const node = lambdaNode();
    const output = execFileSync(node.path, ['--input-type=module', '-e', INVOKE, bundle], { encoding: 'utf8', env: LAMBDA_ENV });
    const { node: version, response } = JSON.parse(output) as { node: string; response: { statusCode: number; body: string } };
    expect(version.split('.')[0]).toBe(String(LAMBDA_NODE_MAJOR));
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: 'ok' });
  }, 300_000);

  it('exports the invocation span over OTLP/HTTP protobuf (the spec default) before it returns', async () => {
    const receiver = await OtlpReceiver.start();
    try {
      // Asynchronously: the receiver answers on this process's event loop.
      await promisify(execFile)(lambdaNode().path, ['--input-type=module', '-e', INVOKE, bundle], {
        env: { ...LAMBDA_ENV, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url },
      });
      expect(receiver.transports).toEqual(['application/x-protobuf']);
      expect(receiver.spans.filter((span) => span.kind === SPAN_KIND.server).map((span) => span.name)).toEqual(['GET /v1/health']);
    } finally {
      await receiver.close();
    }
  }, 300_000);

  // Issue 16's target. Route groups other than health load on their first request, with their schemas and zod.
  it('reads at most 400 KiB at init: pg, the S3 and SQS SDKs and the route groups load as chunks on first use', () => {
    expect(initBytes).toBeLessThanOrEqual(400 * 1024);
    const atInit = initCode(bundle);
    const everything = atInit + lazyCode(bundle);
    expect(everything).toContain('import("@aws-sdk/client-s3")');
    expect(atInit).not.toMatch(/from\s*"@aws-sdk\/client-s3"/);
    // Schemas are zod/mini throughout: zod's classic API (about 70 KiB more) is in no chunk. And zod itself
    // loads with the first route group or audit record that parses: a probe and a cold start load none of it.
    expect(atInit).not.toContain('"ZodMiniString"');
    expect(everything).toContain('"ZodMiniString"');
    expect(everything).not.toContain('"ZodString"');
    // SQS too: a read never sends a job.
    expect(everything).toContain('import("@aws-sdk/client-sqs")');
    expect(atInit).not.toMatch(/from\s*"@aws-sdk\/client-sqs"/);
    // Strings of @peculiar/x509 and of pg's SCRAM authentication: in lazily loaded chunks only.
    // And a route group's own code (its summaries), which loads with its first request, and the audit chain's verifier.
    for (const marker of ['SCRAM-SERVER-FIRST-MESSAGE', 'X509CertificateGenerator', "List the tenant's CAs", 'sealed event missing from storage']) {
      expect(atInit).not.toContain(marker);
      expect(everything).toContain(marker);
    }
  });

  // scripts/builtins-on-demand.ts: an ES module import of a builtin reads every export of it, and some
  // load more of Node (node:util's parseArgs and diff load worker_threads). The bundles read only what they use.
  it("imports no Node builtin as an ES module namespace, so a cold start loads none of Node's modules it never calls", () => {
    for (const fn of built) {
      const code = initCode(fn.outfile) + lazyCode(fn.outfile);
      // The createRequire banner's node:module is the one builtin imported as a module.
      const imported = [...code.matchAll(/(?:from|import)\s*"([^"]+)"/g)].map(([, specifier]) => specifier!);
      expect(
        imported.filter((specifier) => isBuiltin(specifier) && specifier !== 'node:module'),
        fn.name,
      ).toEqual([]);
    }
    const loaded = execFileSync(
      lambdaNode().path,
      ['--input-type=module', '-e', 'await import(process.argv[1]); process.stdout.write(JSON.stringify(process.moduleLoadList))', bundle],
      {
        encoding: 'utf8',
        env: LAMBDA_ENV,
      },
    );
    const modules = JSON.parse(loaded) as string[];
    expect(modules).toContain('NativeModule internal/async_local_storage/async_context_frame');
    for (const unused of ['NativeModule worker_threads', 'NativeModule internal/util/parse_args/parse_args', 'NativeModule internal/util/diff']) {
      expect(modules).not.toContain(unused);
    }
  });

  // The chunks a cold start loads are folded into the entry (scripts/fold-init-chunks.ts): one module of its own per cold start.
  it('loads one module of its own at init, and every lazily loaded chunk of every function links against it', () => {
    const queues = { SCAIVAULT_ROTATION_QUEUE_URL: 'http://127.0.0.1:9/rotation', SCAIVAULT_WEBHOOK_QUEUE_URL: 'http://127.0.0.1:9/webhook' };
    for (const fn of built) {
      expect(initFiles(fn.outfile), fn.name).toEqual([fn.outfile]);
      const output = execFileSync(lambdaNode().path, ['--input-type=module', '-e', IMPORT_EVERY_CHUNK, fn.outfile], {
        encoding: 'utf8',
        env: { ...LAMBDA_ENV, ...queues },
      });
      expect(Number(output), fn.name).toBe(readdirSync(join(dirname(fn.outfile), 'chunks')).filter((name) => name.endsWith('.mjs')).length);
    }
  }, 120_000);

  it("writes the fleet's metrics when Lambda sends SIGTERM before reclaiming the instance, and exits in time when DynamoDB hangs", async () => {
    const dynalite = await DynaliteProcess.start();
    const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const table = LAMBDA_ENV.SCAIVAULT_METRICS_TABLE!;
    const fleet = new DynamoDbFleetMetricsStore(client, table);
    const env = { ...LAMBDA_ENV, AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' };
    /** An instance that served three requests, its first flush landed (the next two fell inside the interval); then SIGTERM. */
    const requestsIn = (instance: { metrics: { scaivault_requests_total?: Record<string, unknown> } } | undefined): number =>
      Object.values(instance?.metrics.scaivault_requests_total ?? {}).reduce<number>((total, value) => total + Number(value), 0);
    const idleThenTerminated = async (instances: number, beforeSignal: () => Promise<void> | void = () => undefined) => {
      const child = spawn(lambdaNode().path, ['--input-type=module', '-e', INVOKE_THEN_IDLE, bundle], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      await waitFor(async () => output.includes('idle') && (await fleet.readFleet()).instances.length === instances, 30_000, 'the first flush');
      await beforeSignal();
      const signalled = performance.now();
      child.kill('SIGTERM');
      return { code: await exited, ms: performance.now() - signalled };
    };
    try {
      await ensureTable(client, { ...METRICS_TABLE, id: table });
      const graceful = await idleThenTerminated(1, async () => {
        // The first flush carried the first request only: what SIGTERM writes must add the other two.
        const [first] = (await fleet.readFleet()).instances;
        expect(first?.revision).toBe(1);
        expect(requestsIn(first)).toBe(1);
      });
      expect(graceful.code).toBe(0);
      expect(graceful.ms).toBeLessThan(1000);
      const [instance] = (await fleet.readFleet()).instances;
      expect(instance?.revision).toBe(2);
      // All three requests are in it, not only the first one's.
      expect(requestsIn(instance)).toBe(3);

      // A frozen DynamoDB does not hold the shutdown past Lambda's 300 ms (it would be SIGKILLed).
      const hung = await idleThenTerminated(2, () => dynalite.signal('SIGSTOP'));
      dynalite.signal('SIGCONT');
      expect(hung.code).toBe(0);
      expect(hung.ms).toBeLessThan(1000);
    } finally {
      dynalite.signal('SIGCONT');
      client.destroy();
      await dynalite.stop();
    }
  }, 120_000);

  it('leaves gRPC out of the bundle: only an external import of its exporter remains', () => {
    const code = initCode(bundle);
    expect(code).toContain('"@opentelemetry/exporter-trace-otlp-grpc"');
    // A string of @grpc/grpc-js's own channel options: present whenever its code is bundled.
    expect(code).not.toContain('grpc.max_receive_message_length');
  });
});

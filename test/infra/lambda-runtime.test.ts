// The functions deploy on nodejs24.x while this suite may run on an older Node:
// the built api bundle is loaded and invoked on the Lambda runtime's Node here.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_NODE_MAJOR } from '../../functions/runtime/definitions.js';
import { buildFunctions } from '../../scripts/build.js';
import { apiBundleEnv, lambdaNode } from '../../scripts/lambda-node.js';
import { OtlpReceiver, SPAN_KIND } from '../integration/support/otlp-receiver.js';
import { ROOT } from '../integration/support/processes.js';

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

describe(`the api bundle on Node ${LAMBDA_NODE_MAJOR}, the Lambdas' runtime`, () => {
  let bundle: string;
  let initBytes: number;
  let outDir: string;

  beforeAll(async () => {
    // Inside the repository, so the bundle finds @aws-sdk/* in node_modules as Lambda finds the runtime's copy.
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    outDir = mkdtempSync(join(ROOT, '.tmp', 'lambda-runtime-'));
    const api = (await buildFunctions({ outDir })).find((built) => built.name === 'api');
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

  // Issue 16's target. Route groups other than health load on their first request, with their schemas.
  it('reads at most 400 KiB at init: pg, the S3 and SQS SDKs and the route groups load as chunks on first use', () => {
    expect(initBytes).toBeLessThanOrEqual(400 * 1024);
    const atInit = initCode(bundle);
    const everything = atInit + lazyCode(bundle);
    expect(everything).toContain('import("@aws-sdk/client-s3")');
    expect(atInit).not.toMatch(/from\s*"@aws-sdk\/client-s3"/);
    // SQS too: a read never sends a job.
    expect(everything).toContain('import("@aws-sdk/client-sqs")');
    expect(atInit).not.toMatch(/from\s*"@aws-sdk\/client-sqs"/);
    // Strings of @peculiar/x509 and of pg's SCRAM authentication: in lazily loaded chunks only.
    // And a route group's own code (its summaries), which loads with its first request.
    for (const marker of ['SCRAM-SERVER-FIRST-MESSAGE', 'X509CertificateGenerator', "List the tenant's CAs"]) {
      expect(atInit).not.toContain(marker);
      expect(everything).toContain(marker);
    }
  });

  it('leaves gRPC out of the bundle: only an external import of its exporter remains', () => {
    const code = initCode(bundle);
    expect(code).toContain('"@opentelemetry/exporter-trace-otlp-grpc"');
    // A string of @grpc/grpc-js's own channel options: present whenever its code is bundled.
    expect(code).not.toContain('grpc.max_receive_message_length');
  });
});

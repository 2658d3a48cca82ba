// Bundles each function of the runtime's table (functions/runtime/definitions.ts) into its own
// dist/functions/<name>/index.mjs, the directory the CDK stack ships as code,
// with the ADOT Lambda collector config beside it as collector.yaml. Whatever
// the code loads with a dynamic import() (OTLP exporters, pg, PKI, ACME) becomes
// its own chunk under <name>/chunks/, read only when first used, so rarely used
// libraries cost no cold start; the chunks a cold start does load are folded
// back into index.mjs (fold-init-chunks.ts).
import { copyFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { builtinsOnDemand } from './builtins-on-demand.js';
import { foldInitChunks } from './fold-init-chunks.js';
import { FUNCTIONS, LAMBDA_NODE_MAJOR } from '../functions/runtime/definitions.js';

export interface BuiltFunction {
  readonly name: string;
  readonly outfile: string;
  /** What every cold start reads: the entry and the chunks it imports statically. */
  readonly bytes: number;
  /** The chunks read only when a dynamic import() first needs them. */
  readonly chunkBytes: number;
}

export interface BuildOptions {
  readonly outDir?: string;
  readonly minify?: boolean;
}

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const DEFAULT_OUT_DIR = join(ROOT, 'dist', 'functions');
/** Read by the ADOT collector extension at /var/task/collector.yaml (OPENTELEMETRY_COLLECTOR_CONFIG_URI). */
export const LAMBDA_COLLECTOR_CONFIG = join(ROOT, 'ops', 'adot', 'lambda-collector.yaml');

/** Left out of the Lambda bundles; choosing `OTEL_EXPORTER_OTLP_PROTOCOL=grpc` there is refused with a clear error. */
export const LAMBDA_UNBUNDLED = ['@opentelemetry/exporter-trace-otlp-grpc', '@grpc/*'];

// ESM output has no `require`; bundled CommonJS dependencies still call it.
const ESM_REQUIRE_BANNER =
  "import { createRequire as __scaivaultCreateRequire } from 'node:module'; const require = __scaivaultCreateRequire(import.meta.url);";

/** Bundles one handler module into `<outDir>/<name>/index.mjs` (+ chunks/): every function, and the benchmarks' floor, the same way. */
export const buildBundle = async (name: string, entry: string, options: BuildOptions = {}): Promise<BuiltFunction> => {
  const dir = join(resolve(options.outDir ?? DEFAULT_OUT_DIR), name);
  const outfile = join(dir, 'index.mjs');
  // Chunk names carry content hashes: a stale chunk of an earlier build must not ship beside the new entry.
  await rm(dir, { recursive: true, force: true });
  const shared = { target: `node${LAMBDA_NODE_MAJOR}`, minify: options.minify ?? true, legalComments: 'none' } as const;
  const { metafile } = await build({
    ...shared,
    banner: { js: ESM_REQUIRE_BANNER },
    entryPoints: { index: resolve(ROOT, entry) },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    // Prefer packages' ES module builds, as CDK's NodejsFunction does for ESM: CommonJS
    // cannot be tree-shaken, and the OpenTelemetry SDK alone would add ~300 KiB.
    mainFields: ['module', 'main'],
    // Linked, so the second pass (fold-init-chunks.ts) finds each chunk's map and the folded entry's map points at the sources.
    sourcemap: 'linked',
    // Lambda's Node.js runtimes ship AWS SDK v3. OTLP/gRPC stays out: a Lambda sends its spans over
    // OTLP/HTTP to the ADOT layer's collector, and gRPC would add about 380 KiB to every bundle.
    external: ['@aws-sdk/*', ...LAMBDA_UNBUNDLED],
    // Node's builtins by the export, not by the module namespace (builtins-on-demand.ts).
    plugins: [builtinsOnDemand()],
    logLevel: 'warning',
  });
  await copyFile(LAMBDA_COLLECTOR_CONFIG, join(dir, 'collector.yaml'));
  const { atInit, lazy } = await foldInitChunks(dir, metafile.outputs, { ...shared, banner: ESM_REQUIRE_BANNER });
  return { name, outfile, bytes: atInit, chunkBytes: lazy };
};

export const buildFunctions = (options: BuildOptions = {}): Promise<BuiltFunction[]> =>
  Promise.all(FUNCTIONS.map(({ name, handler }) => buildBundle(name, handler, options)));

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  for (const { name, outfile, bytes, chunkBytes } of await buildFunctions()) {
    console.log(`${name.padEnd(20)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB  at init (+ ${(chunkBytes / 1024).toFixed(1)} KiB lazy chunks)  ${outfile}`);
  }
  console.log(`built in ${Date.now() - started} ms`);
}

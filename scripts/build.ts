// Bundles each function of the runtime's table (functions/runtime/definitions.ts) into its own
// dist/functions/<name>/index.mjs, the directory the CDK stack ships as code,
// with the ADOT Lambda collector config beside it as collector.yaml.
import { copyFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { FUNCTIONS, LAMBDA_NODE_MAJOR } from '../functions/runtime/definitions.js';

export interface BuiltFunction {
  readonly name: string;
  readonly outfile: string;
  readonly bytes: number;
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

export const buildFunctions = async (options: BuildOptions = {}): Promise<BuiltFunction[]> => {
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  return Promise.all(
    FUNCTIONS.map(async ({ name, handler }) => {
      const outfile = join(outDir, name, 'index.mjs');
      await build({
        entryPoints: [join(ROOT, handler)],
        outdir: join(outDir, name),
        entryNames: 'index',
        outExtension: { '.js': '.mjs' },
        // What is loaded by dynamic import() (X.509 and ASN.1 for the PKI routes) goes to chunks/
        // beside the entry, so cold starts do not parse it: `bytes` is the entry alone.
        splitting: true,
        chunkNames: 'chunks/[name]-[hash]',
        bundle: true,
        format: 'esm',
        platform: 'node',
        // Prefer packages' ES module builds, as CDK's NodejsFunction does for ESM: CommonJS
        // cannot be tree-shaken, and the OpenTelemetry SDK alone would add ~300 KiB.
        mainFields: ['module', 'main'],
        target: `node${LAMBDA_NODE_MAJOR}`,
        minify: options.minify ?? true,
        sourcemap: 'external',
        // Lambda's Node.js runtimes ship AWS SDK v3. OTLP/gRPC stays out: a Lambda sends its spans over
        // OTLP/HTTP to the ADOT layer's collector, and gRPC would add about 380 KiB to every bundle.
        external: ['@aws-sdk/*', ...LAMBDA_UNBUNDLED],
        banner: { js: ESM_REQUIRE_BANNER },
        logLevel: 'warning',
        legalComments: 'none',
      });
      await copyFile(LAMBDA_COLLECTOR_CONFIG, join(outDir, name, 'collector.yaml'));
      return { name, outfile, bytes: (await stat(outfile)).size };
    }),
  );
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  for (const { name, outfile, bytes } of await buildFunctions()) {
    console.log(`${name.padEnd(20)} ${(bytes / 1024).toFixed(1).padStart(8)} KiB  ${outfile}`);
  }
  console.log(`built in ${Date.now() - started} ms`);
}

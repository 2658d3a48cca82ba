// The Node.js that ScaiVault's Lambdas run (nodejs24.x), for tests and benchmarks
// that must see what production runs rather than this machine's Node. The
// binary comes from the npm registry's `node-<platform>-<arch>` package and is
// kept under node_modules/.cache, so only the first run downloads it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAMBDA_NODE_MAJOR } from '../functions/runtime/definitions.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

/** Pinned so runs compare like with like; Lambda moves within the major on its own schedule. */
export const LAMBDA_NODE_VERSION = '24.21.0';

export interface NodeBinary {
  readonly path: string;
  readonly version: string;
}

/** This machine's Node when it already is the Lambda major, else the pinned release (downloaded once). */
export const lambdaNode = (): NodeBinary => {
  if (Number(LAMBDA_NODE_VERSION.split('.')[0]) !== LAMBDA_NODE_MAJOR) {
    throw new Error(`LAMBDA_NODE_VERSION ${LAMBDA_NODE_VERSION} is not Node ${LAMBDA_NODE_MAJOR}, the Lambda runtime's major`);
  }
  if (process.versions.node.split('.')[0] === String(LAMBDA_NODE_MAJOR)) return { path: process.execPath, version: process.versions.node };
  const dir = join(ROOT, 'node_modules', '.cache', 'scaivault', `node-${LAMBDA_NODE_VERSION}-${process.platform}-${process.arch}`);
  const path = join(dir, 'bin', 'node');
  if (!existsSync(path)) {
    const download = `${dir}.download`;
    rmSync(download, { recursive: true, force: true });
    mkdirSync(download, { recursive: true });
    const spec = `node-${process.platform}-${process.arch}@${LAMBDA_NODE_VERSION}`;
    console.log(`fetching Node ${LAMBDA_NODE_VERSION} (${spec}) from the npm registry, once`);
    execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', download], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(download).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${spec} left no tarball`);
    execFileSync('tar', ['xzf', tarball], { cwd: download });
    rmSync(dir, { recursive: true, force: true });
    renameSync(join(download, 'package'), dir);
    rmSync(download, { recursive: true, force: true });
  }
  const version = execFileSync(path, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  return { path, version };
};

/**
 * What the api function's bundle reads at load, with placeholder resource names:
 * enough to load it and answer liveness outside Lambda (tests, benchmarks).
 */
export const apiBundleEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  AWS_REGION: 'eu-west-1',
  AWS_LAMBDA_FUNCTION_NAME: 'scaivault-api',
  SCAIVAULT_STATE_TABLE: 'scaivault-state',
  SCAIVAULT_METRICS_TABLE: 'scaivault-metrics',
  SCAIVAULT_AUDIT_TABLE: 'scaivault-audit',
  SCAIVAULT_AUDIT_BUCKET: 'scaivault-audit',
  SCAIVAULT_KMS_KEY_ID: 'alias/scaivault',
  LOG_LEVEL: 'error',
});

// Issue 16 "price per million requests": what a read, a write and a rotation
// use of each billed AWS part, counted on the embedded stack (see
// bench/price/usage-probe.ts), priced from bench/prices.ts, beside AWS Secrets
// Manager's price for as many GetSecretValue calls.
import { spawnSync } from 'node:child_process';
import { FUNCTIONS } from '../functions/runtime/definitions.js';
import { lambdaNode } from '../scripts/lambda-node.js';
import { ROOT } from '../test/integration/support/processes.js';
import { median, report } from './harness.js';
import { USAGE_PREFIX, type OperationUsage } from './price/usage-probe.js';
import { PRICES } from './prices.js';

/** Lambda's event source mapping receives each message and deletes it: up to two SQS requests per message (fewer when batched). */
const ESM_REQUESTS_PER_MESSAGE = 2;
const GB = 1024 ** 3;

interface Cost {
  readonly line: string;
  /** USD per million operations, and per million operations per month their bytes stay stored. */
  readonly perMillion: number;
  readonly storagePerMillionMonth: number;
}

const sum = (record: Readonly<Record<string, number>>): number => Object.values(record).reduce((total, value) => total + value, 0);

const costOf = (name: string, usage: OperationUsage, httpRequests: number): Cost => {
  const per = (value: number) => value / usage.operations;
  const rru = per(sum(usage.readUnits));
  const wru = per(sum(usage.writeUnits));
  const queueSends = per(usage.sqsCalls);
  const sqs = queueSends + (name === 'rotation' ? queueSends * ESM_REQUESTS_PER_MESSAGE : 0);
  const kms = per(usage.kmsCalls);
  let lambdaGbSeconds = 0;
  let invocations = 0;
  const durations: string[] = [];
  for (const [fn, list] of Object.entries(usage.invocations)) {
    const memoryMb = FUNCTIONS.find((definition) => definition.name === fn)?.memoryMb ?? 512;
    // Lambda bills each invocation's duration rounded up to the millisecond.
    const billedMs = list.reduce((total, ms) => total + Math.ceil(ms), 0);
    lambdaGbSeconds += per(billedMs / 1000) * (memoryMb / 1024);
    invocations += per(list.length);
    durations.push(`${fn} ${per(list.length).toFixed(2)} × ${median([...list]).toFixed(1)} ms @ ${memoryMb} MB`);
  }
  const bytes = per(sum(usage.storedBytes));
  const perOperation =
    rru * PRICES.dynamodb.readRequestUnit +
    wru * PRICES.dynamodb.writeRequestUnit +
    sqs * PRICES.sqsRequest +
    kms * PRICES.kmsRequest +
    lambdaGbSeconds * PRICES.lambda.arm64GbSecond +
    invocations * PRICES.lambda.request +
    httpRequests * PRICES.httpApiRequest;
  const line =
    `${name.padEnd(9)} DynamoDB ${rru.toFixed(2)} RRU + ${wru.toFixed(2)} WRU (${JSON.stringify(usage.writeUnits)} over ${usage.operations}), ` +
    `SQS ${sqs.toFixed(2)}, KMS ${kms.toFixed(3)}, HTTP API ${httpRequests}, Lambda ${durations.join(', ')}, stored ${bytes.toFixed(0)} B`;
  return { line, perMillion: perOperation * 1e6, storagePerMillionMonth: (bytes * 1e6 * PRICES.dynamodb.storageGbMonth) / GB };
};

export const runPriceBenchmarks = async (): Promise<Record<string, number>> => {
  const node = lambdaNode();
  const probe = spawnSync(node.path, ['--import', 'tsx', 'bench/price/usage-probe.ts'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const line = probe.stdout.split('\n').find((text) => text.startsWith(USAGE_PREFIX));
  if (probe.status !== 0 || !line) throw new Error(`usage probe failed: ${probe.stderr.slice(-2000)}`);
  const { results, unrotated } = JSON.parse(line.slice(USAGE_PREFIX.length)) as { results: Record<string, OperationUsage>; unrotated: number };
  if (unrotated > 0) throw new Error(`${unrotated} rotations did not finish`);
  // A rotation is one API request (POST …/rotate); the worker's part reaches it through the queue.
  const costs = {
    read: costOf('read', results.read!, 1),
    write: costOf('write', results.write!, 1),
    rotation: costOf('rotation', results.rotation!, 1),
  };
  const secretsManager = PRICES.secretsManager.apiCall * 1e6;
  console.log(`\nper operation, counted on the embedded stack (Node ${node.version}, handler durations as measured here):`);
  for (const cost of Object.values(costs)) console.log(`  ${cost.line}`);
  console.log(`\nestimated USD per million (${PRICES.region} list prices recorded ${PRICES.recorded}, bench/prices.ts):`);
  for (const [name, cost] of Object.entries(costs)) {
    console.log(`  ${name.padEnd(9)} $${cost.perMillion.toFixed(3)}  (+ $${cost.storagePerMillionMonth.toFixed(3)} per month their bytes stay in DynamoDB)`);
  }
  console.log(
    `  Secrets Manager GetSecretValue $${secretsManager.toFixed(3)} per million calls (+ $${PRICES.secretsManager.secretMonth.toFixed(2)} per secret per month)`,
  );
  const ratio = costs.read.perMillion / secretsManager;
  report('audited read price / Secrets Manager per call', ratio.toFixed(3), '<= 0.4', ratio <= 0.4);
  return {
    read_usd_per_million: costs.read.perMillion,
    write_usd_per_million: costs.write.perMillion,
    rotation_usd_per_million: costs.rotation.perMillion,
    read_storage_usd_per_million_month: costs.read.storagePerMillionMonth,
    secrets_manager_usd_per_million: secretsManager,
    read_price_ratio: ratio,
  };
};

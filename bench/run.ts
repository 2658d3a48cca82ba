// `npm run bench`: every benchmark in one run, each printing ratios measured side by side.
// `npm run bench -- audit` runs the named suites only.
import { runAuditBenchmarks } from './audit.bench.js';
import { runColdStartBenchmarks } from './cold-start.bench.js';
import { runBackupBenchmarks } from './backup.bench.js';
import { runCoreBenchmarks } from './core.bench.js';
import { runDynamicBenchmarks } from './dynamic.bench.js';
import { runFleetBenchmarks } from './fleet.bench.js';
import { runObservabilityBenchmarks } from './observability.bench.js';
import { runPriceBenchmarks } from './price.bench.js';
import { runJobBenchmarks } from './jobs.bench.js';
import { runKeyBenchmarks } from './keys.bench.js';
import { runPkiBenchmarks } from './pki.bench.js';
import { runRemoteWriteBenchmarks } from './remote-write.bench.js';

const suites: Record<string, () => Promise<Record<string, number>>> = {
  core: runCoreBenchmarks,
  observability: runObservabilityBenchmarks,
  jobs: runJobBenchmarks,
  audit: runAuditBenchmarks,
  'remote-write': runRemoteWriteBenchmarks,
  dynamic: runDynamicBenchmarks,
  fleet: runFleetBenchmarks,
  // Issue 15's `keys` benchmark: sealed items re-encrypted per second during rotation, and backup throughput.
  keys: async () => ({ ...(await runKeyBenchmarks()), ...(await runBackupBenchmarks()) }),
  pki: runPkiBenchmarks,
  'cold-start': runColdStartBenchmarks,
  price: runPriceBenchmarks,
  backup: runBackupBenchmarks,
};
const selected = process.argv.slice(2);
const unknown = selected.filter((name) => !(name in suites));
if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}; choose from ${Object.keys(suites).join(', ')}`);

const results: Record<string, Record<string, number>> = {};
for (const [name, run] of Object.entries(suites)) if (selected.length === 0 || selected.includes(name)) results[name] = await run();
console.log(`\n${JSON.stringify(results, null, 2)}`);

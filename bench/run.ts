// `npm run bench`: every benchmark in one run, each printing ratios measured side by side.
import { runCoreBenchmarks } from './core.bench.js';
import { runObservabilityBenchmarks } from './observability.bench.js';
import { runJobBenchmarks } from './jobs.bench.js';

const results = {
  core: await runCoreBenchmarks(),
  observability: await runObservabilityBenchmarks(),
  jobs: await runJobBenchmarks(),
};
console.log('\n' + JSON.stringify(results, null, 2));

// Helpers for benchmarks that compare two things side by side in one run.

export interface Throughput {
  readonly operations: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/** Runs `operation` from `concurrency` workers for `durationMs`; counts completions. */
export const measureThroughput = async (operation: () => Promise<void>, concurrency: number, durationMs: number): Promise<Throughput> => {
  const started = performance.now();
  const deadline = started + durationMs;
  let operations = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await operation();
        operations += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { operations, seconds, perSecond: operations / seconds };
};

/**
 * Alternates the two sides for `rounds` rounds so drift in machine load hits
 * both alike; returns the summed throughput of each side.
 */
export const compareThroughput = async (
  a: () => Promise<void>,
  b: () => Promise<void>,
  options: { rounds: number; concurrency: number; roundMs: number },
): Promise<{ a: Throughput; b: Throughput }> => {
  const sum = { a: { operations: 0, seconds: 0 }, b: { operations: 0, seconds: 0 } };
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const side of order) {
      const result = await measureThroughput(side === 'a' ? a : b, options.concurrency, options.roundMs);
      sum[side].operations += result.operations;
      sum[side].seconds += result.seconds;
    }
  }
  const finish = (s: { operations: number; seconds: number }): Throughput => ({ ...s, perSecond: s.operations / s.seconds });
  return { a: finish(sum.a), b: finish(sum.b) };
};

/** Times single operations from one client, alternating the two sides per round; returns each side's median in ms. */
export const compareLatency = async (
  a: () => Promise<void>,
  b: () => Promise<void>,
  options: { rounds: number; perRound: number },
): Promise<{ a: number; b: number }> => {
  const samples = { a: [] as number[], b: [] as number[] };
  for (let round = 0; round < options.rounds; round += 1) {
    const order = round % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const side of order) {
      const operation = side === 'a' ? a : b;
      for (let i = 0; i < options.perRound; i += 1) {
        const started = performance.now();
        await operation();
        samples[side].push(performance.now() - started);
      }
    }
  }
  return { a: median(samples.a), b: median(samples.b) };
};

export const report = (name: string, value: string, target: string, pass: boolean): void => {
  console.log(`${pass ? 'PASS' : 'MISS'}  ${name.padEnd(46)} ${value.padEnd(28)} target ${target}`);
};

/** A figure with no target: printed as one, never as a pass. */
export const figure = (name: string, value: string): void => {
  console.log(`      ${name.padEnd(46)} ${value}`);
};

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

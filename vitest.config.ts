import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'functions/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Integration files each start their own embedded vault; two cores, two at a time.
    maxWorkers: 2,
    minWorkers: 1,
    pool: 'forks',
  },
});

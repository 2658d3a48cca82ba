import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ENV, FUNCTIONS, QUEUES, TABLES, AUDIT_BUCKET } from '../../functions/runtime/definitions.js';

const handlerFiles = readdirSync(new URL('../../functions/handlers/', import.meta.url)).filter((file) => file.endsWith('.ts'));

describe('the table of functions', () => {
  it('names every handler file once, and only handler files (the build bundles what it lists)', () => {
    expect(FUNCTIONS.map((fn) => fn.handler).sort()).toEqual(handlerFiles.map((file) => `functions/handlers/${file}`).sort());
    expect(new Set(FUNCTIONS.map((fn) => fn.name)).size).toBe(FUNCTIONS.length);
  });

  it('gives every queue exactly one worker, which finishes inside the queue visibility timeout', () => {
    const workers = FUNCTIONS.flatMap((fn) => (fn.trigger.kind === 'queue' ? [{ fn, trigger: fn.trigger }] : []));
    expect(workers.map(({ trigger }) => trigger.queue.id).sort()).toEqual(QUEUES.map((queue) => queue.id).sort());
    for (const { fn, trigger } of workers) {
      expect(fn.timeoutSeconds).toBeLessThan(trigger.queue.visibilityTimeoutSeconds);
      expect(trigger.batchSize).toBeGreaterThanOrEqual(1);
      expect(trigger.batchSize).toBeLessThanOrEqual(10);
    }
  });
});

describe('environment variable names', () => {
  it('are the ones the resources are carried in, each name once', () => {
    const names = Object.values(ENV);
    expect(new Set(names).size).toBe(names.length);
    for (const resource of [...TABLES, ...QUEUES, AUDIT_BUCKET]) expect(names).toContain(resource.envVar);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VaultProcess } from './support/vault.js';

interface EmfDocument {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  service: string;
  Requests: number;
  Errors5xx: number;
  Errors4xx: number;
  Throttles: number;
  Unauthorized: number;
  Forbidden: number;
  Latency: number;
}

describe('CloudWatch embedded metric format through Powertools Metrics', () => {
  let vault: VaultProcess;

  beforeAll(async () => {
    vault = await VaultProcess.start({ env: { POWERTOOLS_METRICS_NAMESPACE: 'ScaiVault', SCAIVAULT_RATE_LIMITS: 'read=2/1m' } });
  });

  afterAll(async () => {
    await vault?.stop();
  });

  it('emits one EMF document per request under namespace ScaiVault, classifying 4xx and 429', async () => {
    await vault.request('PUT', '/v1/secrets/emf/a', { body: { value: 'emf-value' } });
    await vault.request('GET', '/v1/secrets/emf/a');
    await vault.request('GET', '/v1/secrets/emf/a');
    const limited = await vault.request('GET', '/v1/secrets/emf/a');
    expect(limited.status).toBe(429);
    await vault.request('GET', '/v1/nothing');
    expect((await vault.request('GET', '/v1/secrets/emf/a', { token: 'svt_not-a-token' })).status).toBe(401);

    // The paging signals (cloudwatch-signals.test.ts) go under their own service.
    const all = vault.logLines().filter((line) => '_aws' in line && line.service === 'scaivault-api') as unknown as EmfDocument[];
    // The harness polled /v1/health while the vault started: those requests are counted too.
    const startupProbes = all.length - 6;
    expect(startupProbes).toBeGreaterThanOrEqual(1);
    const documents = all.slice(startupProbes);
    for (const document of documents) {
      const [directive] = document._aws.CloudWatchMetrics;
      expect(directive?.Namespace).toBe('ScaiVault');
      expect(directive?.Dimensions).toEqual([['service']]);
      expect(directive?.Metrics.map((m) => m.Name).sort()).toEqual(['Errors4xx', 'Errors5xx', 'Forbidden', 'Latency', 'Requests', 'Throttles', 'Unauthorized']);
      expect(document.service).toBe('scaivault-api');
      expect(document.Requests).toBe(1);
      expect(document.Latency).toBeGreaterThan(0);
    }
    expect(documents.map((d) => d.Throttles)).toEqual([0, 0, 0, 1, 0, 0]);
    expect(documents.map((d) => d.Errors4xx)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(documents.map((d) => d.Unauthorized)).toEqual([0, 0, 0, 0, 0, 1]);
    expect(documents.every((d) => d.Forbidden === 0)).toBe(true);
    expect(documents.every((d) => d.Errors5xx === 0)).toBe(true);
    expect(vault.output).not.toContain('emf-value');
  });
});

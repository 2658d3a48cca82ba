import { createHash } from 'node:crypto';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { dns01RecordName, dns01Value, Route53Dns01Solver } from '../../functions/adapters/route53/route53-dns01-solver.js';
import { fakeAwsClient } from './support/fake-aws-client.js';

const KEY_AUTHORIZATION = 'token-abc.thumbprint-xyz';

describe('Route53Dns01Solver', () => {
  it('UPSERTs the _acme-challenge TXT record, waits for INSYNC, and DELETEs the same record afterwards', async () => {
    const statuses = ['PENDING', 'PENDING', 'INSYNC'];
    const { sent, client } = fakeAwsClient<Route53Client>((command) =>
      command.name === 'GetChangeCommand'
        ? { ChangeInfo: { Id: '/change/C1', Status: statuses.shift() } }
        : { ChangeInfo: { Id: '/change/C1', Status: 'PENDING' } },
    );
    const sleeps: number[] = [];
    const solver = new Route53Dns01Solver(client, { hostedZoneId: 'Z123', pollMs: 1000, sleep: async (ms) => void sleeps.push(ms) });

    await solver.present('*.shop.example.com', 'token-abc', KEY_AUTHORIZATION);
    const expected = createHash('sha256').update(KEY_AUTHORIZATION).digest('base64url');
    expect(sent.map((c) => c.name)).toEqual(['ChangeResourceRecordSetsCommand', 'GetChangeCommand', 'GetChangeCommand', 'GetChangeCommand']);
    expect(sent[0]?.input).toEqual({
      HostedZoneId: 'Z123',
      ChangeBatch: {
        Comment: 'ScaiVault ACME dns-01',
        Changes: [
          {
            Action: 'UPSERT',
            ResourceRecordSet: { Name: '_acme-challenge.shop.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: `"${expected}"` }] },
          },
        ],
      },
    });
    expect(sent[1]?.input).toEqual({ Id: '/change/C1' });
    expect(sleeps).toEqual([1000, 1000]);

    await solver.cleanup('*.shop.example.com', 'token-abc', KEY_AUTHORIZATION);
    const deletion = sent.at(-1)?.input as { ChangeBatch: { Changes: { Action: string; ResourceRecordSet: unknown }[] } };
    expect(deletion.ChangeBatch.Changes[0]?.Action).toBe('DELETE');
    expect(deletion.ChangeBatch.Changes[0]?.ResourceRecordSet).toEqual((sent[0]?.input as typeof deletion).ChangeBatch.Changes[0]?.ResourceRecordSet);
  });

  it('fails the challenge when the change never gets in sync within its budget', async () => {
    const { client } = fakeAwsClient<Route53Client>(() => ({ ChangeInfo: { Id: '/change/C2', Status: 'PENDING' } }));
    const solver = new Route53Dns01Solver(client, { hostedZoneId: 'Z123', syncBudgetMs: 0, sleep: async () => undefined });
    await expect(solver.present('a.example.com', 't', KEY_AUTHORIZATION)).rejects.toMatchObject({ name: 'Route53SyncTimeout' });
  });

  it('names the record and its value as RFC 8555 section 8.4 says', () => {
    expect(dns01RecordName('a.example.com')).toBe('_acme-challenge.a.example.com.');
    // base64url(SHA-256("x")), computed with openssl.
    expect(dns01Value('x')).toBe('LXEWQrcmsEQBYnyp-6wy9chTD7GQPMTbAiWHF5IaSIE');
  });
});

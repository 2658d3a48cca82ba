// DNS-01 through Route 53: UPSERT the `_acme-challenge` TXT record, wait until the
// change is INSYNC on Route 53's servers, DELETE it afterwards.
import { createHash } from 'node:crypto';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { ChallengeSolver } from '../../domain/ports/acme.js';

export interface Route53SolverOptions {
  readonly hostedZoneId: string;
  /** How long to wait for INSYNC before the order fails. */
  readonly syncBudgetMs?: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The TXT value DNS-01 expects: base64url(SHA-256(key authorization)). */
export const dns01Value = (keyAuthorization: string): string => createHash('sha256').update(keyAuthorization, 'utf8').digest('base64url');

/** `_acme-challenge.<domain>`; a wildcard's record is its base domain's. */
export const dns01RecordName = (domain: string): string => `_acme-challenge.${domain.replace(/^\*\./, '')}.`;

export class Route53Dns01Solver implements ChallengeSolver {
  constructor(
    private readonly client: Pick<Route53Client, 'send'>,
    private readonly options: Route53SolverOptions,
  ) {}

  async present(domain: string, _token: string, keyAuthorization: string): Promise<void> {
    const changeId = await this.change('UPSERT', domain, keyAuthorization);
    await this.waitInSync(changeId);
  }

  async cleanup(domain: string, _token: string, keyAuthorization: string): Promise<void> {
    await this.change('DELETE', domain, keyAuthorization);
  }

  private async change(action: 'UPSERT' | 'DELETE', domain: string, keyAuthorization: string): Promise<string> {
    const output = await this.client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: this.options.hostedZoneId,
        ChangeBatch: {
          Comment: 'ScaiVault ACME dns-01',
          Changes: [
            {
              Action: action,
              ResourceRecordSet: {
                Name: dns01RecordName(domain),
                Type: 'TXT',
                TTL: 60,
                ResourceRecords: [{ Value: `"${dns01Value(keyAuthorization)}"` }],
              },
            },
          ],
        },
      }),
    );
    const id = output.ChangeInfo?.Id;
    if (!id) throw Object.assign(new Error('Route 53 answered without a change id'), { name: 'Route53ChangeMissing' });
    return id;
  }

  private async waitInSync(changeId: string): Promise<void> {
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const deadline = Date.now() + (this.options.syncBudgetMs ?? 120_000);
    for (;;) {
      const output = await this.client.send(new GetChangeCommand({ Id: changeId }));
      if (output.ChangeInfo?.Status === 'INSYNC') return;
      if (Date.now() >= deadline) throw Object.assign(new Error('Route 53 change not in sync in time'), { name: 'Route53SyncTimeout' });
      await sleep(this.options.pollMs ?? 5000);
    }
  }
}

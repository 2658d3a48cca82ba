// The ACME branch's CertificateInventorySink: one item per issued certificate,
// indexed by not-after on gsi1. The PKI inventory implements the same port with
// its full index and state; the composition root swaps it in (acme.ts).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CertificateInventorySink, IssuedCertificateRecord } from '../../domain/ports/certificate-inventory.js';
import { putIfAbsent } from './dynamodb-call.js';

export class DynamoDbAcmeCertificateInventory implements CertificateInventorySink {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async recordIssued(record: IssuedCertificateRecord): Promise<void> {
    // Idempotent on (tenant, caId, serial): a second record of the same certificate changes nothing.
    await putIfAbsent(this.client, this.tableName, {
      pk: `T#${record.tenantId}#CERTINV#${record.caId}`,
      sk: record.serial,
      gsi1pk: 'CERTEXP',
      gsi1sk: `${record.notAfter.toISOString()}#${record.tenantId}#${record.caId}#${record.serial}`,
      ...record,
      sans: [...record.sans],
      notBefore: record.notBefore.toISOString(),
      notAfter: record.notAfter.toISOString(),
      state: 'active',
    });
  }
}

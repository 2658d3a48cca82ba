// Issue 13's benchmark: P-256 certificates issued per second through the full
// HTTP path (auth, rate limit, role check, keygen, signing, inventory write,
// audit) against the floor measured side by side on the same dynalite: P-256
// key generation and signing with the same library, plus one PutItem.
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { join } from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { cnName, signCertificate } from '../functions/domain/pki/certificate-builder.js';
import { generateKey, InMemorySigner } from '../functions/domain/pki/key-types.js';
import { randomSerial } from '../functions/domain/pki/x509.js';
import { STATE_TABLE } from '../functions/runtime/definitions.js';
import { DynaliteProcess } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { compareThroughput, report } from './harness.js';

const CONCURRENCY = 16;

/** The floor: what issuing one stored P-256 certificate cannot skip. */
const floorOperation = async (client: DynamoDBClient) => {
  const ca = await generateKey('ec-p256');
  const caSigner = new InMemorySigner(ca.privateKey, 'ec-p256');
  const caSpki = new Uint8Array(ca.publicKey.export({ type: 'spki', format: 'der' }));
  const now = new Date();
  const caPem = await signCertificate(
    {
      serial: randomSerial(),
      subject: 'CN=Floor CA',
      publicKeySpki: caSpki,
      notBefore: now,
      notAfter: new Date(now.getTime() + 86_400_000 * 365),
      keyUsages: ['keyCertSign'],
      isCa: true,
    },
    { certificatePem: null, signer: caSigner },
  );
  let n = 0;
  return async () => {
    const leaf = await generateKey('ec-p256');
    const serial = randomSerial();
    const notBefore = new Date();
    const pem = await signCertificate(
      {
        serial,
        subject: cnName(`host-${n++}.bench.example`),
        publicKeySpki: new Uint8Array(leaf.publicKey.export({ type: 'spki', format: 'der' })),
        notBefore,
        notAfter: new Date(notBefore.getTime() + 86_400_000),
        dnsNames: [`host-${n}.bench.example`],
        keyUsages: ['digitalSignature'],
        extKeyUsages: ['serverAuth'],
      },
      { certificatePem: caPem, signer: caSigner },
    );
    leaf.privateKey.export({ type: 'pkcs8', format: 'pem' });
    await client.send(
      new PutItemCommand({
        TableName: STATE_TABLE.id,
        Item: { pk: { S: 'BENCH#FLOOR' }, sk: { S: serial }, notAfter: { S: notBefore.toISOString() }, certificatePem: { S: pem } },
      }),
    );
  };
};

export const runPkiBenchmarks = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const rootToken = `svt_${'c'.repeat(43)}`;
  const vault = await VaultProcess.start({
    env: {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: rootToken,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
      SCAIVAULT_RATE_LIMITS: 'read=100000000/1s,write=100000000/1s,admin=100000/1s',
      LOG_LEVEL: 'warn',
    },
    logToFile: true,
  });
  const client = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
  try {
    const ca = await vault.request('POST', '/v1/pki/cas', { body: { type: 'root', name: 'bench', common_name: 'Bench Root', key_type: 'ec-p256' } });
    if (ca.status !== 201) throw new Error(`CA: ${ca.status} ${ca.text}`);
    const caId = ca.body.ca_id as string;
    await vault.request('PUT', `/v1/pki/cas/${caId}/roles/web`, {
      body: { allowed_domains: ['bench.example'], allow_subdomains: true, key_types: ['ec-p256'] },
    });
    const headers = { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' };
    let n = 0;
    const httpIssue = async () => {
      const body = JSON.stringify({ common_name: `host-${n++}.bench.example`, ttl: 86_400 });
      const response = await undiciFetch(`${vault.url}/v1/pki/cas/${caId}/issue/web`, { method: 'POST', headers, body, dispatcher });
      if (response.status !== 200) throw new Error(`issue answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    };
    const floor = await floorOperation(client);
    await compareThroughput(httpIssue, floor, { rounds: 1, concurrency: CONCURRENCY, roundMs: 1000 });
    const { a: http, b: raw } = await compareThroughput(httpIssue, floor, { rounds: 4, concurrency: CONCURRENCY, roundMs: 2500 });
    const ratio = http.perSecond / raw.perSecond;
    console.log(
      `\nP-256 certificates: full HTTP issue ${http.perSecond.toFixed(0)}/s, floor (keygen + sign + one PutItem) ${raw.perSecond.toFixed(0)}/s (concurrency ${CONCURRENCY}, same dynalite)`,
    );
    report('issue ratio (HTTP issue / floor)', ratio.toFixed(3), '>= 0.5', ratio >= 0.5);
    return { http_issued_per_second: http.perSecond, floor_per_second: raw.perSecond, issue_ratio: ratio };
  } finally {
    client.destroy();
    await dispatcher.close();
    await vault.stop();
    await dynalite.stop();
  }
};

// Issue "dynamic secrets" benchmark: PostgreSQL credentials issued per second
// through the full HTTP path (auth, rate limit, audit, quota, CREATE ROLE,
// lease record, event) against the floor measured side by side on the same
// PostgreSQL and dynalite: the same CREATE ROLE … PASSWORD … VALID UNTIL run
// directly (through a pool of the same size), plus one PutItem.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import pg from 'pg';
import { Agent, fetch as undiciFetch } from 'undici';
import { scramSha256Secret } from '../functions/adapters/postgres/postgres-rotator.js';
import { STATE_TABLE } from '../functions/runtime/definitions.js';
import { PostgresServer } from '../test/support/postgres-server.js';
import { DynaliteProcess } from '../test/integration/support/processes.js';
import { VaultProcess } from '../test/integration/support/vault.js';
import { compareThroughput, figure, report } from './harness.js';

const CONCURRENCY = 8;
const POOL = 5;
const TARGET = 0.5;

const expectStatus = async (answer: Promise<{ status: number; text: string }>, status: number, what: string): Promise<void> => {
  const { status: got, text } = await answer;
  if (got !== status) throw new Error(`${what} answered ${got}: ${text}`);
};

const configure = async (vault: VaultProcess, db: PostgresServer): Promise<void> => {
  await expectStatus(vault.request('PUT', '/v1/secrets/bench/db-admin', { body: { value: db.adminUrl } }), 201, 'connection secret');
  await expectStatus(
    vault.request('POST', '/v1/dynamic/engines', { body: { name: 'bench', connection_secret: 'bench/db-admin', max_connections: POOL } }),
    201,
    'engine',
  );
  const role = {
    creation_statements: ['CREATE ROLE {{name}} LOGIN PASSWORD {{password}} VALID UNTIL {{expiration}}'],
    default_ttl: 3600,
    max_ttl: 7200,
    max_leases: 100_000,
  };
  await expectStatus(vault.request('PUT', '/v1/dynamic/engines/bench/roles/app', { body: role }), 200, 'role');
};

/** The floor: the statement the role runs, on a pool of the same size, and one PutItem of a lease-sized item. */
const floorOperation = (db: PostgresServer, dynamodb: DynamoDBClient): { run: () => Promise<void>; pool: pg.Pool } => {
  const pool = new pg.Pool({ host: db.host, port: db.port, user: 'postgres', password: db.superuserPassword, database: 'postgres', max: POOL });
  const run = async () => {
    const name = `f_${randomBytes(8).toString('hex')}`;
    const expires = new Date(Date.now() + 3_600_000).toISOString();
    const password = scramSha256Secret(randomBytes(24).toString('base64url'));
    await pool.query(`CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)} VALID UNTIL ${pg.escapeLiteral(expires)}`);
    await dynamodb.send(
      new PutItemCommand({
        TableName: STATE_TABLE.id,
        Item: {
          pk: { S: 'BENCH#LEASES' },
          sk: { S: name },
          username: { S: name },
          expiresAt: { S: expires },
          gsi1pk: { S: 'BENCHDUE' },
          gsi1sk: { S: `${expires}#${name}` },
        },
      }),
    );
  };
  return { run, pool };
};

export const runDynamicBenchmarks = async (): Promise<Record<string, number>> => {
  const [db, dynalite] = await Promise.all([PostgresServer.start(), DynaliteProcess.start()]);
  const rootToken = `svt_${'d'.repeat(43)}`;
  const vault = await VaultProcess.start({
    env: {
      SCAIVAULT_DYNAMODB_ENDPOINT: dynalite.endpoint,
      SCAIVAULT_ROOT_TOKEN: rootToken,
      SCAIVAULT_LOCAL_KEY_FILE: join(dynalite.dataDir, 'master.key'),
      SCAIVAULT_EGRESS_ALLOWLIST: '127.0.0.1',
      SCAIVAULT_RATE_LIMITS: 'read=100000000/1s,write=100000000/1s,admin=100000/1s',
      LOG_LEVEL: 'warn',
    },
    logToFile: true,
  });
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const floor = floorOperation(db, dynamodb);
  const dispatcher = new Agent({ connections: CONCURRENCY, keepAliveTimeout: 10_000 });
  try {
    await configure(vault, db);
    const issue = async () => {
      const response = await undiciFetch(`${vault.url}/v1/dynamic/bench/creds/app`, {
        method: 'POST',
        headers: { authorization: `Bearer ${rootToken}` },
        dispatcher,
      });
      if (response.status !== 201) throw new Error(`creds answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
    };
    // Warm both sides (pools, caches, JIT) before measuring.
    for (let i = 0; i < 20; i += 1) await Promise.all([issue(), floor.run()]);
    const { a: http, b: direct } = await compareThroughput(issue, floor.run, { rounds: 4, concurrency: CONCURRENCY, roundMs: 3_000 });
    const ratio = http.perSecond / direct.perSecond;
    console.log(
      `\ndynamic credentials: full HTTP ${http.perSecond.toFixed(0)}/s (mean ${((CONCURRENCY / http.perSecond) * 1000).toFixed(1)} ms at ${CONCURRENCY} in flight), ` +
        `CREATE ROLE + PutItem directly ${direct.perSecond.toFixed(0)}/s`,
    );
    figure('for scale: vault-benchmark, local PostgreSQL', '~226/s (mean 45 ms)');
    report('dynamic creds (HTTP / CREATE ROLE + PutItem)', ratio.toFixed(3), `>= ${TARGET}`, ratio >= TARGET);
    return { creds_per_second: http.perSecond, floor_per_second: direct.perSecond, ratio };
  } finally {
    await dispatcher.close();
    await floor.pool.end();
    dynamodb.destroy();
    await vault.stop();
    await Promise.all([db.stop(), dynalite.stop()]);
  }
};

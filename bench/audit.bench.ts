// Issue "audit trail" benchmarks, on real dynalite and fauxqs S3 through the
// real adapters: events written per second through the group-committing
// AuditLog beside single-event PutItem on the same dynalite, then sealing,
// verifying and exporting the events written.
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { marshall } from '@aws-sdk/util-dynamodb';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { DynamoDbAuditStore } from '../functions/adapters/dynamodb/dynamodb-audit-store.js';
import { LocalKeyWrapper } from '../functions/adapters/local-key/local-key-wrapper.js';
import { S3AuditAnchors } from '../functions/adapters/s3/s3-audit-anchors.js';
import { S3ExportTarget } from '../functions/adapters/s3/s3-export-target.js';
import { AuditSealer, AuditVerifier } from '../functions/domain/audit/audit-chain.js';
import { auditKeyOf, newAuditEventId, type AuditDraft, type AuditEvent } from '../functions/domain/audit/audit-event.js';
import { AuditExporter, exportIdOf } from '../functions/domain/audit/audit-export.js';
import { AuditHmac, AuditLog } from '../functions/domain/audit/audit-log.js';
import { AUDIT_BUCKET, AUDIT_TABLE } from '../functions/runtime/definitions.js';
import { ensureBucket, ensureTable } from '../local/provision.js';
import { DynaliteProcess, exited, ROOT } from '../test/integration/support/processes.js';
import { compareThroughput, figure } from './harness.js';

const WRITERS = 32;
/** Events in the chain before sealing; the write comparison's own events count towards it. */
const CHAIN_EVENTS = 20_000;
const BLOCK_MAX_EVENTS = 1000;
const MiB = 1024 * 1024;

const draft = (i: number): AuditDraft => ({
  type: 'secret.read',
  outcome: i % 10 === 0 ? 'denied' : 'success',
  tenantId: `tenant-${i % 8}`,
  identityId: `user:${i % 50}`,
  path: `app/service-${i % 200}/db-password`,
  requestId: `req-${i.toString(36)}`,
  sourceAddress: '10.0.0.1',
  userAgent: 'scaivault-bench/1.0',
  method: 'GET',
  status: i % 10 === 0 ? 403 : 200,
  sensitive: { token: `svt_bench_${i}` },
  details: { version: i % 5 },
});

/** The same event the log would store, for the raw PutItem side. */
const rawEvent = (i: number): AuditEvent => {
  const { sensitive: _sensitive, ...fields } = draft(i);
  return { ...fields, eventId: newAuditEventId(), time: new Date().toISOString(), hmac: { token: `hmac-sha256:${'0'.repeat(64)}` } };
};

/** fauxqs in a child process, so the export's RSS is the vault's alone and not the emulator holding the object. */
const startFauxqsProcess = async (): Promise<{ endpoint: string; child: ChildProcess }> => {
  const code = `import { startFauxqs } from ${JSON.stringify(pathToFileURL(`${ROOT}/local/emulators.ts`).href)}; const e = await startFauxqs({}); console.log(e.endpoint);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('exit', (status) => reject(new Error(`fauxqs exited with ${status}`)));
    createInterface({ input: child.stdout! }).once('line', resolve);
  });
  return { endpoint, child };
};

// Memory is sampled as live heap and Buffers (after a forced collection) and RSS: garbage
// between collections says nothing about what an export holds.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

interface MemoryPeak {
  readonly count: number;
  /** Peak live memory (heap plus Buffers) above the level before the export. */
  readonly liveBytes: number;
  readonly rss: number;
}

/** Runs `work` while sampling every 100 ms; slows it down, so it is timed separately. */
const memoryPeak = async (work: () => Promise<{ count: number }>): Promise<MemoryPeak> => {
  collectGarbage();
  const before = process.memoryUsage();
  const live = (usage: NodeJS.MemoryUsage): number => usage.heapUsed + usage.arrayBuffers;
  let heap = live(before);
  let rss = before.rss;
  const sample = setInterval(() => {
    collectGarbage();
    const usage = process.memoryUsage();
    heap = Math.max(heap, live(usage));
    rss = Math.max(rss, usage.rss);
  }, 100);
  try {
    const { count } = await work();
    return { count, liveBytes: heap - live(before), rss: rss - before.rss };
  } finally {
    clearInterval(sample);
  }
};

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

export const runAuditBenchmarks = async (): Promise<Record<string, number>> => {
  const dynalite = await DynaliteProcess.start();
  const fauxqs = await startFauxqsProcess();
  const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };
  const dynamodb = new DynamoDBClient({ endpoint: dynalite.endpoint, region: 'us-east-1', credentials });
  const s3 = new S3Client({ endpoint: fauxqs.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
  try {
    await ensureTable(dynamodb, AUDIT_TABLE);
    await ensureBucket(s3, AUDIT_BUCKET);
    const store = new DynamoDbAuditStore(dynamodb, AUDIT_TABLE.id);
    const anchors = new S3AuditAnchors(s3, AUDIT_BUCKET.id);
    const batches: number[] = [];
    const append = store.append.bind(store);
    store.append = (events) => (batches.push(events.length), append(events));
    const log = new AuditLog(store, new AuditHmac(store, new LocalKeyWrapper(randomBytes(32))), {
      auditWritten: () => undefined,
      auditWriteFailed: () => undefined,
    });

    // (a) Audit events through the log (HMAC, validation, group commit) beside one PutItem per event.
    let written = 0;
    const audited = async () => {
      await log.record(draft(written++));
    };
    let raw = 0;
    const rawPut = async () => {
      const event = rawEvent(raw++);
      await dynamodb.send(
        new PutItemCommand({ TableName: AUDIT_TABLE.id, Item: marshall({ pk: `RAW#${event.time.slice(0, 10)}`, sk: auditKeyOf(event), ...event }) }),
      );
    };
    await compareThroughput(audited, rawPut, { rounds: 1, concurrency: WRITERS, roundMs: 500 });
    batches.length = 0;
    const { a: viaLog, b: viaPut } = await compareThroughput(audited, rawPut, { rounds: 2, concurrency: WRITERS, roundMs: 2000 });
    const meanBatch = batches.reduce((sum, size) => sum + size, 0) / batches.length;
    const writeRatio = viaLog.perSecond / viaPut.perSecond;
    console.log(
      `\naudit writes: AuditLog ${viaLog.perSecond.toFixed(0)} events/s (mean batch ${meanBatch.toFixed(1)} events), single-event PutItem ${viaPut.perSecond.toFixed(0)}/s (${WRITERS} writers, same dynalite)`,
    );

    // Fill the chain up to CHAIN_EVENTS.
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (written < CHAIN_EVENTS) await audited();
      }),
    );
    const chainEvents = written;

    // (b) Sealing everything: blocks of 1,000, Merkle roots, conditional block writes, S3 anchors.
    const sealer = new AuditSealer(store, anchors, { graceMs: 0, blockMaxEvents: BLOCK_MAX_EVENTS, blocksPerRun: 1_000_000 });
    let started = performance.now();
    const sealed = await sealer.seal();
    const sealSeconds = (performance.now() - started) / 1000;
    if (sealed.events.length !== chainEvents) throw new Error(`sealed ${sealed.events.length} of ${chainEvents} events`);
    const sealRate = sealed.events.length / sealSeconds;
    console.log(`sealing: ${sealed.events.length} events in ${sealed.blocks.length} blocks in ${sealSeconds.toFixed(2)} s`);

    // (c) Verifying the whole chain: anchors from S3, events from DynamoDB, every leaf recomputed.
    const verifier = new AuditVerifier(store, anchors);
    started = performance.now();
    const verified = await verifier.verify();
    const verifySeconds = (performance.now() - started) / 1000;
    if (!verified.ok || verified.checkedEvents !== chainEvents) throw new Error(`verify: ${JSON.stringify(verified)}`);
    const verifyRate = verified.checkedEvents / verifySeconds;
    console.log(`verify: ${verified.checkedEvents} events in ${verified.checkedBlocks} blocks in ${verifySeconds.toFixed(2)} s`);

    // (d) Exporting the whole range to S3 as gzipped JSON lines with proofs.
    const exporter = new AuditExporter(store, new S3ExportTarget(s3, AUDIT_BUCKET.id));
    const from = (await store.genesis())!;
    const sealedTo = new Date().toISOString();
    const request = { from, to: sealedTo, filters: {} };
    started = performance.now();
    const manifest = await exporter.run(exportIdOf(request), request);
    const exportSeconds = (performance.now() - started) / 1000;
    if (manifest.count !== chainEvents) throw new Error(`exported ${manifest.count} of ${chainEvents} events`);
    const object = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: AUDIT_BUCKET.id, Key: manifest.object_key }))).Body!.transformToByteArray());
    if (createHash('sha256').update(object).digest('hex') !== manifest.sha256) throw new Error('exported object does not match its manifest');
    const plainBytes = gunzipSync(object).length;
    const exportRate = manifest.count / exportSeconds;
    console.log(`export: ${manifest.count} events, ${mib(manifest.bytes)} gzip (${mib(plainBytes)} JSONL) in ${exportSeconds.toFixed(2)} s`);
    // Memory that stays bounded grows no more for the whole range than for a quarter of it (new export ids: the range ends differ).
    const quarterTo = sealed.blocks[sealed.blocks.length / 4 - 1]!.throughKey.slice(0, 24);
    const quarter = await memoryPeak(() => exporter.run(exportIdOf({ from, to: quarterTo, filters: {} }), { from, to: quarterTo, filters: {} }));
    const wholeTo = new Date(Date.parse(sealedTo) + 1).toISOString();
    const whole = await memoryPeak(() => exporter.run(exportIdOf({ from, to: wholeTo, filters: {} }), { from, to: wholeTo, filters: {} }));
    console.log(
      `export memory: ${quarter.count} events peak live memory +${mib(quarter.liveBytes)}, RSS +${mib(quarter.rss)}; ` +
        `${whole.count} events peak live memory +${mib(whole.liveBytes)}, RSS +${mib(whole.rss)}\n`,
    );

    figure('audit writes via AuditLog (32 writers)', `${viaLog.perSecond.toFixed(0)} events/s`);
    figure('single-event PutItem (32 writers)', `${viaPut.perSecond.toFixed(0)} items/s`);
    figure('audit write ratio (AuditLog / PutItem)', writeRatio.toFixed(2));
    figure(`seal (${chainEvents} events, blocks of ${BLOCK_MAX_EVENTS})`, `${sealRate.toFixed(0)} events/s`);
    figure('verify (full chain)', `${verifyRate.toFixed(0)} events/s`);
    figure('export to S3 (jsonl.gz with proofs)', `${exportRate.toFixed(0)} events/s`);
    figure('export object size', `${(manifest.bytes / MiB).toFixed(2)} MiB gzip`);
    figure(`export peak live memory (${quarter.count} events)`, `+${mib(quarter.liveBytes)}`);
    figure(`export peak live memory (${whole.count} events)`, `+${mib(whole.liveBytes)}`);
    figure(`export peak RSS growth (${whole.count} events)`, `+${mib(whole.rss)}`);
    return {
      audit_events_per_second: viaLog.perSecond,
      putitem_per_second: viaPut.perSecond,
      audit_write_ratio: writeRatio,
      audit_mean_batch: meanBatch,
      seal_events_per_second: sealRate,
      verify_events_per_second: verifyRate,
      export_events_per_second: exportRate,
      export_bytes: manifest.bytes,
      export_peak_live_bytes_quarter: quarter.liveBytes,
      export_peak_live_bytes: whole.liveBytes,
      export_peak_rss_growth_bytes: whole.rss,
    };
  } finally {
    dynamodb.destroy();
    s3.destroy();
    fauxqs.child.kill('SIGTERM');
    await exited(fauxqs.child);
    await dynalite.stop();
  }
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) console.log(`\n${JSON.stringify(await runAuditBenchmarks(), null, 2)}`);

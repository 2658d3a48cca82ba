import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { createGunzip, createGzip } from 'node:zlib';
import type { BackupFileWriter, BackupManifest, BackupStore, WrittenFile } from '../../domain/ports/backups.js';

const MANIFEST = 'manifest.json';
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const safe = (name: string): string => {
  if (!SAFE_NAME.test(name)) throw new Error(`"${name}" is not a backup or file name`);
  return name;
};

/**
 * Backups as directories under one root (`<data dir>/backups/<id>/`): a gzip
 * JSON-lines file per table and `manifest.json`, written last through a rename,
 * so a directory with a manifest always holds a finished backup. Files are 0600,
 * directories 0700: the items are sealed, but their metadata is the vault's.
 */
export class FsBackupStore implements BackupStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  locationOf(backupId: string): string {
    return join(this.root, safe(backupId));
  }

  async createFile(backupId: string, file: string): Promise<BackupFileWriter> {
    const dir = this.locationOf(backupId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const out = createWriteStream(join(dir, safe(file)), { mode: 0o600 });
    const gzip = createGzip({ level: 6 });
    const hash = createHash('sha256');
    let bytes = 0;
    gzip.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    gzip.pipe(out);
    const failed = new Promise<never>((_, reject) => {
      out.once('error', reject);
      gzip.once('error', reject);
    });
    failed.catch(() => undefined);
    return {
      write: async (lines) => {
        if (lines.length === 0) return;
        if (!gzip.write(`${lines.join('\n')}\n`)) await Promise.race([once(gzip, 'drain'), failed]);
      },
      close: async (): Promise<WrittenFile> => {
        gzip.end();
        await Promise.race([once(out, 'close'), failed]);
        return { file, bytes, sha256: hash.digest('hex') };
      },
    };
  }

  async writeManifest(backupId: string, manifest: BackupManifest): Promise<void> {
    const dir = this.locationOf(backupId);
    const temporary = join(dir, `.${MANIFEST}.tmp`);
    await writeFile(temporary, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, join(dir, MANIFEST));
  }

  async readManifest(backupId: string): Promise<BackupManifest> {
    return JSON.parse(await readFile(join(this.locationOf(backupId), MANIFEST), 'utf8')) as BackupManifest;
  }

  async *readLines(backupId: string, file: string, pageSize: number): AsyncIterable<readonly string[]> {
    const input = createReadStream(join(this.locationOf(backupId), safe(file))).pipe(createGunzip());
    let page: string[] = [];
    for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
      if (line === '') continue;
      page.push(line);
      if (page.length === pageSize) {
        yield page;
        page = [];
      }
    }
    if (page.length > 0) yield page;
  }

  async digest(backupId: string, file: string): Promise<WrittenFile> {
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of createReadStream(join(this.locationOf(backupId), safe(file)))) {
      hash.update(chunk as Buffer);
      bytes += (chunk as Buffer).length;
    }
    return { file, bytes, sha256: hash.digest('hex') };
  }

  async list(): Promise<readonly string[]> {
    if (!existsSync(this.root)) return [];
    const entries = await readdir(this.root, { withFileTypes: true });
    return entries
      .filter((entry) => entry.isDirectory() && SAFE_NAME.test(entry.name) && existsSync(join(this.root, entry.name, MANIFEST)))
      .map((entry) => entry.name)
      .sort();
  }

  async remove(backupId: string): Promise<void> {
    await rm(this.locationOf(backupId), { recursive: true, force: true });
  }
}

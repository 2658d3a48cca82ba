import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { IntegrityError, VaultError } from '../../domain/errors.js';
import type { KeyProviderStatus, KeyWrapper, WrappedDataKey } from '../../domain/ports/keys.js';

/** Wrapped-key formats: 1 before master key versions, 2 naming the version. */
const LEGACY_FORMAT = 1;
const FORMAT = 2;
/** The key file's JSON format. */
const RING_FORMAT = 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class LocalKeyError extends VaultError {
  override readonly name = 'LocalKeyError';
}

/**
 * The master key's versions: the active one wraps new data keys, every one
 * unwraps what it wrapped. On disk (mode 0600) as JSON
 * `{"format":2,"active":N,"keys":{"1":"<base64>",...}}`; a file in the first
 * format (one base64 line) is version 1, and is rewritten in this one at the
 * first rotation.
 */
export interface MasterKeyRing {
  readonly active: number;
  readonly keys: ReadonlyMap<number, Buffer>;
}

const parseRing = (file: string, text: string): MasterKeyRing => {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return { active: 1, keys: new Map([[1, checkedKey(file, trimmed)]]) };
  let parsed: { format?: unknown; active?: unknown; keys?: unknown };
  try {
    parsed = JSON.parse(trimmed) as typeof parsed;
  } catch {
    throw new LocalKeyError(`master key file ${file} is neither a key nor a key ring`);
  }
  const entries = Object.entries((parsed.keys ?? {}) as Record<string, unknown>);
  const keys = new Map(entries.map(([version, key]) => [Number(version), checkedKey(file, String(key))]));
  if (parsed.format !== RING_FORMAT || typeof parsed.active !== 'number' || !keys.has(parsed.active)) {
    throw new LocalKeyError(`master key file ${file} has no usable active version`);
  }
  return { active: parsed.active, keys };
};

const checkedKey = (file: string, base64: string): Buffer => {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32) throw new LocalKeyError(`master key file ${file} does not hold a 256-bit key`);
  return key;
};

/** Writes the ring next to the file and renames it over: a crash leaves the old file or the new, never half of one. */
const writeRing = (file: string, ring: MasterKeyRing): void => {
  const keys = Object.fromEntries([...ring.keys].map(([version, key]) => [String(version), key.toString('base64')]));
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ format: RING_FORMAT, active: ring.active, keys })}\n`, { mode: 0o600, flag: 'w' });
  renameSync(temporary, file);
};

/** Reads the master key ring, creating a one-version ring on first start; refuses a file readable by others. */
export const loadOrCreateMasterKeyRing = (file: string): MasterKeyRing => {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      writeSync(fd, `${randomBytes(32).toString('base64')}\n`);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const fd = openSync(file, 'r');
  try {
    if ((fstatSync(fd).mode & 0o077) !== 0) throw new LocalKeyError(`master key file ${file} must not be readable by group or others (chmod 600)`);
  } finally {
    closeSync(fd);
  }
  return parseRing(file, readFileSync(file, 'utf8'));
};

/** The active master key (of either file format), creating the file on first start. */
export const loadOrCreateMasterKey = (file: string): Buffer => {
  const ring = loadOrCreateMasterKeyRing(file);
  return ring.keys.get(ring.active) as Buffer;
};

const fingerprintOf = (key: Buffer): string => `local:${createHash('sha256').update(key).digest('hex').slice(0, 16)}`;

/**
 * Wraps data keys with AES-256-GCM under the active version of a master key kept
 * in the data directory. A wrapped key names its version (`[2][version u32][iv][key][tag]`);
 * keys wrapped before versions existed (`[1][iv][key][tag]`) unwrap under version 1.
 */
export class LocalKeyWrapper implements KeyWrapper {
  readonly provider = 'local';
  private ring: MasterKeyRing;

  /** `file`: where a rotation persists the ring; without it a rotation lives in memory only. */
  constructor(
    master: Buffer | MasterKeyRing,
    private readonly file?: string,
  ) {
    this.ring = Buffer.isBuffer(master) ? { active: 1, keys: new Map([[1, master]]) } : master;
  }

  static fromFile(file: string): LocalKeyWrapper {
    return new LocalKeyWrapper(loadOrCreateMasterKeyRing(file), file);
  }

  async generateDataKey(context: Readonly<Record<string, string>>): Promise<WrappedDataKey> {
    const plaintext = randomBytes(32);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.ring.keys.get(this.ring.active) as Buffer, iv);
    cipher.setAAD(contextBytes(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const header = Buffer.alloc(5);
    header[0] = FORMAT;
    header.writeUInt32BE(this.ring.active, 1);
    return { plaintext, wrapped: Buffer.concat([header, iv, body, cipher.getAuthTag()]) };
  }

  async unwrap(wrapped: Uint8Array, context: Readonly<Record<string, string>>): Promise<Buffer> {
    const data = Buffer.from(wrapped);
    const headerBytes = data[0] === LEGACY_FORMAT ? 1 : 5;
    if ((data[0] !== FORMAT && data[0] !== LEGACY_FORMAT) || data.length !== headerBytes + IV_BYTES + 32 + TAG_BYTES) {
      throw new IntegrityError('wrapped data key is malformed');
    }
    const version = headerBytes === 1 ? 1 : data.readUInt32BE(1);
    const master = this.ring.keys.get(version);
    if (!master) throw new IntegrityError(`wrapped data key names master key version ${version}, which this key file does not hold`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', master, data.subarray(headerBytes, headerBytes + IV_BYTES));
      decipher.setAAD(contextBytes(context));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(headerBytes + IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (error) {
      throw new IntegrityError('wrapped data key failed authentication', { cause: error });
    }
  }

  async describe(): Promise<KeyProviderStatus> {
    return { provider: this.provider, keyId: fingerprintOf(this.ring.keys.get(this.ring.active) as Buffer), state: 'Enabled' };
  }

  /** Adds a version and makes it active, keeping every older one for unwrapping; persisted before it is used. */
  async rotateMasterKey(): Promise<string> {
    const active = Math.max(...this.ring.keys.keys()) + 1;
    const next: MasterKeyRing = { active, keys: new Map([...this.ring.keys, [active, randomBytes(32)]]) };
    if (this.file) writeRing(this.file, next);
    this.ring = next;
    return `v${active}`;
  }
}

const contextBytes = (context: Readonly<Record<string, string>>): Buffer =>
  Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b))), 'utf8');

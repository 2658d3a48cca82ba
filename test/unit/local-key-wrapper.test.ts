import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKeyError, LocalKeyWrapper, loadOrCreateMasterKey, loadOrCreateMasterKeyRing } from '../../functions/adapters/local-key/local-key-wrapper.js';
import { IntegrityError } from '../../functions/domain/errors.js';

describe('loadOrCreateMasterKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scaivault-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a 256-bit key file readable by the owner only, creating missing directories', () => {
    const file = join(dir, 'nested', 'master.key');
    const key = loadOrCreateMasterKey(file);
    expect(key).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64').equals(key)).toBe(true);
  });

  it('reuses the existing key on a second call', () => {
    const file = join(dir, 'master.key');
    const first = loadOrCreateMasterKey(file);
    const second = loadOrCreateMasterKey(file);
    expect(second.equals(first)).toBe(true);
  });

  it('refuses a key file readable by group or others', () => {
    const file = join(dir, 'master.key');
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o644);
    expect(() => loadOrCreateMasterKey(file)).toThrow(LocalKeyError);
  });

  it('refuses a key file that does not hold exactly 32 bytes', () => {
    const file = join(dir, 'master.key');
    writeFileSync(file, `${randomBytes(16).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(() => loadOrCreateMasterKey(file)).toThrow(LocalKeyError);
  });
});

describe('LocalKeyWrapper', () => {
  const wrapper = new LocalKeyWrapper(randomBytes(32));

  it('round-trips a fresh 256-bit data key through wrap and unwrap', async () => {
    const { plaintext, wrapped } = await wrapper.generateDataKey({ tenant: 'acme' });
    expect(plaintext).toHaveLength(32);
    expect(Buffer.from(wrapped).includes(plaintext)).toBe(false);
    expect((await wrapper.unwrap(wrapped, { tenant: 'acme' })).equals(plaintext)).toBe(true);
  });

  it('generates a different data key each time', async () => {
    const a = await wrapper.generateDataKey({ tenant: 'acme' });
    const b = await wrapper.generateDataKey({ tenant: 'acme' });
    expect(a.plaintext.equals(b.plaintext)).toBe(false);
  });

  it('does not depend on the order of context entries', async () => {
    const { plaintext, wrapped } = await wrapper.generateDataKey({ tenant: 'acme', purpose: 'secrets' });
    expect((await wrapper.unwrap(wrapped, { purpose: 'secrets', tenant: 'acme' })).equals(plaintext)).toBe(true);
  });

  it('refuses to unwrap under a different context', async () => {
    const { wrapped } = await wrapper.generateDataKey({ tenant: 'acme' });
    await expect(wrapper.unwrap(wrapped, { tenant: 'globex' })).rejects.toBeInstanceOf(IntegrityError);
    await expect(wrapper.unwrap(wrapped, {})).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses to unwrap under a different master key', async () => {
    const { wrapped } = await wrapper.generateDataKey({ tenant: 'acme' });
    await expect(new LocalKeyWrapper(randomBytes(32)).unwrap(wrapped, { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a tampered or truncated wrapped key', async () => {
    const { wrapped } = await wrapper.generateDataKey({ tenant: 'acme' });
    const tampered = Buffer.from(wrapped);
    tampered[20] = (tampered[20] ?? 0) ^ 0xff;
    await expect(wrapper.unwrap(tampered, { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
    await expect(wrapper.unwrap(Buffer.from(wrapped).subarray(0, 40), { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
    const wrongFormat = Buffer.from(wrapped);
    wrongFormat[0] = 3;
    await expect(wrapper.unwrap(wrongFormat, { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
  });

  it('describes itself with a fingerprint that identifies the master key without revealing it', async () => {
    const master = randomBytes(32);
    const status = await new LocalKeyWrapper(master).describe();
    expect(status.provider).toBe('local');
    expect(status.state).toBe('Enabled');
    expect(status.keyId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(status.keyId).not.toContain(master.toString('hex').slice(0, 16));
    expect((await new LocalKeyWrapper(Buffer.from(master)).describe()).keyId).toBe(status.keyId);
    expect((await new LocalKeyWrapper(randomBytes(32)).describe()).keyId).not.toBe(status.keyId);
  });
});

describe('LocalKeyWrapper master key versions', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'scaivault-key-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps unwrapping keys wrapped in the first format under a key file of the first format, across a rotation', async () => {
    const file = join(dir, 'master.key');
    const legacyKey = randomBytes(32);
    writeFileSync(file, `${legacyKey.toString('base64')}\n`, { mode: 0o600 });
    // A wrapped key of the first format: [1][iv][key][tag], as the wrapper wrote before versions.
    const { createCipheriv } = await import('node:crypto');
    const dataKey = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', legacyKey, iv);
    cipher.setAAD(Buffer.from(JSON.stringify([['tenant', 'acme']]), 'utf8'));
    const legacyWrapped = Buffer.concat([Buffer.from([1]), iv, cipher.update(dataKey), cipher.final(), cipher.getAuthTag()]);

    const wrapper = LocalKeyWrapper.fromFile(file);
    expect((await wrapper.unwrap(legacyWrapped, { tenant: 'acme' })).equals(dataKey)).toBe(true);
    const before = await wrapper.generateDataKey({ tenant: 'acme' });
    const fingerprint = (await wrapper.describe()).keyId;

    expect(await wrapper.rotateMasterKey()).toBe('v2');
    const after = await wrapper.generateDataKey({ tenant: 'acme' });
    expect((await wrapper.describe()).keyId).not.toBe(fingerprint);
    // The file is now a ring, still owner-only, holding both versions: a restart unwraps all three.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const ring = loadOrCreateMasterKeyRing(file);
    expect(ring.active).toBe(2);
    expect(ring.keys.get(1)?.equals(legacyKey)).toBe(true);
    const restarted = LocalKeyWrapper.fromFile(file);
    expect((await restarted.unwrap(legacyWrapped, { tenant: 'acme' })).equals(dataKey)).toBe(true);
    expect((await restarted.unwrap(before.wrapped, { tenant: 'acme' })).equals(before.plaintext)).toBe(true);
    expect((await restarted.unwrap(after.wrapped, { tenant: 'acme' })).equals(after.plaintext)).toBe(true);
    // New data keys wrap under the new version: the old version alone cannot open them.
    await expect(new LocalKeyWrapper(legacyKey).unwrap(after.wrapped, { tenant: 'acme' })).rejects.toBeInstanceOf(IntegrityError);
    expect(loadOrCreateMasterKey(file).equals(ring.keys.get(2) as Buffer)).toBe(true);
  });

  it('refuses a wrapped key naming a version the ring does not hold', async () => {
    const rotated = new LocalKeyWrapper(randomBytes(32));
    await rotated.rotateMasterKey();
    const { wrapped } = await rotated.generateDataKey({ tenant: 'acme' });
    await expect(new LocalKeyWrapper(randomBytes(32)).unwrap(wrapped, { tenant: 'acme' })).rejects.toThrow(/version 2/);
  });

  it('refuses a key ring without a usable active version', () => {
    const file = join(dir, 'master.key');
    writeFileSync(file, JSON.stringify({ format: 2, active: 3, keys: { 1: randomBytes(32).toString('base64') } }), { mode: 0o600 });
    expect(() => loadOrCreateMasterKeyRing(file)).toThrow(LocalKeyError);
  });
});

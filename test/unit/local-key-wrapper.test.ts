import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalKeyError, LocalKeyWrapper, loadOrCreateMasterKey } from '../../functions/adapters/local-key/local-key-wrapper.js';
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
    wrongFormat[0] = 2;
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

import { afterEach, describe, expect, it, vi } from 'vitest';
import { ValidationError } from '../../functions/domain/errors.js';
import { API_KEY_PROFILE, BASE62, PASSWORD_ALPHABET, PASSWORD_PROFILE, PasswordRotator } from '../../functions/domain/rotation/password-rotator.js';
import { createRotators, rotatorFor } from '../../functions/composition/rotators.js';
import type { RotationOptions } from '../../functions/domain/ports/rotation.js';

const password = PasswordRotator.password();
const apiKey = PasswordRotator.apiKey();
const samples = (rotator: PasswordRotator, options: RotationOptions, count: number): string[] =>
  Array.from({ length: count }, () => rotator.generate(options, ''));
const onlyFrom = (alphabet: string) => (value: string) => Array.from(value).every((char) => alphabet.includes(char));

const validationErrorOf = (rotator: PasswordRotator, options: RotationOptions): ValidationError => {
  try {
    rotator.validate(options);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return error as ValidationError;
  }
  throw new Error(`validate accepted ${JSON.stringify(options)}`);
};

describe('PasswordRotator as password', () => {
  it('is named password and generates 32 characters of letters, digits and !#%+-=@^_~ by default', () => {
    expect(password.name).toBe('password');
    for (const value of samples(password, {}, 50)) {
      expect(value).toHaveLength(32);
      expect(value).toMatch(/^[A-Za-z0-9!#%+\-=@^_~]+$/);
    }
  });

  it('honours length at both bounds', () => {
    expect(password.generate({ length: 8 }, '')).toHaveLength(8);
    expect(password.generate({ length: 4096 }, '')).toHaveLength(4096);
  });

  it('includes a lower, an upper, a digit and a symbol in each of 500 eight-character passwords', () => {
    for (const value of samples(password, { length: 8 }, 500)) {
      expect(value).toMatch(/[a-z]/);
      expect(value).toMatch(/[A-Z]/);
      expect(value).toMatch(/[0-9]/);
      expect(value).toMatch(/[!#%+\-=@^_~]/);
    }
  });

  it('without require_each_class, short passwords do miss a class', () => {
    const everyClass = (value: string) => /[a-z]/.test(value) && /[A-Z]/.test(value) && /[0-9]/.test(value) && /[!#%+\-=@^_~]/.test(value);
    expect(samples(password, { length: 8, require_each_class: false }, 500).some((value) => !everyClass(value))).toBe(true);
  });

  it('requires only the classes a custom alphabet has', () => {
    const alphabet = 'abcdefghijKLMNOPQRST';
    for (const value of samples(password, { length: 8, alphabet }, 500)) {
      expect(value).toSatisfy(onlyFrom(alphabet));
      expect(value).toMatch(/[a-j]/);
      expect(value).toMatch(/[K-T]/);
    }
  });

  it('draws only from a custom alphabet, counting characters rather than UTF-16 units', () => {
    const alphabet = 'αβγδεζηθικλμ0123456789';
    for (const value of samples(password, { length: 12, alphabet }, 100)) {
      expect(Array.from(value)).toHaveLength(12);
      expect(value).toSatisfy(onlyFrom(alphabet));
      expect(value).toMatch(/[α-μ]/u);
      expect(value).toMatch(/[0-9]/);
    }
  });

  it('never uses excluded characters', () => {
    const joined = samples(password, { exclude: '0O1lI|' }, 300).join('');
    expect(joined).not.toMatch(/[0O1lI]/);
    expect(joined).toMatch(/[2-9]/);
  });

  it('uses every character of its alphabet over many samples', () => {
    const seen = new Set(samples(password, {}, 300).join(''));
    expect([...PASSWORD_ALPHABET].filter((char) => !seen.has(char))).toEqual([]);
  });

  it('never returns the current value, drawing again instead', () => {
    // Eight zeros spell "aaaaaaaa" from base62; the next eight draws spell "bbbbbbbb".
    let calls = 0;
    const scripted = new PasswordRotator('password', PASSWORD_PROFILE, () => (calls++ < 8 ? 0 : 1));
    expect(scripted.generate({ length: 8, alphabet: BASE62, require_each_class: false }, 'aaaaaaaa')).toBe('bbbbbbbb');
    expect(calls).toBe(16);

    calls = 0;
    expect(scripted.generate({ length: 8, alphabet: BASE62, require_each_class: false }, 'something else')).toBe('aaaaaaaa');
  });

  describe('generates with node:crypto, never Math.random', () => {
    afterEach(() => vi.restoreAllMocks());
    it('does not call Math.random', () => {
      const random = vi.spyOn(Math, 'random');
      password.generate({}, '');
      apiKey.generate({ prefix: 'sk_' }, '');
      expect(random).not.toHaveBeenCalled();
    });
  });
});

describe('PasswordRotator as api_key', () => {
  it('is named api_key and generates 40 base62 characters by default', () => {
    expect(apiKey.name).toBe('api_key');
    for (const value of samples(apiKey, {}, 50)) expect(value).toMatch(/^[A-Za-z0-9]{40}$/);
  });

  it('puts the prefix before length random characters', () => {
    for (const value of samples(apiKey, { prefix: 'sk_live_', length: 24 }, 50)) {
      expect(value).toMatch(/^sk_live_[A-Za-z0-9]{24}$/);
    }
  });

  it('spreads draws evenly over the alphabet', () => {
    const counts = new Map<string, number>();
    for (const char of samples(apiKey, {}, 1000).join('')) counts.set(char, (counts.get(char) ?? 0) + 1);
    const expected = (1000 * 40) / BASE62.length;
    expect(counts.size).toBe(BASE62.length);
    // About 645 each with a standard deviation near 25: ±20% is five deviations.
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(expected * 0.8);
      expect(count).toBeLessThan(expected * 1.2);
    }
  });

  it('does not require each class by default', () => {
    expect(API_KEY_PROFILE.requireEachClass).toBe(false);
    expect(apiKey.generate({ alphabet: 'abcdefghijklmnop', length: 8 }, '')).toMatch(/^[a-p]{8}$/);
  });
});

describe('PasswordRotator.validate', () => {
  it.each([
    [{ length: 7 }, 'length', /length must be an integer from 8 to 4096/],
    [{ length: 4097 }, 'length', /length must be an integer from 8 to 4096/],
    [{ length: 12.5 }, 'length', /length must be an integer/],
    [{ length: '32' }, 'length', /length must be an integer/],
    [{ alphabet: 'abcdefghi' }, 'alphabet', /at least 10 distinct characters after exclude; it has 9/],
    [{ alphabet: 'aaaaabbbbbcccccdddddeeeee' }, 'alphabet', /at least 10 distinct characters after exclude; it has 5/],
    [{ alphabet: 'abcdefghijklmnop', exclude: 'abcdefg' }, 'exclude', /at least 10 distinct characters after exclude; it has 9/],
    [{ alphabet: 'abcdefghij klmnop' }, 'alphabet', /whitespace or control characters/],
    [{ alphabet: 42 }, 'alphabet', /alphabet must be a string/],
    [{ exclude: true }, 'exclude', /exclude must be a string/],
    [{ require_each_class: 'yes' }, 'require_each_class', /require_each_class must be true or false/],
    [{ lenght: 16 }, 'lenght', /unknown password rotation option "lenght"/],
    [{ prefix: 'sk_' }, 'prefix', /password rotation does not take a prefix/],
  ] as const)('password rejects %j', (options, field, message) => {
    const error = validationErrorOf(password, options);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it.each([
    [{ prefix: 'sk live' }, /prefix must be 1 to 32 characters/],
    [{ prefix: '' }, /prefix must be 1 to 32 characters/],
    [{ prefix: 'p'.repeat(33) }, /prefix must be 1 to 32 characters/],
    [{ prefix: 'sk/live' }, /prefix must be 1 to 32 characters/],
    [{ prefix: 7 }, /prefix must be 1 to 32 characters/],
  ] as const)('api_key rejects %j', (options, message) => {
    expect(validationErrorOf(apiKey, options).message).toMatch(message);
  });

  it('accepts the documented options', () => {
    expect(() => password.validate({ length: 64, alphabet: PASSWORD_ALPHABET, exclude: '0O1lI', require_each_class: false })).not.toThrow();
    expect(() => apiKey.validate({ length: 40, prefix: 'sk_live_', alphabet: BASE62, exclude: '', require_each_class: true })).not.toThrow();
    expect(() => apiKey.validate({ prefix: 'p'.repeat(32) })).not.toThrow();
  });

  it('generate checks options too', () => {
    expect(() => password.generate({ length: 3 }, '')).toThrow(ValidationError);
  });
});

describe('rotator registry', () => {
  it('holds password, api_key and postgresql under their names', () => {
    const rotators = createRotators();
    expect([...rotators.keys()].sort()).toEqual(['api_key', 'password', 'postgresql']);
    for (const [name, rotator] of rotators) expect(rotator.name).toBe(name);
  });

  it('finds a rotator by name and rejects unknown names with a ValidationError', () => {
    expect(rotatorFor('api_key').generate({}, '')).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(() => rotatorFor('mysql')).toThrow(ValidationError);
    expect(() => rotatorFor('mysql')).toThrow(/unknown rotator "mysql"; expected one of password, api_key, postgresql/);
  });
});

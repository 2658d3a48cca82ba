import { randomInt as cryptoRandomInt } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { RotationOptions, Rotator } from '../ports/rotation.js';

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';
export const BASE62 = `${LOWER}${UPPER}${DIGITS}`;
/** Symbols that need no quoting in shells, URLs' query strings, JSON or .env files. */
export const PASSWORD_SYMBOLS = '!#%+-=@^_~';
export const PASSWORD_ALPHABET = `${BASE62}${PASSWORD_SYMBOLS}`;

export const MIN_LENGTH = 8;
export const MAX_LENGTH = 4096;
export const MIN_DISTINCT_CHARACTERS = 10;
const MAX_ALPHABET_LENGTH = 1024;
const PREFIX = /^[A-Za-z0-9_-]{1,32}$/;

/** `symbol` is everything that is not a cased letter or a decimal digit. */
type CharacterClass = 'lower' | 'upper' | 'digit' | 'symbol';

const classOf = (char: string): CharacterClass => (/\p{Ll}/u.test(char) ? 'lower' : /\p{Lu}/u.test(char) ? 'upper' : /\p{Nd}/u.test(char) ? 'digit' : 'symbol');

/** What one generation uses, after options have been checked against a profile's defaults. */
export interface PasswordPolicy {
  /** Random characters, not counting the prefix. */
  readonly length: number;
  /** Distinct characters to draw from, each with equal probability. */
  readonly alphabet: readonly string[];
  readonly requireEachClass: boolean;
  readonly prefix: string;
}

/** The defaults of one kind of generated secret and whether it takes a prefix. */
export interface PasswordProfile {
  readonly length: number;
  readonly alphabet: string;
  readonly requireEachClass: boolean;
  readonly allowsPrefix: boolean;
}

export const PASSWORD_PROFILE: PasswordProfile = { length: 32, alphabet: PASSWORD_ALPHABET, requireEachClass: true, allowsPrefix: false };
export const API_KEY_PROFILE: PasswordProfile = { length: 40, alphabet: BASE62, requireEachClass: false, allowsPrefix: true };

/** Uniform integer in [0, max); crypto.randomInt rejects out-of-range draws, so there is no modulo bias. */
export type RandomInt = (max: number) => number;

const distinct = (characters: string): string[] => [...new Set(Array.from(characters))];

/**
 * Generates random passwords and API keys. Registered twice, as `password` and
 * `api_key`; other rotators reuse it with a profile of their own.
 */
export class PasswordRotator implements Rotator {
  constructor(
    readonly name: string,
    private readonly profile: PasswordProfile,
    private readonly randomInt: RandomInt = cryptoRandomInt,
  ) {}

  static password(): PasswordRotator {
    return new PasswordRotator('password', PASSWORD_PROFILE);
  }

  static apiKey(): PasswordRotator {
    return new PasswordRotator('api_key', API_KEY_PROFILE);
  }

  validate(options: RotationOptions): void {
    this.policy(options);
  }

  generate(options: RotationOptions, currentValue: string): string {
    const policy = this.policy(options);
    // A repeat is astronomically unlikely with ≥ 8 of ≥ 10 characters, but a rotation that keeps the value is no rotation.
    for (;;) {
      const value = policy.prefix + this.draw(policy);
      if (value !== currentValue) return value;
    }
  }

  /** Checks options against this rotator's profile; throws ValidationError naming the offending option. */
  policy(options: RotationOptions): PasswordPolicy {
    const known = this.profile.allowsPrefix
      ? ['length', 'alphabet', 'exclude', 'require_each_class', 'prefix']
      : ['length', 'alphabet', 'exclude', 'require_each_class'];
    for (const key of Object.keys(options)) {
      if (key === 'prefix' && !this.profile.allowsPrefix) throw new ValidationError(`${this.name} rotation does not take a prefix`, 'prefix');
      if (!known.includes(key)) throw new ValidationError(`unknown ${this.name} rotation option "${key}"; expected one of ${known.join(', ')}`, key);
    }

    const length = options.length ?? this.profile.length;
    if (typeof length !== 'number' || !Number.isInteger(length) || length < MIN_LENGTH || length > MAX_LENGTH) {
      throw new ValidationError(`length must be an integer from ${MIN_LENGTH} to ${MAX_LENGTH}`, 'length');
    }

    const alphabetOption = options.alphabet ?? this.profile.alphabet;
    if (typeof alphabetOption !== 'string') throw new ValidationError('alphabet must be a string of characters', 'alphabet');
    if (alphabetOption.length > MAX_ALPHABET_LENGTH) throw new ValidationError(`alphabet must be at most ${MAX_ALPHABET_LENGTH} characters`, 'alphabet');
    if (/[\p{Cc}\p{Cf}\p{Z}\s]/u.test(alphabetOption)) {
      throw new ValidationError('alphabet must not contain whitespace or control characters', 'alphabet');
    }
    const exclude = options.exclude ?? '';
    if (typeof exclude !== 'string') throw new ValidationError('exclude must be a string of characters', 'exclude');
    const excluded = new Set(Array.from(exclude));
    const alphabet = distinct(alphabetOption).filter((char) => !excluded.has(char));
    if (alphabet.length < MIN_DISTINCT_CHARACTERS) {
      throw new ValidationError(
        `alphabet must have at least ${MIN_DISTINCT_CHARACTERS} distinct characters after exclude; it has ${alphabet.length}`,
        options.exclude === undefined ? 'alphabet' : 'exclude',
      );
    }

    const requireEachClass = options.require_each_class ?? this.profile.requireEachClass;
    if (typeof requireEachClass !== 'boolean') throw new ValidationError('require_each_class must be true or false', 'require_each_class');
    if (requireEachClass) {
      // Unreachable while MIN_LENGTH ≥ the four classes; keeps draw() sound if either changes.
      const classes = new Set(alphabet.map(classOf)).size;
      if (classes > length) {
        throw new ValidationError(`require_each_class needs at least ${classes} characters; length is ${length}`, 'require_each_class');
      }
    }

    const prefix = options.prefix;
    if (prefix !== undefined && (typeof prefix !== 'string' || !PREFIX.test(prefix))) {
      throw new ValidationError('prefix must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -', 'prefix');
    }

    return { length, alphabet, requireEachClass, prefix: prefix ?? '' };
  }

  private draw(policy: PasswordPolicy): string {
    const { alphabet, length } = policy;
    const pick = (from: readonly string[]): string => from[this.randomInt(from.length)] as string;
    const chars = Array.from({ length }, () => pick(alphabet));
    if (!policy.requireEachClass) return chars.join('');

    // One character of each class the alphabet has, at distinct random positions; the rest stay uniform.
    const byClass = new Map<CharacterClass, string[]>();
    for (const char of alphabet) {
      const members = byClass.get(classOf(char));
      if (members) members.push(char);
      else byClass.set(classOf(char), [char]);
    }
    const positions = Array.from({ length }, (_, index) => index);
    for (let i = length - 1; i > 0; i--) {
      const j = this.randomInt(i + 1);
      [positions[i], positions[j]] = [positions[j] as number, positions[i] as number];
    }
    [...byClass.values()].forEach((members, index) => {
      chars[positions[index] as number] = pick(members);
    });
    return chars.join('');
  }
}

import { PostgresRotator } from '../adapters/postgres/postgres-rotator.js';
import { ValidationError } from '../domain/errors.js';
import { PasswordRotator } from '../domain/rotation/password-rotator.js';
import type { Rotator } from '../domain/ports/rotation.js';

/** Every rotator a rotation schedule may name, by name. */
export const createRotators = (): Map<string, Rotator> =>
  new Map<string, Rotator>([PasswordRotator.password(), PasswordRotator.apiKey(), new PostgresRotator()].map((rotator) => [rotator.name, rotator]));

const defaultRotators = createRotators();

/** The rotator called `name`; throws ValidationError for a name no rotator has. */
export const rotatorFor = (name: string, rotators: ReadonlyMap<string, Rotator> = defaultRotators): Rotator => {
  const rotator = rotators.get(name);
  if (!rotator) throw new ValidationError(`unknown rotator "${name}"; expected one of ${[...rotators.keys()].join(', ')}`, 'rotator');
  return rotator;
};

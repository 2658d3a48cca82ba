import type { EgressPolicy } from '../adapters/http/egress-guard.js';
import type { VaultConfig } from '../config.js';
import { egressPolicyOf } from './egress.js';
import { PostgresRotator } from '../adapters/postgres/postgres-rotator.js';
import { ValidationError } from '../domain/errors.js';
import { PasswordRotator } from '../domain/rotation/password-rotator.js';
import type { Rotator } from '../domain/ports/rotation.js';

/** Every rotator a rotation schedule may name, by name; `egress` says where the postgresql rotator may connect (nowhere private by default). */
export const createRotators = (egress?: EgressPolicy): Map<string, Rotator> =>
  new Map<string, Rotator>([PasswordRotator.password(), PasswordRotator.apiKey(), new PostgresRotator({ egress })].map((rotator) => [rotator.name, rotator]));

/** The rotators a deployment runs: the postgresql rotator connects only where the egress allowlist lets it. */
export const rotatorsFor = (config: Pick<VaultConfig, 'egressAllowlist'>): Map<string, Rotator> => createRotators(egressPolicyOf(config));

const defaultRotators = createRotators();

/** The rotator called `name`; throws ValidationError for a name no rotator has. */
export const rotatorFor = (name: string, rotators: ReadonlyMap<string, Rotator> = defaultRotators): Rotator => {
  const rotator = rotators.get(name);
  if (!rotator) throw new ValidationError(`unknown rotator "${name}"; expected one of ${[...rotators.keys()].join(', ')}`, 'rotator');
  return rotator;
};

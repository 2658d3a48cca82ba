// Role statements as templates: `{{name}}` becomes a quoted identifier,
// `{{password}}` and `{{expiration}}` quoted literals, each through the
// database driver's own escaping; nothing from a request is ever pasted in.
import { MAX_STATEMENT_LENGTH, MAX_STATEMENTS, type RoleStatements } from './dynamic.js';
import { ValidationError } from '../errors.js';

export const PLACEHOLDERS = ['name', 'password', 'expiration'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];
export type StatementKind = keyof RoleStatements;

/** Which placeholders each kind of statement may use, and which it must. */
const RULES: Readonly<Record<StatementKind, { allowed: readonly Placeholder[]; required: readonly Placeholder[] }>> = {
  creation: { allowed: ['name', 'password', 'expiration'], required: ['name', 'password'] },
  revocation: { allowed: ['name'], required: ['name'] },
  renewal: { allowed: ['name', 'expiration'], required: ['name'] },
  rollback: { allowed: ['name'], required: ['name'] },
};

/** What a role gets when it names no revocation, renewal or rollback statements. */
export const DEFAULT_STATEMENTS: Omit<RoleStatements, 'creation'> = {
  revocation: ['DROP OWNED BY {{name}}', 'DROP ROLE IF EXISTS {{name}}'],
  renewal: ['ALTER ROLE {{name}} VALID UNTIL {{expiration}}'],
  rollback: ['DROP OWNED BY {{name}}', 'DROP ROLE IF EXISTS {{name}}'],
};

const TOKEN = /\{\{\s*([A-Za-z_]*)\s*\}\}/g;

const fieldOf = (kind: StatementKind): string => `${kind}_statements`;

const validateOne = (kind: StatementKind, statement: string, index: number): Set<Placeholder> => {
  const field = fieldOf(kind);
  if (statement.trim() === '') throw new ValidationError(`${field}[${index}] is empty`, field);
  if (statement.length > MAX_STATEMENT_LENGTH) throw new ValidationError(`${field}[${index}] is longer than ${MAX_STATEMENT_LENGTH} characters`, field);
  const used = new Set<Placeholder>();
  for (const match of statement.matchAll(TOKEN)) {
    const name = match[1] as Placeholder;
    if (!PLACEHOLDERS.includes(name))
      throw new ValidationError(`${field}[${index}] uses unknown placeholder {{${match[1]}}}; known: {{name}}, {{password}}, {{expiration}}`, field);
    if (!RULES[kind].allowed.includes(name)) throw new ValidationError(`${field}[${index}] may not use {{${name}}}`, field);
    const before = statement[(match.index ?? 0) - 1];
    const after = statement[(match.index ?? 0) + match[0].length];
    if (before === '"' || before === "'" || after === '"' || after === "'") {
      throw new ValidationError(`${field}[${index}]: write {{${name}}} without quotes; it is substituted already quoted`, field);
    }
    used.add(name);
  }
  if (/\{\{|\}\}/.test(statement.replace(TOKEN, ''))) throw new ValidationError(`${field}[${index}] has an unbalanced {{ or }}`, field);
  return used;
};

/** Checks one kind's statements; returns them, or the defaults when none are given (creation has none). */
export const validateStatements = (kind: StatementKind, statements: readonly string[] | undefined): readonly string[] => {
  const field = fieldOf(kind);
  if (!statements || statements.length === 0) {
    if (kind === 'creation') throw new ValidationError('creation_statements must hold at least one statement', field);
    return DEFAULT_STATEMENTS[kind];
  }
  if (statements.length > MAX_STATEMENTS) throw new ValidationError(`${field} may hold at most ${MAX_STATEMENTS} statements`, field);
  const used = new Set<Placeholder>();
  statements.forEach((statement, index) => {
    for (const name of validateOne(kind, statement, index)) used.add(name);
  });
  const missing = RULES[kind].required.filter((name) => !used.has(name));
  if (missing.length > 0) throw new ValidationError(`${field} must use ${missing.map((name) => `{{${name}}}`).join(' and ')}`, field);
  return statements;
};

export const validateRoleStatements = (input: Partial<Record<StatementKind, readonly string[]>>): RoleStatements => ({
  creation: validateStatements('creation', input.creation),
  revocation: validateStatements('revocation', input.revocation),
  renewal: validateStatements('renewal', input.renewal),
  rollback: validateStatements('rollback', input.rollback),
});

export interface Escapers {
  readonly identifier: (value: string) => string;
  readonly literal: (value: string) => string;
}

/** The values a rendering substitutes; `password` is what the database should store (a SCRAM verifier). */
export type TemplateValues = Partial<Record<Placeholder, string>>;

/** Renders one validated statement: identifiers and literals quoted by `quote`, never pasted. */
export const renderStatement = (statement: string, values: TemplateValues, quote: Escapers): string =>
  statement.replace(TOKEN, (_whole, raw: string) => {
    const name = raw as Placeholder;
    const value = values[name];
    if (value === undefined) throw new ValidationError(`no value for {{${name}}}`);
    return name === 'name' ? quote.identifier(value) : quote.literal(value);
  });

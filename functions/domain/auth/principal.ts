import type { TokenRecord } from '../ports/auth.js';

/** Who is calling: the verified token and what it carries. */
export interface Principal {
  readonly tenantId: string;
  readonly identityId: string;
  readonly policies: readonly string[];
  readonly token: TokenRecord;
}

export const DEFAULT_TENANT = 'default';
export const ROOT_IDENTITY = 'sa:root';
/** Built in to every tenant: every capability on every path. */
export const ADMIN_POLICY = 'admin';

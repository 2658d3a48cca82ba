import { ValidationError } from '../../domain/errors.js';

// A list's page cursor: the last sort key shown, base64url-encoded, so a client
// passes it back opaque and a repository resumes after exactly that item.

export const encodeSortKeyCursor = (sk: string): string => Buffer.from(sk, 'utf8').toString('base64url');

/** The sort key of a cursor the vault wrote itself (a rotation's progress), unchecked. */
export const sortKeyOf = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

/** The sort key a cursor carries; a cursor that is not one this listing handed out is a 400 naming it. */
export const decodeSortKeyCursor = (cursor: string, belongs: (sk: string) => boolean): string => {
  const sk = /^[A-Za-z0-9_-]{1,400}$/.test(cursor) ? sortKeyOf(cursor) : '';
  if (!belongs(sk)) throw new ValidationError('cursor is invalid', 'cursor');
  return sk;
};

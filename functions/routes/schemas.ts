// Building blocks the route groups' schemas share: query parameters arrive
// as strings, so numbers and flags are parsed here, once. Every group's
// schemas import this module, so the English messages their 400s quote are
// configured before the first of them parses anything.
import * as z from 'zod/mini';
import '../domain/zod-english.js';

/** A positive decimal integer query parameter, e.g. `limit=50`. */
export const positiveIntegerQuery = (max = Number.MAX_SAFE_INTEGER) =>
  z.optional(
    z.pipe(
      z.pipe(z.string().check(z.regex(/^[1-9]\d{0,15}$/, `must be an integer between 1 and ${max}`)), z.transform(Number)),
      z.number().check(z.lte(max, `must be an integer between 1 and ${max}`)),
    ),
  );

/** `true` or `false`, nothing else. */
export const booleanQuery = () =>
  z.optional(
    z.pipe(
      z.enum(['true', 'false'], { error: 'must be true or false' }),
      z.transform((flag) => flag === 'true'),
    ),
  );

/** An optional body field; null counts as absent, as it always has. */
export const optional = <T extends z.ZodMiniType>(schema: T) => z.nullish(schema);

export const secretPathParams = z.strictObject({ path: z.string().check(z.minLength(1)) });
export const idParams = z.strictObject({ id: z.string().check(z.minLength(1)) });

export const timestamp = z.string().check(z.describe('ISO 8601 instant'));
export const nullableTimestamp = z.nullable(timestamp);

/** The cursor and its page: every list answer ends with `next_cursor`. */
export const nextCursor = z.nullable(z.string()).check(z.describe('pass as cursor for the next page; null on the last'));

/** application/problem+json (RFC 9457), as functions/http/problem.ts writes it. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().check(z.gte(400), z.lte(599)),
    detail: z.optional(z.string()),
    request_id: z.string(),
    field: z.optional(z.string()),
    current_version: z.optional(z.int()),
    category: z.optional(z.string()),
    limit: z.optional(z.int()),
  })
  .check(z.meta({ id: 'Problem' }));

// Building blocks the route groups' schemas share: query parameters arrive
// as strings, so numbers and flags are parsed here, once.
import * as z from 'zod';

/** A positive decimal integer query parameter, e.g. `limit=50`. */
export const positiveIntegerQuery = (max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^[1-9]\d{0,15}$/, `must be an integer between 1 and ${max}`)
    .transform(Number)
    .pipe(z.number().max(max, `must be an integer between 1 and ${max}`))
    .optional();

/** `true` or `false`, nothing else. */
export const booleanQuery = () =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .transform((flag) => flag === 'true')
    .optional();

/** An optional body field; null counts as absent, as it always has. */
export const optional = <T extends z.ZodType>(schema: T) => schema.nullish();

export const secretPathParams = z.strictObject({ path: z.string().min(1) });
export const idParams = z.strictObject({ id: z.string().min(1) });

export const timestamp = z.string().describe('ISO 8601 instant');
export const nullableTimestamp = timestamp.nullable();

/** The cursor and its page: every list answer ends with `next_cursor`. */
export const nextCursor = z.string().nullable().describe('pass as cursor for the next page; null on the last');

/** application/problem+json (RFC 9457), as functions/http/problem.ts writes it. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string().optional(),
    request_id: z.string(),
    field: z.string().optional(),
    current_version: z.int().optional(),
    category: z.string().optional(),
    limit: z.int().optional(),
  })
  .meta({ id: 'Problem' });

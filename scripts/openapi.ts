// Writes docs/openapi.json: the API described from the route table, the same
// document GET /v1/openapi.json serves. A test fails when the committed file
// is stale, so run `npm run openapi` after changing a route or a schema.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument } from '../functions/routes/openapi/openapi-document.js';
import { loadApiRoutes } from '../functions/routes/route-table.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
export const OPENAPI_FILE = join(ROOT, 'docs', 'openapi.json');

/** The document as the file holds it: two-space JSON and a final newline. */
export const renderOpenApi = async (): Promise<string> => `${JSON.stringify(buildOpenApiDocument(await loadApiRoutes()), null, 2)}\n`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await writeFile(OPENAPI_FILE, await renderOpenApi());
  console.log(`wrote ${OPENAPI_FILE}`);
}

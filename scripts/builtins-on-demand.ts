// An esbuild plugin for the Lambda bundles: each import statement of a Node.js
// builtin (`import { inspect } from 'util'`, in our code or a dependency's)
// reads just the exports it names, from process.getBuiltinModule.
//
// Why: an ES module import of a builtin makes Node build that builtin's module
// namespace, which reads every export, and some exports are getters that load
// more of Node. On Node 24, after what the AWS SDK loads anyway, node:util's
// namespace (imported by OpenTelemetry's core) loads parse_args, diff and
// worker_threads, about 4 ms: a cold start paid for modules no code of it
// calls. Here each builtin becomes a module of the bundle whose exports are
// pure reads of process.getBuiltinModule(id), so the exports nobody uses are
// dropped at build time and never read. What is used is still read when the
// module is evaluated: middy's ReadableStream still loads web streams.
import { createRequire, isBuiltin } from 'node:module';
import type { Plugin } from 'esbuild';

const NAMESPACE = 'builtin-on-demand';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * The module text standing in for builtin `id` (e.g. `node:util`): its default export is the builtin
 * itself. `names` are the build's Node's exports: an import of one only a later Node has fails the
 * build, and one the Lambda runtime's Node lacks fails at load, as the ES module import it replaces
 * would, instead of reading as undefined.
 */
export const builtinModuleText = (id: string, names: readonly string[]): string =>
  [
    `const $builtin = process.getBuiltinModule(${JSON.stringify(id)});`,
    `const $export = (name) => { if (!(name in $builtin)) throw new SyntaxError(\`${id} has no export \${name} on Node \${process.version}\`); return $builtin[name]; };`,
    'export default $builtin;',
    ...names
      .filter((name) => IDENTIFIER.test(name) && name !== 'default' && !name.startsWith('$'))
      .map((name) => `export const ${name} = /* @__PURE__ */ $export(${JSON.stringify(name)});`),
  ].join('\n');

export const builtinsOnDemand = (): Plugin => ({
  name: 'builtins-on-demand',
  setup(build) {
    const require = createRequire(import.meta.url);
    // Import statements only: a require() of a builtin builds no namespace, and a module both imported and
    // required would be wrapped by esbuild with every export kept, read at once.
    build.onResolve({ filter: /^(node:)?[a-z_][a-z0-9_/]*$/ }, ({ path, kind }) =>
      kind === 'import-statement' && isBuiltin(path) ? { path: path.startsWith('node:') ? path : `node:${path}`, namespace: NAMESPACE } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, ({ path }) => ({
      // The names this Node (the build's) exports: one the code imports but the build's Node lacks fails the build.
      contents: builtinModuleText(path, Object.keys(require(path) as object)),
      loader: 'js',
    }));
  },
});

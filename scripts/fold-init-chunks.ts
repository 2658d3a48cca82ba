// A cold start pays for each ES module it loads, not only for its bytes: Node
// resolves, reads, compiles and links every one (about 0.2 ms each on Node 24).
// esbuild's code splitting cuts the code an entry loads at init into one chunk
// per set of lazy entries sharing it, 30 files for the api. This second pass
// folds those chunks back into the entry; the lazily imported chunks stay
// apart and untouched, and each folded chunk they import becomes a one-line
// module re-exporting its bindings from the entry, so there is still one
// instance of every module.
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';

type Outputs = Metafile['outputs'];

/** Each output by absolute path. */
const byPath = (outputs: Outputs): Map<string, Outputs[string]> => new Map(Object.entries(outputs).map(([file, output]) => [resolve(file), output]));

/** The outputs `entry` imports statically, directly or through each other, without `entry` itself. */
const staticImportsOf = (outputs: Map<string, Outputs[string]>, entry: string): Set<string> => {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const imported of outputs.get(file)?.imports ?? []) if (imported.kind === 'import-statement' && !imported.external) visit(resolve(imported.path));
  };
  visit(entry);
  seen.delete(entry);
  return seen;
};

/** How a module in `fromDir` names `file`: a relative specifier, never a bare one. */
const specifier = (fromDir: string, file: string): string => {
  const path = relative(fromDir, file);
  return path.startsWith('.') ? path : `./${path}`;
};

/** `export { local as exported, … } from '<from>';` */
const reExport = (names: [local: string, exported: string][], from: string): string =>
  `export { ${names.map(([local, exported]) => `${local} as ${exported}`).join(', ')} } from '${from}';`;

/** Bytes of the modules in `chunks`: read only when a dynamic import() first needs them. */
const lazyBytesIn = async (chunks: string): Promise<number> => {
  const names = (await readdir(chunks).catch(() => [] as string[])).filter((name) => name.endsWith('.mjs'));
  const sizes = await Promise.all(names.map(async (name) => (await stat(join(chunks, name))).size));
  return sizes.reduce((sum, size) => sum + size, 0);
};

/** What a folded bundle's cold start reads (the entry), and the rest (lazy chunks and re-export modules). */
export interface FoldedSizes {
  readonly atInit: number;
  readonly lazy: number;
}

/** The esbuild options the second pass keeps from the first, and the first pass's banner (once in the folded entry, not once per chunk). */
export type FoldOptions = Pick<BuildOptions, 'target' | 'minify' | 'legalComments'> & { readonly banner: string };

/**
 * Folds the chunks `<dir>/index.mjs` imports statically into it, given the
 * first pass's metafile (which must have linked source maps, so the folded
 * entry's map still points at the sources).
 */
export const foldInitChunks = async (dir: string, firstPass: Outputs, options: FoldOptions): Promise<FoldedSizes> => {
  const entry = join(dir, 'index.mjs');
  const outputs = byPath(firstPass);
  const folded = staticImportsOf(outputs, entry);
  if (folded.size === 0) return { atInit: outputs.get(entry)!.bytes, lazy: await lazyBytesIn(join(dir, 'chunks')) };
  const lazy = [...outputs.keys()].filter((file) => file.endsWith('.mjs') && file !== entry && !folded.has(file));
  // The folded chunks a lazy chunk imports, statically or with import(): the entry exports their bindings under names of their own.
  const imported = [...folded].filter((chunk) => lazy.some((file) => outputs.get(file)!.imports.some((i) => !i.external && resolve(i.path) === chunk)));
  const alias = (chunk: number, name: string) => `$chunk${chunk}$${name}`;
  const namesOf = (chunk: string) => outputs.get(chunk)!.exports;
  const linker = [
    `export * from './index.mjs';`,
    ...(outputs.get(entry)!.exports.includes('default') ? [`export { default } from './index.mjs';`] : []),
    ...imported.map((chunk, i) =>
      reExport(
        namesOf(chunk).map((name) => [name, alias(i, name)]),
        specifier(dir, chunk),
      ),
    ),
  ].join('\n');
  const linkerFile = join(dir, 'linker.mjs');
  await writeFile(linkerFile, linker);
  const { banner, ...shared } = options;
  const { metafile } = await build({
    ...shared,
    banner: { js: banner },
    entryPoints: [linkerFile],
    outfile: entry,
    allowOverwrite: true,
    bundle: true,
    format: 'esm',
    platform: 'node',
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
    plugins: [
      {
        name: 'lazy-chunks-stay-apart',
        setup: (pass) => {
          pass.onResolve({ filter: /.*/ }, (args) => {
            if (args.kind === 'entry-point') return undefined;
            // Packages and node: builtins stay external, as in the first pass.
            if (!args.path.startsWith('.')) return { path: args.path, external: true };
            const file = resolve(args.resolveDir, args.path);
            if (file === entry || folded.has(file)) return undefined;
            // A lazy chunk: imported from the entry's directory now.
            return { path: specifier(dir, file), external: true };
          });
          // Each folded module's copy of the banner becomes as many spaces: its source map still lines up, and the entry runs the banner once.
          pass.onLoad({ filter: /\.mjs$/ }, async (args) => {
            const text = await readFile(args.path, 'utf8');
            return {
              contents: text.startsWith(banner) ? ' '.repeat(banner.length) + text.slice(banner.length) : text,
              loader: 'js',
              resolveDir: dirname(args.path),
            };
          });
        },
      },
    ],
  });
  await rm(linkerFile);
  for (const chunk of folded) await Promise.all([rm(chunk), rm(`${chunk}.map`, { force: true })]);
  await Promise.all(
    imported.map((chunk, i) =>
      writeFile(
        chunk,
        `${reExport(
          namesOf(chunk).map((name) => [alias(i, name), name]),
          specifier(dirname(chunk), entry),
        )}\n`,
      ),
    ),
  );
  return { atInit: byPath(metafile.outputs).get(entry)!.bytes, lazy: await lazyBytesIn(join(dir, 'chunks')) };
};

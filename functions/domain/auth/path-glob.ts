// Policy path globs: `*` matches within one path segment, `**` matches any
// number of whole segments, everything else is literal. `app/**` covers
// everything below `app`; `**` alone covers every path.

const compiled = new Map<string, RegExp>();

const escapeRegExp = (text: string): string => text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');

const segmentPattern = (segment: string): string => segment.split('*').map(escapeRegExp).join('[^/]*');

const compile = (glob: string): RegExp => {
  const segments = glob.split('/');
  let pattern = '';
  segments.forEach((segment, index) => {
    const first = index === 0;
    const last = index === segments.length - 1;
    if (segment === '**') {
      if (first && last) pattern += '.*';
      else if (last) pattern += '/.+';
      else pattern += first ? '(?:.+/)?' : '/(?:.+/)?';
      return;
    }
    const previousWasDeep = !first && segments[index - 1] === '**';
    pattern += (first || previousWasDeep ? '' : '/') + segmentPattern(segment);
  });
  return new RegExp(`^${pattern}$`);
};

export const globMatches = (glob: string, path: string): boolean => {
  let regex = compiled.get(glob);
  if (!regex) {
    regex = compile(glob);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(glob, regex);
  }
  return regex.test(path);
};

const GLOB_PATTERN = /^(\*\*|[A-Za-z0-9_.*-]+)(\/(\*\*|[A-Za-z0-9_.*-]+))*$/;

/** What a policy rule's path may look like: secret-path characters and globs, no . or .. segments. */
export const isValidGlob = (glob: string): boolean =>
  glob.length <= 512 && GLOB_PATTERN.test(glob) && !glob.split('/').some((segment) => segment === '.' || segment === '..');

/**
 * Files that live beside change files but are never changes, whatever runner
 * would claim their names. A change folder is often a package of its own
 * (`package.json` with `"type": "module"` so `.js` changes are ES modules, a
 * `tsconfig.json` for editor checks, a README), and runners see a name only
 * after this list, so `package.json` is not read as a JSON template nor
 * `eslint.config.js` imported as a change. Names `delta create` writes
 * (`<timestamp>_<letters, digits, _ ->.<ext>`) never match an entry.
 * The README's "Files that are never changes" table mirrors this list.
 */
export const IGNORED_FILES = [
  { pattern: /^\./, kind: 'dotfiles', examples: '.eslintrc.json, .DS_Store, .gitkeep' },
  {
    pattern: /^(package\.json|package-lock\.json|npm-shrinkwrap\.json|pnpm-lock\.yaml|pnpm-workspace\.yaml|yarn\.lock|bun\.lockb?)$/,
    kind: 'package manifests and lockfiles',
    examples: 'package.json, package-lock.json, pnpm-lock.yaml',
  },
  { pattern: /^[tj]sconfig(\..+)?\.json$/, kind: 'TypeScript and JavaScript project files', examples: 'tsconfig.json, tsconfig.build.json, jsconfig.json' },
  // Starting with a letter: a change id starts with its timestamp.
  { pattern: /^[A-Za-z][^.]*\.config\.[^.]+$/, kind: 'tool configuration files', examples: 'eslint.config.js, vitest.config.ts, delta.config.ts' },
  { pattern: /\.d\.[cm]?ts$/, kind: 'TypeScript declarations', examples: '.d.ts, .d.mts, .d.cts' },
  { pattern: /\.map$/, kind: 'source maps', examples: '.js.map, .ts.map' },
  { pattern: /\.(test|spec)\.[cm]?[jt]sx?$/, kind: 'test files', examples: '001_users.test.ts, 001_users.spec.js' },
  { pattern: /^(readme|license|licence|changelog)(\..+)?$/i, kind: 'README, LICENSE and CHANGELOG files', examples: 'README.md, LICENSE' },
] as const;

/** The kind of non-change file a name in a change folder is (`'dotfiles'`), or undefined when it may be a change. */
export function ignoredBecause(fileName: string): string | undefined {
  return IGNORED_FILES.find(({ pattern }) => pattern.test(fileName))?.kind;
}

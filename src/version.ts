import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** delta's own version, read once from package.json (shipped with the package). */
export function toolVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown };
    cached = typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  }
  return cached;
}

/** The README shipped inside the package (the `files` of package.json): where `--help` sends a user. */
export function readmePath(): string {
  return fileURLToPath(new URL('../README.md', import.meta.url));
}

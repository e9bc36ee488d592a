import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { redact } from '../config/redact.js';
import { SEARCH_PLACES } from '../config/search-places.js';
import type { IdConvention } from '../loader/id-convention.js';
import { detectIdConvention } from '../loader/id-convention.js';
import { MongoClient } from 'mongodb';
import type { MigrateMongoConfig } from './migrate-mongo-project.js';

/**
 * Whether a URL may carry a password, as the driver itself parses it (a password may hold
 * characters no pattern over the text can be sure of: `(`, `"`, `@`). A URL the driver cannot
 * parse is treated as holding one: copying it could copy a secret.
 */
function mayHoldPassword(url: string): boolean {
  try {
    const password = new MongoClient(url).options.credentials?.password;
    return password !== undefined && password !== '';
  } catch {
    return true;
  }
}

/** The file the import writes: `.mjs` is an ES module whatever the project's package.json says. */
export const GENERATED_CONFIG = 'delta.config.mjs';

// The names delta's configuration search tries, in its order: the first that exists wins, so a
// file earlier in the list would hide the generated one (package.json counts only with a "delta" key).
const DELTA_CONFIG_FILES = SEARCH_PLACES.filter((name) => name !== 'package.json');

/** The delta configuration that `dir` already has, as delta would find it first; undefined when none. */
export function existingDeltaConfig(dir: string): string | undefined {
  const pkg = join(dir, 'package.json');
  if (existsSync(pkg)) {
    try {
      const parsed = JSON.parse(readFileSync(pkg, 'utf8')) as unknown;
      if (typeof parsed === 'object' && parsed !== null && 'delta' in parsed) return 'package.json ("delta" key)';
    } catch {
      // An unreadable package.json holds no delta configuration we could hide.
    }
  }
  return DELTA_CONFIG_FILES.find((name) => existsSync(join(dir, name)));
}

export interface GeneratedConfig {
  /** Absolute path of the file. */
  readonly file: string;
  readonly content: string;
  /** Whether migrate-mongo's URL went into the file; when not, why (the file then says to set DELTA_URI). */
  readonly uri: { readonly written: true } | { readonly written: false; readonly reason: string };
}

/**
 * The `delta.config.mjs` equivalent to a migrate-mongo configuration:
 * `db` and `path` (relative to the file, as delta reads it). The URL goes in
 * only when it is a literal in migrate-mongo's file and carries no secret;
 * otherwise the file leaves it to DELTA_URI / MONGODB_URI and says why, so a
 * password or a value of the importer's environment never lands in a file
 * delta wrote.
 */
export function generateDeltaConfig(source: MigrateMongoConfig, migrationsPath: string, now: Date, naming: IdConvention = detectIdConvention([]), keepChangelog = false): GeneratedConfig {
  const dir = dirname(source.file);
  const file = join(dir, GENERATED_CONFIG);
  const url = source.url;
  const reason =
    url === undefined
      ? `${basename(source.file)} sets no mongodb.url`
      : mayHoldPassword(url)
        ? `the URL in ${basename(source.file)} holds a password, which delta does not copy into a file (${redact(url)})`
        : !source.urlIsLiteral
          ? `${basename(source.file)} computes its URL (from the environment?), and this file must not freeze the value it had during the import`
          : undefined;

  let path = relative(dir, migrationsPath).split(sep).join('/');
  if (!isAbsolute(path) && !path.startsWith('.')) path = `./${path}`;
  const lines = [
    `// delta configuration, written by \`delta import migrate-mongo\` from ${basename(source.file)} on ${now.toISOString()}.`,
    keepChangelog
      ? `// The migrate-mongo changelog was copied into delta's history; delta's commits and rollbacks of ${source.migrationFileExtension} files keep it in step (migrateMongo below).`
      : "// The migrate-mongo changelog was copied into delta's history; delta never reads or writes the changelog.",
    '// Command-line flags and DELTA_URI (or MONGODB_URI), DELTA_DB and DELTA_PATH win over this file.',
    'export default {',
    ...(reason === undefined ? [`  uri: ${JSON.stringify(url)},`] : [`  // uri: not copied: ${reason}.`, '  // Set DELTA_URI (or MONGODB_URI) to the connection string.']),
    ...(source.databaseName === undefined ? [] : [`  db: ${JSON.stringify(source.databaseName)},`]),
    `  path: ${JSON.stringify(path)},`,
    `  // How delta create names new changes: ${naming.reason}.`,
    `  create: { id: ${JSON.stringify(naming.pattern)} },`,
    ...(keepChangelog
      ? [
          '  // For teammates still running migrate-mongo up: remove once nobody does.',
          `  migrateMongo: { changelog: ${JSON.stringify(source.changelogCollectionName)}, fileExtension: ${JSON.stringify(source.migrationFileExtension)}, useFileHash: ${String(source.useFileHash)} },`,
        ]
      : []),
    '};',
    '',
  ];
  return { file, content: lines.join('\n'), uri: reason === undefined ? { written: true } : { written: false, reason } };
}

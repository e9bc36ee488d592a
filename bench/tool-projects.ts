// The projects the side-by-side benchmark runs: the same N one-insert changes written as delta
// change files (ESM JavaScript, or TypeScript) and as migrate-mongo migrations (CommonJS), each set
// in a temporary folder of its own laid out the way a user's project is.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HISTORY_PROJECTION } from '../src/tracker/records.js';

export const DELTA_BIN = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
/** migrate-mongo exports no `./package.json` or bin path, so its CLI is found by location. */
export const MIGRATE_MONGO_BIN = fileURLToPath(new URL('../node_modules/migrate-mongo/bin/migrate-mongo.js', import.meta.url));
/** A bare script that does the least any Node migration tool must do to find nothing to do (see its header). */
export const FLOOR_SCRIPT = fileURLToPath(new URL('./floor-noop.cjs', import.meta.url));
/** The bare script that applies changes as `--transaction never` must (bench/floor-never.cjs). */
export const NEVER_FLOOR_SCRIPT = fileURLToPath(new URL('./floor-never.cjs', import.meta.url));
/** The fields delta reads of each record (its history projection), file first: the one the floor script compares. */
export const HISTORY_FIELDS = ['file', ...Object.keys(HISTORY_PROJECTION).filter((field) => field !== 'file')];

export type DeltaKind = 'js' | 'ts';

export interface ChangeFile {
  readonly name: string;
  readonly source: string;
}

export interface Project {
  readonly dir: string;
  readonly files: readonly ChangeFile[];
  cleanup(): void;
}

export interface MigrateMongoProject extends Project {
  /** Rewrites migrate-mongo-config.js to point at `url` (no database in it) and `databaseName`. */
  configure(url: string, databaseName: string): void;
}

/** `000042_item.js`: zero-padded so the file names sort in creation order for both tools. */
export function changeFileName(i: number, extension: string): string {
  return `${String(i).padStart(6, '0')}_item.${extension}`;
}

function deltaSource(kind: DeltaKind, i: number): string {
  if (kind === 'ts') {
    // `import type` disappears in tsx's transform, so mongo-delta need not be installed beside it.
    return `import type { ChangeContext } from 'mongo-delta';

export default {
  async commit({ db, session }: ChangeContext): Promise<void> {
    await db.collection<{ _id: number }>('items').insertOne({ _id: ${i} }, { session });
  },
  async rollback({ db, session }: ChangeContext): Promise<void> {
    await db.collection<{ _id: number }>('items').deleteOne({ _id: ${i} }, { session });
  },
};
`;
  }
  return `export default {
  async commit({ db, session }) {
    await db.collection('items').insertOne({ _id: ${i} }, { session });
  },
  async rollback({ db, session }) {
    await db.collection('items').deleteOne({ _id: ${i} }, { session });
  },
};
`;
}

function migrateMongoSource(i: number): string {
  return `module.exports = {
  async up(db) {
    await db.collection('items').insertOne({ _id: ${i} });
  },
  async down(db) {
    await db.collection('items').deleteOne({ _id: ${i} });
  },
};
`;
}

function makeProject(prefix: string, packageType: 'module' | 'commonjs', count: number, name: (i: number) => string, source: (i: number) => string): Project {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'bench-project', private: true, type: packageType }, null, 2)}\n`);
  mkdirSync(join(dir, 'migrations'));
  const files: ChangeFile[] = [];
  for (let i = 0; i < count; i++) {
    const file = { name: name(i), source: source(i) };
    writeFileSync(join(dir, 'migrations', file.name), file.source);
    files.push(file);
  }
  return { dir, files, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A delta project: package.json `{ type: module }` and `migrations/` with `count` changes. */
export function deltaProject(kind: DeltaKind, count: number): Project {
  return makeProject(
    `delta-bench-${kind}-`,
    'module',
    count,
    (i) => changeFileName(i, kind),
    (i) => deltaSource(kind, i),
  );
}

/** A migrate-mongo project: CommonJS, `migrations/` with `count` migrations, a config per run. */
export function migrateMongoProject(count: number): MigrateMongoProject {
  const project = makeProject('mm-bench-', 'commonjs', count, (i) => changeFileName(i, 'js'), migrateMongoSource);
  return {
    ...project,
    configure(url, databaseName) {
      // migrate-mongo's own defaults otherwise: no lock collection (lockTtl 0), no file hash.
      const config = { mongodb: { url, databaseName, options: {} }, migrationsDir: 'migrations', changelogCollectionName: 'changelog', migrationFileExtension: '.js' };
      writeFileSync(join(project.dir, 'migrate-mongo-config.js'), `module.exports = ${JSON.stringify(config, null, 2)};\n`);
    },
  };
}

// A migrate-mongo project as the import tests build it, and the real migrate-mongo CLI run on it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EJSON } from 'bson';
import type { Document } from 'mongodb';
import { secretsOf } from '../../src/config/redact.js';
import { ROOT, runNode } from './cli.js';
import type { ServerFixture } from './server.js';
import { uniqueDbName } from './server.js';

const MIGRATE_MONGO = join(ROOT, 'node_modules/migrate-mongo/bin/migrate-mongo.js');

export const FILES = {
  '20240101090000-create_users.js': `module.exports = {
  async up(db) {
    await db.createCollection('users');
    await db.collection('users').insertMany([{ email: 'ada@example.com' }, { email: 'alan@example.com' }]);
  },
  async down(db) {
    await db.collection('users').drop();
  },
};
`,
  '20240102090000-users_email_index.js': `module.exports = {
  async up(db) {
    await db.collection('users').createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
  },
  async down(db) {
    await db.collection('users').dropIndex('email_unique');
  },
};
`,
  // Uses both of migrate-mongo's arguments, as its template does.
  '20240103090000-backfill_status.js': `module.exports = {
  async up(db, client) {
    if (typeof client.startSession !== 'function') throw new Error('client is not a MongoClient');
    await db.collection('users').updateMany({}, { $set: { status: 'active' } });
  },
  async down(db) {
    await db.collection('users').updateMany({}, { $unset: { status: '' } });
  },
};
`,
} as const;
export type FileName = keyof typeof FILES;
export const [FIRST, SECOND, THIRD] = Object.keys(FILES) as [FileName, FileName, FileName];
export const idOf = (file: string) => file.replace(/\.js$/, '');

export interface ProjectOptions {
  readonly files?: readonly FileName[];
  readonly config?: Record<string, unknown>;
  readonly url?: string;
}

/** A migrate-mongo project (its config in CommonJS with a literal URL) on a database of its own. */
export function migrateMongoProject(fixture: ServerFixture, prefix: string, options: ProjectOptions = {}) {
  const db = uniqueDbName(prefix);
  const url = options.url ?? fixture.uriFor(db);
  const config = {
    mongodb: { url, databaseName: db, options: {} },
    migrationsDir: 'migrations',
    changelogCollectionName: 'changelog',
    lockCollectionName: 'changelog_lock',
    lockTtl: 0,
    migrationFileExtension: '.js',
    useFileHash: false,
    moduleSystem: 'commonjs',
    ...options.config,
  };
  const p = fixture.project({ 'migrate-mongo-config.js': `// migrate-mongo configuration\nmodule.exports = ${JSON.stringify(config, null, 2)};\n` });
  for (const file of options.files ?? [FIRST, SECOND]) p.write(`migrations/${file}`, FILES[file]);
  // delta reads the URI from the generated config unless it holds a password (a real server's credentials).
  const env: Record<string, string> = secretsOf(url).length > 0 ? { DELTA_URI: url } : {};
  return { ...p, db, url, env };
}

/** Runs the real migrate-mongo CLI in `cwd`, as its users do. */
export function migrateMongo(args: readonly string[], cwd: string) {
  const env: Record<string, string> = { NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const key of ['PATH', 'HOME', 'TMPDIR', 'SYSTEMROOT']) if (process.env[key] !== undefined) env[key] = process.env[key] ?? '';
  return runNode([MIGRATE_MONGO, ...args], { cwd, env });
}

/** File name -> "PENDING" or the applied time, from migrate-mongo's status table. */
export async function migrateMongoStatus(cwd: string): Promise<Record<string, string>> {
  const result = await migrateMongo(['status'], cwd);
  assert.equal(result.code, 0, result.stderr);
  const rows: Record<string, string> = {};
  // eslint-disable-next-line no-control-regex
  for (const line of result.stdout.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const cells = line.split('│').map((cell) => cell.trim());
    if (cells[1]?.endsWith('.js') === true) rows[cells[1]] = cells.at(-3) ?? '';
  }
  return rows;
}

/** The changelog exactly as stored (canonical Extended JSON, natural order). */
export async function changelogOf(fixture: ServerFixture, db: string, collection = 'changelog'): Promise<string[]> {
  return (await fixture.client.db(db).collection(collection).find({}).toArray()).map((doc) => EJSON.stringify(doc, { relaxed: false }));
}

/** Writes changelog entries the way migrate-mongo's `up` does, without running it. */
export async function seedChangelog(fixture: ServerFixture, db: string, files: readonly string[], extra: Document = {}): Promise<void> {
  const migrationBlock = Date.now();
  await fixture.client
    .db(db)
    .collection('changelog')
    .insertMany(files.map((fileName, i) => ({ fileName, appliedAt: new Date(Date.UTC(2024, 0, 1 + i, 10)), migrationBlock, ...extra })));
}

export interface StatusJson {
  changes: { id: string; state: string; appliedAt?: string; file?: string }[];
  summary: Record<string, number>;
}

export function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  return lines[0] ?? '';
}

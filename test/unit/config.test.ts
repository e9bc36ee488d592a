import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { databaseFromUri, resolveConfig } from '../../src/config/index.js';
import { tempProject } from '../helpers/temp.js';

const projects: { cleanup(): void }[] = [];
function project(files: Record<string, string> = {}) {
  const p = tempProject(files);
  projects.push(p);
  return p;
}
after(() => projects.forEach((p) => p.cleanup()));

const FILE_URI = 'mongodb://file-host:27017/filedb';
const ENV_URI = 'mongodb://env-host:27017/envdb';
const FLAG_URI = 'mongodb://flag-host:27017/flagdb';

describe('configuration precedence: flags > environment > file > defaults', () => {
  it('uses defaults when nothing is given', async () => {
    const p = project();
    const config = await resolveConfig({ cwd: p.dir, env: {} });
    assert.equal(config.uri, undefined);
    assert.equal(config.db, undefined);
    assert.equal(config.path, join(p.dir, 'migrations'));
    assert.equal(config.transaction, 'auto');
    assert.equal(config.autoRollback, true);
    assert.deepEqual(config.lock, { waitMs: 30_000, leaseMs: 60_000, scope: undefined });
    assert.deepEqual(config.tracker.collections, { migrations: 'delta_migrations', audit: 'delta_audit', lock: 'delta_lock' });
    assert.ok(Object.isFrozen(config) && Object.isFrozen(config.tracker.collections));
  });

  it('reads a JSON config file found in cwd', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ uri: FILE_URI, path: 'changes', transaction: 'never', lock: { waitMs: 5 } }) });
    const config = await resolveConfig({ cwd: p.dir, env: {} });
    assert.equal(config.uri, FILE_URI);
    assert.equal(config.uriSource, 'delta.config.json');
    assert.equal(config.db, 'filedb', 'database taken from the URI path');
    assert.equal(config.path, join(p.dir, 'changes'));
    assert.equal(config.transaction, 'never');
    assert.equal(config.lock.waitMs, 5);
    assert.equal(config.configFile, join(p.dir, 'delta.config.json'));
  });

  it('reads a TypeScript config file through tsx', async () => {
    const p = project({ 'delta.config.ts': `const db: string = 'tsdb';\nexport default { uri: '${FILE_URI}', db, tracker: { collections: { migrations: 'my_history' } } };\n` });
    const config = await resolveConfig({ cwd: p.dir, env: {} });
    assert.equal(config.db, 'tsdb');
    assert.equal(config.tracker.collections.migrations, 'my_history');
  });

  it('reads package.json#delta and .deltarc.yaml', async () => {
    const a = project({ 'package.json': JSON.stringify({ name: 'x', delta: { db: 'pkgdb' } }) });
    assert.equal((await resolveConfig({ cwd: a.dir, env: {} })).db, 'pkgdb');
    const b = project({ '.deltarc.yaml': 'db: yamldb\ntransaction: always\n' });
    const config = await resolveConfig({ cwd: b.dir, env: {} });
    assert.equal(config.db, 'yamldb');
    assert.equal(config.transaction, 'always');
  });

  it('environment beats the file, flags beat the environment', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ uri: FILE_URI, db: 'filedb', path: 'file-path', tracker: { db: 'file-tracker' } }) });
    const env = { DELTA_URI: ENV_URI, DELTA_DB: 'envdb', DELTA_PATH: 'env-path', DELTA_TRACKER_DB: 'env-tracker', MIGRATIONS_DB_URI: 'mongodb://tracker-host/trk' };
    const fromEnv = await resolveConfig({ cwd: p.dir, env });
    assert.equal(fromEnv.uri, ENV_URI);
    assert.equal(fromEnv.uriSource, 'DELTA_URI');
    assert.equal(fromEnv.db, 'envdb');
    assert.equal(fromEnv.path, join(p.dir, 'env-path'));
    assert.equal(fromEnv.tracker.db, 'env-tracker');
    assert.equal(fromEnv.tracker.uri, 'mongodb://tracker-host/trk');

    const fromFlags = await resolveConfig({
      cwd: p.dir,
      env,
      flags: { uri: FLAG_URI, db: 'flagdb', path: '/abs/flag-path', trackerDb: 'flag-tracker', trackerUri: 'mongodb://flag-tracker-host/x', transaction: 'never', autoRollback: false, lockWaitMs: 0 },
    });
    assert.equal(fromFlags.uri, FLAG_URI);
    assert.equal(fromFlags.uriSource, '--uri');
    assert.equal(fromFlags.db, 'flagdb');
    assert.equal(fromFlags.path, '/abs/flag-path');
    assert.equal(fromFlags.tracker.db, 'flag-tracker');
    assert.equal(fromFlags.tracker.uri, 'mongodb://flag-tracker-host/x');
    assert.equal(fromFlags.transaction, 'never');
    assert.equal(fromFlags.autoRollback, false);
    assert.equal(fromFlags.lock.waitMs, 0);
  });

  it('MONGODB_URI is used when DELTA_URI is not set, and DELTA_URI wins over it', async () => {
    const p = project();
    assert.equal((await resolveConfig({ cwd: p.dir, env: { MONGODB_URI: ENV_URI } })).uriSource, 'MONGODB_URI');
    const both = await resolveConfig({ cwd: p.dir, env: { MONGODB_URI: FILE_URI, DELTA_URI: ENV_URI } });
    assert.equal(both.uri, ENV_URI);
  });

  it('an explicit --db wins over the database in the URI', async () => {
    const p = project();
    assert.equal((await resolveConfig({ cwd: p.dir, env: {}, flags: { uri: FLAG_URI, db: 'other' } })).db, 'other');
  });

  it('a path from a config file is relative to that file, from a flag to cwd', async () => {
    const p = project({ 'conf/delta.json': JSON.stringify({ path: 'changes' }) });
    const fromFile = await resolveConfig({ cwd: p.dir, env: {}, flags: { config: 'conf/delta.json' } });
    assert.equal(fromFile.path, join(p.dir, 'conf', 'changes'));
    const fromFlag = await resolveConfig({ cwd: p.dir, env: {}, flags: { config: 'conf/delta.json', path: 'mine' } });
    assert.equal(fromFlag.path, join(p.dir, 'mine'));
  });

  it('DELTA_CONFIG names the file; --config wins over it', async () => {
    const p = project({ 'a.json': JSON.stringify({ db: 'a' }), 'b.json': JSON.stringify({ db: 'b' }) });
    assert.equal((await resolveConfig({ cwd: p.dir, env: { DELTA_CONFIG: 'a.json' } })).db, 'a');
    assert.equal((await resolveConfig({ cwd: p.dir, env: { DELTA_CONFIG: 'a.json' }, flags: { config: 'b.json' } })).db, 'b');
  });

  it('empty environment variables count as unset', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ db: 'filedb' }) });
    assert.equal((await resolveConfig({ cwd: p.dir, env: { DELTA_DB: '' } })).db, 'filedb');
  });

  it('inline configuration (createDelta) replaces the file search', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ db: 'filedb' }) });
    assert.equal((await resolveConfig({ cwd: p.dir, env: {}, inline: { db: 'inline' } })).db, 'inline');
  });
});

describe('configuration errors name the key and the source', () => {
  const cases: [string, Record<string, string>, Parameters<typeof resolveConfig>[0], RegExp][] = [
    ['unknown key in a file', { 'delta.config.json': '{"ur": "x"}' }, {}, /^delta\.config\.json: unknown key 'ur'$/],
    ['unknown nested key', { 'delta.config.json': '{"tracker": {"colection": "x"}}' }, {}, /^delta\.config\.json: unknown key 'tracker\.colection'$/],
    ['wrong type', { 'delta.config.json': '{"tracker": {"collections": {"migrations": 5}}}' }, {}, /^delta\.config\.json: tracker\.collections\.migrations must be a string$/],
    ['wrong enum', { 'delta.config.json': '{"transaction": "sometimes"}' }, {}, /^delta\.config\.json: transaction must be one of "auto", "always", "never"$/],
    ['non-mongodb URI in a file', { 'delta.config.json': '{"uri": "postgres://x"}' }, {}, /^delta\.config\.json: uri must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string$/],
    ['non-mongodb URI in a flag', {}, { flags: { uri: 'http://x' } }, /^--uri must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string$/],
    ['non-mongodb URI in DELTA_URI', {}, { env: { DELTA_URI: 'mysql://x' } }, /^DELTA_URI must be a mongodb/],
    ['non-mongodb URI in MONGODB_URI (DELTA_URI unset)', {}, { env: { MONGODB_URI: 'redis://x' } }, /^MONGODB_URI must be a mongodb/],
    ['non-mongodb URI in MIGRATIONS_DB_URI', {}, { env: { MIGRATIONS_DB_URI: 'redis://x' } }, /^MIGRATIONS_DB_URI must be a mongodb/],
    ['bad database name in DELTA_DB', {}, { env: { DELTA_DB: 'my db' } }, /^DELTA_DB must be a database name/],
    ['bad transaction flag', {}, { flags: { transaction: 'maybe' } }, /^--transaction must be one of/],
    ['config file that does not parse', { 'delta.config.json': '{ "db": ' }, {}, /^delta\.config\.json: cannot be read/],
    ['TS config file with a syntax error', { 'delta.config.ts': 'export default { db: };' }, {}, /^delta\.config\.ts: cannot be read/],
    ['TS config file that throws while loaded', { 'delta.config.ts': "throw new Error('VAULT_TOKEN is not set');" }, {}, /^delta\.config\.ts: cannot be read: VAULT_TOKEN is not set$/],
    ['.deltarc.cjs that throws while loaded', { '.deltarc.cjs': "throw new Error('no secret');" }, {}, /^\.deltarc\.cjs: cannot be read: no secret$/],
    ['config that is not an object', { 'delta.config.json': '[1, 2]' }, {}, /^delta\.config\.json: the configuration must be an object$/],
    ['--config file that does not exist', {}, { flags: { config: 'nope.json' } }, /^--config: config file nope\.json does not exist$/],
    ['negative lock wait in a file', { 'delta.config.json': '{"lock": {"waitMs": -1}}' }, {}, /^delta\.config\.json: lock\.waitMs must be at least 0$/],
  ];
  for (const [name, files, options, pattern] of cases) {
    it(name, async () => {
      const p = project(files);
      await assert.rejects(resolveConfig({ env: {}, ...options, cwd: p.dir }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes('\n'), 'one line');
        return true;
      });
    });
  }
});

// The rule of issue #20 item 10: a config file written for development (`db: 'app'`) must not
// send the writes of `DELTA_URI=mongodb://host/prod_db` to database `app`.
describe("which database: --db/DELTA_DB > a flag or environment URI's database > the file's db > the file's URI", () => {
  const NO_DB_URI = 'mongodb://env-host:27017/?replicaSet=rs0';
  interface DatabaseCase {
    readonly name: string;
    readonly file: Record<string, unknown> | undefined;
    readonly env?: Record<string, string>;
    readonly flags?: { uri?: string; db?: string };
    readonly inline?: Record<string, unknown>;
    readonly db: string | undefined;
  }
  const FILE = { uri: FILE_URI, db: 'app' };
  const cases: readonly DatabaseCase[] = [
    { name: "the file alone: its db over its URI's", file: FILE, db: 'app' },
    { name: "the file alone without db: its URI's database", file: { uri: FILE_URI }, db: 'filedb' },
    { name: "--uri with a database beats the file's db", file: FILE, flags: { uri: FLAG_URI }, db: 'flagdb' },
    { name: "DELTA_URI with a database beats the file's db", file: FILE, env: { DELTA_URI: ENV_URI }, db: 'envdb' },
    { name: "MONGODB_URI with a database beats the file's db", file: FILE, env: { MONGODB_URI: ENV_URI }, db: 'envdb' },
    { name: "DELTA_URI without a database: the file's db applies", file: FILE, env: { DELTA_URI: NO_DB_URI }, db: 'app' },
    { name: "DELTA_URI without a database and no db in the file: the file URI's database does not (it went with its URI)", file: { uri: FILE_URI }, env: { DELTA_URI: NO_DB_URI }, db: undefined },
    { name: "--uri without a database beats DELTA_URI as a whole: the file's db applies", file: FILE, env: { DELTA_URI: ENV_URI }, flags: { uri: 'mongodb://flag-host:27017' }, db: 'app' },
    { name: "--db beats --uri's database, DELTA_URI's and the file's", file: FILE, env: { DELTA_URI: ENV_URI }, flags: { uri: FLAG_URI, db: 'explicit' }, db: 'explicit' },
    { name: "--db beats DELTA_URI's database", file: FILE, env: { DELTA_URI: ENV_URI }, flags: { db: 'explicit' }, db: 'explicit' },
    { name: "DELTA_DB beats --uri's database", file: FILE, env: { DELTA_DB: 'explicit' }, flags: { uri: FLAG_URI }, db: 'explicit' },
    { name: "DELTA_DB beats DELTA_URI's database", file: FILE, env: { DELTA_URI: ENV_URI, DELTA_DB: 'explicit' }, db: 'explicit' },
    { name: '--db beats DELTA_DB', file: FILE, env: { DELTA_DB: 'fromenv' }, flags: { db: 'explicit' }, db: 'explicit' },
    { name: "inline configuration (createDelta) ranks as a file: DELTA_URI's database wins", file: undefined, inline: { uri: FILE_URI, db: 'app' }, env: { DELTA_URI: ENV_URI }, db: 'envdb' },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${String(c.db)}`, async () => {
      const p = project(c.file === undefined ? {} : { 'delta.config.json': JSON.stringify(c.file) });
      const config = await resolveConfig({ cwd: p.dir, env: c.env ?? {}, flags: c.flags ?? {}, inline: c.inline });
      assert.equal(config.db, c.db);
    });
  }

  // A path that is there for authentication (`/admin`) beside a configured database: refused, not guessed.
  const conflicts: readonly [string, Record<string, unknown>, Parameters<typeof resolveConfig>[0], RegExp][] = [
    [
      "MONGODB_URI naming admin beside the file's db",
      FILE,
      { env: { MONGODB_URI: 'mongodb://u:pw@h/admin' } },
      /^MONGODB_URI names the admin database and delta\.config\.json sets "app": pass --db or set DELTA_DB to choose, or write \?authSource=admin in the connection string instead of \/admin$/,
    ],
    ["--uri naming local beside the file's db", FILE, { flags: { uri: 'mongodb://h/local' } }, /^--uri names the local database and delta\.config\.json sets "app"/],
    [
      'MIGRATIONS_DB_URI naming admin beside tracker.db',
      { tracker: { db: 'trk' } },
      { env: { MIGRATIONS_DB_URI: 'mongodb://h/admin' } },
      /^MIGRATIONS_DB_URI names the admin database and delta\.config\.json sets "trk": pass --tracker-db or set DELTA_TRACKER_DB to choose/,
    ],
  ];
  for (const [name, file, options, pattern] of conflicts) {
    it(`${name}: exit-2 error naming both`, async () => {
      const p = project({ 'delta.config.json': JSON.stringify(file) });
      await assert.rejects(resolveConfig({ env: {}, ...options, cwd: p.dir }), (error: unknown) => {
        assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
        assert.match(error.message, pattern);
        return true;
      });
    });
  }
  it('a system database in the URI is used when nothing else names one, or when --db settles it', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ uri: FILE_URI }) });
    assert.equal((await resolveConfig({ cwd: p.dir, env: { DELTA_URI: 'mongodb://h/admin' } })).db, 'admin');
    const q = project({ 'delta.config.json': JSON.stringify(FILE) });
    assert.equal((await resolveConfig({ cwd: q.dir, env: { DELTA_URI: 'mongodb://h/admin' }, flags: { db: 'app' } })).db, 'app');
    assert.equal((await resolveConfig({ cwd: q.dir, env: { DELTA_URI: 'mongodb://h/admin?x=1', DELTA_DB: 'app' } })).db, 'app');
  });

  const TRACKER_FILE = { uri: FILE_URI, db: 'app', tracker: { uri: 'mongodb://file-tracker-host/trk_file_uri', db: 'trk_file' } };
  const trackerCases: readonly (Omit<DatabaseCase, 'flags' | 'inline'> & { flags?: { trackerUri?: string; trackerDb?: string; uri?: string } })[] = [
    { name: "the file alone: tracker.db over its tracker URI's", file: TRACKER_FILE, db: 'trk_file' },
    { name: "--tracker-uri with a database beats the file's tracker.db", file: TRACKER_FILE, flags: { trackerUri: 'mongodb://h/trk_flag' }, db: 'trk_flag' },
    { name: "MIGRATIONS_DB_URI with a database beats the file's tracker.db", file: TRACKER_FILE, env: { MIGRATIONS_DB_URI: 'mongodb://h/trk_env' }, db: 'trk_env' },
    { name: "MIGRATIONS_DB_URI without a database: the file's tracker.db applies", file: TRACKER_FILE, env: { MIGRATIONS_DB_URI: 'mongodb://h/' }, db: 'trk_file' },
    {
      name: "--tracker-db beats --tracker-uri's database",
      file: TRACKER_FILE,
      env: { MIGRATIONS_DB_URI: 'mongodb://h/trk_env' },
      flags: { trackerUri: 'mongodb://h/trk_flag', trackerDb: 'trk_explicit' },
      db: 'trk_explicit',
    },
    { name: "DELTA_TRACKER_DB beats MIGRATIONS_DB_URI's database", file: TRACKER_FILE, env: { MIGRATIONS_DB_URI: 'mongodb://h/trk_env', DELTA_TRACKER_DB: 'trk_explicit' }, db: 'trk_explicit' },
    { name: "a SQLite tracker from the environment names no database: the file's tracker.db stays", file: TRACKER_FILE, env: { MIGRATIONS_DB_URI: 'sqlite:./history.sqlite' }, db: 'trk_file' },
    { name: "the target's URI does not move the tracker: DELTA_URI's database leaves tracker.db alone", file: { db: 'app', tracker: { db: 'trk_file' } }, env: { DELTA_URI: ENV_URI }, db: 'trk_file' },
  ];
  for (const c of trackerCases) {
    it(`tracker: ${c.name} -> ${String(c.db)}`, async () => {
      const p = project(c.file === undefined ? {} : { 'delta.config.json': JSON.stringify(c.file) });
      const config = await resolveConfig({ cwd: p.dir, env: c.env ?? {}, flags: c.flags ?? {} });
      assert.equal(config.tracker.db, c.db);
    });
  }
});

describe('databaseFromUri', () => {
  const cases: [string, string | undefined][] = [
    ['mongodb://localhost/app', 'app'],
    ['mongodb://localhost:27017/app?replicaSet=rs0', 'app'],
    ['mongodb://user:p%40ss@h1,h2/shop', 'shop'],
    ['mongodb+srv://u:p@cluster0.example.net/prod?retryWrites=true', 'prod'],
    ['mongodb://localhost', undefined],
    ['mongodb://localhost/', undefined],
    ['mongodb://localhost/?replicaSet=rs0', undefined],
    ['mongodb://u:pa/ss@host/real', 'real'],
  ];
  for (const [uri, db] of cases) it(`${uri} -> ${String(db)}`, () => assert.equal(databaseFromUri(uri), db));
});

// Every bad input, as a user types it: one line on stderr naming the flag, variable, key, file or
// argument at fault, the exit code of DESIGN.md section 7, and the database and tracker byte for
// byte as they were. Each case runs `bin/delta.js` against a database where 001_a is applied and
// 002_b pending, so a refusal that wrote anything (or ran 002_b) shows in the snapshot.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { withCredentials, withDatabase, withOption } from '../helpers/connection-string.js';
import { closedPort, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

function change(name: string): string {
  return `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${name}' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${name}' }, { session }); },
};
`;
}

const BASE_FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'app', type: 'module' }),
  'migrations/001_a.js': change('001_a'),
  'migrations/002_b.js': change('002_b'),
};

interface BadInput {
  readonly name: string;
  readonly args: readonly string[];
  /** Files added to (or replacing) the base project; `null` removes one. */
  readonly files?: Record<string, string | null>;
  /** Variables on top of `DELTA_URI=<the test database>`; `{{uri}}` stands for that URI. */
  readonly env?: Record<string, string | undefined>;
  readonly exit: 1 | 2 | 3 | 4;
  readonly culprit: RegExp;
}

// `{{uri}}`: the test database's URI; `{{closed}}`: a local port nothing listens on;
// `{{server:<name>}}`: the test server's URI (options and credentials kept) naming database <name>;
// `{{badOption}}`, `{{badTls}}`, `{{intruder}}`: that URI with a malformed maxPoolSize, a tls of
// 'maybe', or credentials the server does not know.
const CASES: readonly BadInput[] = [
  // Flags and arguments
  { name: 'an unknown flag', args: ['commit', '--frobnicate'], exit: 2, culprit: /unknown option '--frobnicate'/ },
  { name: 'a word for --steps', args: ['rollback', '--steps', 'many'], exit: 2, culprit: /--steps <n>.*positive whole number/ },
  { name: '--steps 0', args: ['rollback', '--steps', '0'], exit: 2, culprit: /--steps <n>.*'0' is invalid/ },
  { name: 'baseline without --to', args: ['baseline'], exit: 2, culprit: /required option '--to <id>'/ },
  { name: 'an unknown --transaction mode', args: ['commit', '--transaction', 'sometimes'], exit: 2, culprit: /--transaction <mode>.*'sometimes' is invalid.*auto, always, never/ },
  { name: 'a --lock-wait without a number', args: ['commit', '--lock-wait', 'forever'], exit: 2, culprit: /--lock-wait <duration>.*'forever' is invalid/ },
  { name: 'a word for --max-lag', args: ['commit', '--max-lag', 'soon'], exit: 2, culprit: /--max-lag <duration>.*'soon' is invalid/ },
  { name: 'a negative --timeout', args: ['commit', '--timeout', '-5'], exit: 2, culprit: /--timeout <ms>.*'-5' is invalid/ },
  { name: '--timeout 0', args: ['commit', '--timeout', '0'], exit: 2, culprit: /--timeout <ms>.*'0' is invalid/ },
  { name: 'an unknown --log-format', args: ['status', '--log-format', 'xml'], exit: 2, culprit: /--log-format <format>.*'xml' is invalid/ },
  { name: 'history --limit 0', args: ['history', '--limit', '0'], exit: 2, culprit: /--limit <n>.*'0' is invalid.*positive whole number/ },
  { name: 'history --action explode', args: ['history', '--action', 'explode'], exit: 2, culprit: /--action <action>.*'explode' is invalid/ },
  { name: '--preview with --dry-run', args: ['commit', '--preview', '--dry-run'], exit: 2, culprit: /--preview and --dry-run cannot be used together/ },
  { name: '--preview over a fleet', args: ['commit', '--preview', '--targets', 'tenant_a,tenant_b'], exit: 2, culprit: /--preview previews one target/ },
  { name: 'rehearse --sample abc', args: ['rehearse', '--sample', 'abc'], exit: 2, culprit: /--sample <n>.*'abc' is invalid/ },
  {
    name: 'rehearse --in-sandbox --keep',
    args: ['rehearse', '--in-sandbox', '--keep'],
    exit: 2,
    culprit: /--keep keeps a scratch database on the deployment; with --in-sandbox there is none to keep/,
  },
  { name: 'rehearse --scratch-db that is no database name', args: ['rehearse', '--scratch-db', 'a.b'], exit: 2, culprit: /--scratch-db: "a\.b" is not a database name/ },
  { name: 'an unknown repair flag', args: ['repair', '--bogus'], exit: 2, culprit: /unknown option '--bogus'/ },
  { name: 'import of an unknown tool', args: ['import', 'npm'], exit: 2, culprit: /'npm' is invalid for argument 'tool'.*migrate-mongo/ },
  { name: 'an extra argument to validate', args: ['validate', 'extra'], exit: 2, culprit: /too many arguments for 'validate'/ },
  { name: 'a --db that is no database name', args: ['status', '--db', 'a.b'], exit: 2, culprit: /--db must be a database name/ },
  { name: 'a --tracker-db with a space', args: ['commit', '--tracker-db', 'my tracker'], exit: 2, culprit: /--tracker-db must be a database name/ },
  { name: 'a --path that does not exist', args: ['commit', '--path', 'nowhere'], exit: 2, culprit: /change folder .*nowhere does not exist \(from --path\)/ },
  { name: 'a --path that is a file', args: ['commit', '--path', 'package.json'], exit: 2, culprit: /package\.json.*(not a folder|not a directory)/ },
  // Change ids
  { name: 'commit --to an unknown id', args: ['commit', '--to', '009_nope'], exit: 2, culprit: /--to 009_nope: no change/ },
  { name: 'commit --only an unknown id', args: ['commit', '--only', '009_nope'], exit: 2, culprit: /--only 009_nope: no change/ },
  { name: 'rollback --id an unknown id', args: ['rollback', '--id', '009_nope'], exit: 2, culprit: /--id 009_nope/ },
  { name: 'rollback --to an unknown id', args: ['rollback', '--to', '009_nope'], exit: 2, culprit: /--to 009_nope/ },
  { name: 'rollback --id of a pending change', args: ['rollback', '--id', '002_b'], exit: 2, culprit: /--id 002_b.*not applied/ },
  // Timestamps
  { name: 'history --since yesterday', args: ['history', '--since', 'yesterday'], exit: 2, culprit: /--since <time>.*'yesterday' is invalid.*ISO 8601/ },
  { name: 'rollback --since a day that does not exist', args: ['rollback', '--since', '2024-02-30T25:00:00Z'], exit: 2, culprit: /--since <time>.*'2024-02-30T25:00:00Z' is invalid/ },
  { name: 'rollback --since epoch seconds', args: ['rollback', '--since', '1714564800'], exit: 2, culprit: /--since <time>.*'1714564800' is invalid/ },
  // Environment
  {
    name: 'DELTA_URI with an http scheme',
    args: ['status'],
    env: { DELTA_URI: 'http://localhost:27017/app' },
    exit: 2,
    culprit: /DELTA_URI must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string/,
  },
  { name: 'MONGODB_URI with a redis scheme', args: ['status'], env: { DELTA_URI: undefined, MONGODB_URI: 'redis://localhost/0' }, exit: 2, culprit: /MONGODB_URI must be a mongodb:\/\// },
  { name: 'MIGRATIONS_DB_URI with a postgres scheme', args: ['commit'], env: { MIGRATIONS_DB_URI: 'postgres://db/history' }, exit: 2, culprit: /MIGRATIONS_DB_URI must be a mongodb:\/\// },
  { name: 'DELTA_DB with a slash', args: ['commit'], env: { DELTA_DB: 'a/b' }, exit: 2, culprit: /DELTA_DB must be a database name/ },
  { name: 'DELTA_TRACKER_DB with a dollar', args: ['commit'], env: { DELTA_TRACKER_DB: 'x$y' }, exit: 2, culprit: /DELTA_TRACKER_DB must be a database name/ },
  { name: 'DELTA_PATH to a missing folder', args: ['commit'], env: { DELTA_PATH: 'gone' }, exit: 2, culprit: /change folder .*gone does not exist \(from DELTA_PATH\)/ },
  { name: 'DELTA_CONFIG naming a missing file', args: ['commit'], env: { DELTA_CONFIG: 'missing.json' }, exit: 2, culprit: /DELTA_CONFIG.*missing\.json/ },
  // Configuration files
  { name: 'a JSON config that does not parse', args: ['commit'], files: { 'delta.config.json': '{ "uri": ' }, exit: 2, culprit: /delta\.config\.json: cannot be read/ },
  {
    name: 'an unknown key in .deltarc.json',
    args: ['commit'],
    files: { '.deltarc.json': '{ "tracker": { "collection": "x" } }' },
    exit: 2,
    culprit: /\.deltarc\.json: unknown key 'tracker\.collection'/,
  },
  { name: 'a string for lock.waitMs', args: ['commit'], files: { 'delta.config.json': '{ "lock": { "waitMs": "soon" } }' }, exit: 2, culprit: /delta\.config\.json: lock\.waitMs must be a number/ },
  { name: 'a lease under a second', args: ['commit'], files: { 'delta.config.json': '{ "lock": { "leaseMs": 10 } }' }, exit: 2, culprit: /delta\.config\.json: lock\.leaseMs must be at least 1000/ },
  {
    name: 'a system. tracker collection',
    args: ['commit'],
    files: { 'delta.config.json': '{ "tracker": { "collections": { "migrations": "system.x" } } }' },
    exit: 2,
    culprit: /delta\.config\.json: tracker\.collections\.migrations must be a collection name/,
  },
  {
    name: 'an unknown transaction mode in .deltarc.yaml',
    args: ['commit'],
    files: { '.deltarc.yaml': 'transaction: sometimes\n' },
    exit: 2,
    culprit: /\.deltarc\.yaml: transaction must be one of "auto", "always", "never"/,
  },
  { name: 'a YAML rc that does not parse', args: ['commit'], files: { '.deltarc.yml': 'lock:\n  waitMs: [1\n' }, exit: 2, culprit: /\.deltarc\.yml: cannot be read/ },
  {
    name: 'a TS config that throws',
    args: ['commit'],
    files: { 'delta.config.ts': "throw new Error('VAULT_TOKEN is not set');\nexport default {};\n" },
    exit: 2,
    culprit: /delta\.config\.ts: cannot be read: VAULT_TOKEN is not set/,
  },
  { name: 'a TS config with a syntax error', args: ['commit'], files: { 'delta.config.ts': 'export default { db: };\n' }, exit: 2, culprit: /delta\.config\.ts/ },
  {
    name: 'a hook that is not a function',
    args: ['commit'],
    files: { 'delta.config.ts': "export default { hooks: { beforeAll: 'notify' } };\n" },
    exit: 2,
    culprit: /delta\.config\.ts: hooks\.beforeAll must be a function/,
  },
  {
    name: 'a create.id without {name}',
    args: ['create', 'orders'],
    files: { 'delta.config.json': '{ "create": { "id": "{timestamp}" } }' },
    exit: 2,
    culprit: /delta\.config\.json: create\.id must hold \{name\} once/,
  },
  {
    name: 'a migrateMongo.fileExtension without its dot',
    args: ['commit'],
    files: { 'delta.config.json': '{ "migrateMongo": { "changelog": "changelog", "fileExtension": "js" } }' },
    exit: 2,
    culprit: /delta\.config\.json: migrateMongo\.fileExtension must be a file extension starting with a dot/,
  },
  {
    name: 'a create.id with a slash',
    args: ['create', 'orders'],
    files: { 'delta.config.json': '{ "create": { "id": "db/{timestamp}_{name}" } }' },
    exit: 2,
    culprit: /delta\.config\.json: create\.id may hold only letters, digits/,
  },
  {
    name: 'an unknown key in package.json#delta',
    args: ['commit'],
    files: { 'package.json': JSON.stringify({ name: 'app', type: 'module', delta: { colour: 'red' } }) },
    exit: 2,
    culprit: /package\.json: unknown key 'colour'/,
  },
  { name: '--config naming a missing file', args: ['commit', '--config', 'nope.json'], exit: 2, culprit: /--config.*nope\.json/ },
  // Change files
  {
    name: 'a TS change with a syntax error',
    args: ['commit'],
    files: { 'migrations/003_broken.ts': 'export default {\n  async commit() {\n    const n: number = ;\n  },\n};\n' },
    exit: 2,
    culprit: /003_broken\.ts:3/,
  },
  {
    name: 'a JS change that throws on import',
    args: ['commit'],
    files: { 'migrations/003_throws.js': "throw new Error('REQUIRED_SETTING is not set');\n" },
    exit: 2,
    culprit: /003_throws\.js.*REQUIRED_SETTING is not set/,
  },
  { name: 'a change without commit', args: ['commit'], files: { 'migrations/003_nothing.js': "export default { description: 'forgot it' };\n" }, exit: 2, culprit: /003_nothing\.js.*commit/ },
  {
    name: 'two changes with one id',
    args: ['commit'],
    files: { 'migrations/003_first.js': "export default { id: 'same', async commit() {} };\n", 'migrations/004_second.cjs': "module.exports = { id: 'same', async commit() {} };\n" },
    exit: 2,
    culprit: /003_first\.js, 004_second\.cjs: duplicate change id "same"/,
  },
  { name: 'a numeric id', args: ['commit'], files: { 'migrations/003_numeric.js': 'export default { id: 42, async commit() {} };\n' }, exit: 2, culprit: /003_numeric\.js.*id/ },
  {
    name: 'a sideEffects that is not a boolean',
    args: ['commit'],
    files: { 'migrations/003_hooks.js': "export default { sideEffects: 'yes', async commit() {} };\n" },
    exit: 2,
    culprit: /003_hooks\.js: sideEffects must be true or false/,
  },
  {
    name: 'a YAML template with an unknown operation',
    args: ['commit'],
    files: { 'migrations/003_ops.yaml': 'commit:\n  - createIdx: { collection: users }\n' },
    exit: 2,
    culprit: /003_ops\.yaml:2: commit\[0\]\.createIdx: unknown operation/,
  },
  {
    name: '--db admin without --allow-system-db',
    args: ['commit', '--db', 'admin'],
    exit: 2,
    culprit: /^delta: error: admin is one of MongoDB's own databases \(admin, local, config\): delta changes it only with --allow-system-db$/,
  },
  {
    name: 'a URI naming local, nothing else',
    args: ['status', '--uri', '{{server:local}}'],
    files: { 'delta.config.json': '{}' },
    exit: 2,
    culprit: /local is one of MongoDB's own databases .*--allow-system-db; if --uri names \/local to authenticate, write \?authSource=local and name the target with --db/,
  },
  {
    name: '--targets naming config',
    args: ['commit', '--targets', 'tenant_a,config'],
    exit: 2,
    culprit: /--targets: config is one of MongoDB's own databases \(admin, local, config\): a fleet targets it only with --allow-system-db/,
  },
  {
    name: "a YAML template wiping delta's audit log",
    args: ['commit'],
    files: { 'migrations/003_wipe.yaml': 'commit:\n  - deleteMany: { collection: delta_audit, filter: {} }\n' },
    exit: 2,
    culprit: /003_wipe\.yaml:2: commit\[0\]\.deleteMany\.collection: delta_audit is one of delta's own collections/,
  },
  {
    name: 'a YAML template with runCommand, not allowed',
    args: ['commit'],
    files: { 'migrations/003_drop.yaml': 'commit:\n  - runCommand: { command: { dropDatabase: 1 } }\n' },
    exit: 2,
    culprit: /003_drop\.yaml:2: commit\[0\]\.runCommand: runCommand can run any command/,
  },
  {
    name: 'a YAML template with a duplicate key',
    args: ['commit'],
    files: { 'migrations/003_dup.yaml': 'commit: []\ncommit: []\n' },
    exit: 2,
    culprit: /003_dup\.yaml:\d+(:\d+)?: syntax error: Map keys must be unique/,
  },
  {
    name: 'a YAML template with a bad ObjectId',
    args: ['commit'],
    files: { 'migrations/003_oid.yaml': 'commit:\n  - insertMany: { collection: plans, documents: [ { _id: { $oid: "zz" } } ] }\n' },
    exit: 2,
    culprit: /003_oid\.yaml:2: commit\[0\]\.insertMany\.documents\[0\]\._id: expected valid Extended JSON/,
  },
  {
    name: 'an expect limit with an unknown key',
    args: ['commit'],
    files: { 'migrations/003_cap.js': 'export default { expect: { writes: { users: { modified: { maximum: 10 } } } }, async commit() {} };\n' },
    exit: 2,
    culprit: /003_cap\.js: expect\.writes\.users\.modified\.maximum: expected min, max \(unknown key "maximum"\)/,
  },
  {
    name: 'an expect count that is not a number',
    args: ['commit'],
    files: { 'migrations/003_cap.js': "export default { expect: { writes: { users: { deleted: { max: 'none' } } } }, async commit() {} };\n" },
    exit: 2,
    culprit: /003_cap\.js: expect\.writes\.users\.deleted\.max: expected a whole number of documents/,
  },
  {
    name: 'a verify that is not a function',
    args: ['commit'],
    files: { 'migrations/003_cap.js': 'export default { verify: true, async commit() {} };\n' },
    exit: 2,
    culprit: /003_cap\.js: verify must be a function/,
  },
  {
    name: 'a YAML template expecting an unknown count',
    args: ['commit'],
    files: { 'migrations/003_cap.yaml': 'expect:\n  writes:\n    users: { removed: { max: 0 } }\ncommit:\n  - deleteMany: { collection: users, filter: {} }\n' },
    exit: 2,
    culprit: /003_cap\.yaml:3: expect\.writes\.users\.removed: expected matched, modified, inserted, deleted, upserted \(unknown key "removed"\)/,
  },
  { name: 'a JSON template that does not parse', args: ['commit'], files: { 'migrations/003_plain.json': '{ "commit": [ }' }, exit: 2, culprit: /003_plain\.json/ },
  {
    name: 'an index in an always-transactional template',
    args: ['commit'],
    files: { 'migrations/003_index.yml': 'transaction: always\ncommit:\n  - createIndex: { collection: users, keys: { email: 1 } }\n' },
    exit: 2,
    culprit: /003_index\.yml:1: transaction: .*createIndex/,
  },
  // Connection strings
  { name: 'a postgres --uri with a password', args: ['status', '--uri', 'postgres://admin:hunter22@db/app'], exit: 2, culprit: /--uri must be a mongodb:\/\/ or mongodb\+srv:\/\/ connection string/ },
  { name: 'a mongodb:// --uri without a host', args: ['status', '--uri', 'mongodb:///app'], exit: 2, culprit: /--uri: invalid connection string/ },
  {
    name: 'a mongodb+srv:// --uri with a port',
    args: ['status', '--uri', 'mongodb+srv://cluster0.example.net:27017/app'],
    exit: 2,
    culprit: /--uri: invalid connection string mongodb\+srv:\/\/cluster0\.example\.net:27017\/app/,
  },
  { name: 'a malformed option in DELTA_URI', args: ['status'], env: { DELTA_URI: '{{badOption}}' }, exit: 2, culprit: /DELTA_URI: invalid connection string .*maxPoolSize/ },
  { name: 'an unknown tls value in --tracker-uri', args: ['status', '--tracker-uri', '{{badTls}}'], exit: 2, culprit: /--tracker-uri: invalid connection string .*tls/ },
  {
    name: 'an unreachable host',
    args: ['status', '--uri', 'mongodb://127.0.0.1:{{closed}}/app'],
    files: { 'delta.config.json': '{ "connectTimeoutMs": 300 }' },
    exit: 1,
    culprit: /cannot connect to mongodb:\/\/127\.0\.0\.1:\d+\/app \(from --uri\)/,
  },
  {
    name: 'DELTA_URI naming admin beside a db in the config file',
    args: ['commit'],
    files: { 'delta.config.json': '{ "db": "app" }' },
    env: { DELTA_URI: '{{server:admin}}' },
    exit: 2,
    culprit: /DELTA_URI names the admin database and delta\.config\.json sets "app": pass --db or set DELTA_DB to choose/,
  },
  {
    name: 'a mongodb+srv:// name that does not resolve',
    args: ['status', '--uri', 'mongodb+srv://deploy:S3cr3t%40x@cluster0.delta-test.invalid/app'],
    files: { 'delta.config.json': '{ "connectTimeoutMs": 300 }' },
    exit: 1,
    culprit: /^delta: error: cannot connect to mongodb\+srv:\/\/deploy:\*\*\*@cluster0\.delta-test\.invalid\/app \(from --uri\): querySrv \w+/,
  },
  { name: 'bad credentials', args: ['commit', '--uri', '{{intruder}}'], exit: 2, culprit: /--uri: authentication failed for mongodb(\+srv)?:\/\/intruder:\*\*\*@/ },
];

describe('bad input: one line naming the culprit, the exit code, nothing written', { concurrency: 4 }, () => {
  const db = uniqueDbName('bad');
  let uri = '';
  let closed = 0;
  let values: Record<string, string> = {};
  let initial: Record<string, Record<string, string[]>> = {};
  /** Target and tracker, and the external tracker database some cases name. */
  const snapshot = async () => ({ target: await snapshotDatabase(fixture.client, db), trackerDb: await snapshotDatabase(fixture.client, 'my_tracker') });

  before(async () => {
    uri = fixture.uriFor(db);
    const server = fixture.server.uri;
    values = {
      badOption: withOption(withDatabase(server, 'app'), 'maxPoolSize', 'lots'),
      badTls: withOption(withDatabase(server, 'history'), 'tls', 'maybe'),
      intruder: withCredentials(withDatabase(server, 'app'), 'intruder', 'guess'),
    };
    closed = await closedPort();
    const p = fixture.project(BASE_FILES);
    const applied = await runCli(['commit', '--to', '001_a', '--path', './migrations'], { cwd: p.dir, env: { DELTA_URI: uri } });
    assert.equal(applied.code, 0, applied.stderr);
    initial = await snapshot();
    assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: '001_a' }], '001_a applied, 002_b pending');
  });

  it(`has at least 40 cases (${CASES.length})`, () => assert.ok(CASES.length >= 40));

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}`, async () => {
      const fill = (text: string) =>
        text
          .replaceAll('{{uri}}', uri)
          .replaceAll('{{closed}}', String(closed))
          .replace(/\{\{server:(\w+)\}\}/g, (_all, name: string) => withDatabase(fixture.server.uri, name))
          .replace(/\{\{(\w+)\}\}/g, (all, key: string) => values[key] ?? all);
      const files: Record<string, string> = { ...BASE_FILES };
      for (const [path, content] of Object.entries(c.files ?? {})) {
        if (content === null) delete files[path];
        else files[path] = content;
      }
      const p = fixture.project(files);
      const env: Record<string, string | undefined> = { DELTA_URI: uri };
      for (const [key, value] of Object.entries(c.env ?? {})) env[key] = value === undefined ? undefined : fill(value);
      const result = await runCli(c.args.map(fill), { cwd: p.dir, env });
      assert.equal(result.code, c.exit, `exit ${result.code}\n${result.stderr}`);
      // A password typed in --uri is visible in `ps`: that warning comes first, then the one error line.
      const passwordFlag = c.args.some((arg, i) => c.args[i - 1] === '--uri' && /^mongodb(\+srv)?:\/\/[^/@]*:[^/@]*@|\{\{intruder\}\}/.test(arg));
      const warning = /^delta: warning: the password in --uri is visible to every user of this machine \(ps\); put the URI in DELTA_URI or the configuration file instead\n/;
      assert.equal(warning.test(result.stderr), passwordFlag, `the ps warning ${passwordFlag ? 'is missing' : 'is shown'}:\n${result.stderr}`);
      const stderr = result.stderr.replace(warning, '');
      assertOneLineError(stderr, c.culprit);
      assert.match(stderr, /^delta: error: /);
      assert.deepEqual(await snapshot(), initial, 'the database and the tracker are unchanged');
    });
  }
});

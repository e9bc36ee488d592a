// Passwords never leave delta: a connection string with a password in a flag, a variable or a
// configuration file, a password quoted in a driver error or in a change's own error, and the
// password nowhere in stdout, stderr, `--json`, `--log-format json`, the history or the audit log.
// The sandbox has no users, so every URI with a password fails authentication there (and on a
// real server without that user): the driver's own error is then what must be redacted.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { EJSON } from 'bson';
import type { CliResult } from '../helpers/cli.js';
import { runCli } from '../helpers/cli.js';
import { withCredentials, withDatabase, withOption } from '../helpers/connection-string.js';
import { closedPort, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const RAW = 'S3cr3t@x';
const ENCODED = 'S3cr3t%40x';

const CHANGE = `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: 'one' }, { session }); },
};
`;

/**
 * A change whose error and log line quote another deployment's URI with the password: an error
 * written by the change's author, as it would reach delta from a copy job.
 */
const LEAKY_CHANGE = `export default {
  transaction: 'never',
  async commit({ log }) {
    const legacy = 'mongodb://copier:${ENCODED}@legacy.internal:27017/app';
    log('copying from ' + legacy);
    throw new Error('cannot copy from ' + legacy + ': not reachable');
  },
  async rollback() {},
};
`;

/** The test server's URI with `user:password@` put in (replacing any credentials) and database `db`. */
function withPassword(uri: string, db: string, user = 'deploy', password = ENCODED): string {
  return withCredentials(withDatabase(uri, db), user, password);
}

function assertNoPassword(result: Pick<CliResult, 'stdout' | 'stderr'>, where: string): void {
  for (const secret of [RAW, ENCODED]) {
    assert.ok(!result.stdout.includes(secret), `${where}: stdout shows ${secret}:\n${result.stdout}`);
    assert.ok(!result.stderr.includes(secret), `${where}: stderr shows ${secret}:\n${result.stderr}`);
  }
}

/** Every document of the given databases, as canonical Extended JSON. */
async function dump(dbs: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const name of dbs) {
    const db = fixture.client.db(name);
    for (const { name: collection } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      for (const doc of await db.collection(collection).find({}).toArray()) parts.push(EJSON.stringify(doc, { relaxed: false }));
    }
  }
  return parts.join('\n');
}

interface SecretCase {
  readonly name: string;
  /** `{{pw}}`: the test database's URI with a password; `{{trackerPw}}`: the same for the tracker database; `{{rawPw}}`: with the password's `@` unescaped; `{{pwBadOption}}`: `{{pw}}` with a malformed option; `{{uri}}`, `{{closed}}`, `{{db}}`. */
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  readonly files?: Record<string, string>;
  readonly exit: number;
  /** What stderr must say (the error, with the password starred out where a URI is shown). */
  readonly says: RegExp;
}

const FAST_CONFIG = { 'delta.config.json': JSON.stringify({ connectTimeoutMs: 300 }) };
const STARRED = /deploy:\*\*\*@/;

const CASES: readonly SecretCase[] = [
  { name: '--uri, human output', args: ['status', '--uri', '{{pw}}'], exit: 2, says: /--uri: authentication failed for mongodb:\/\/deploy:\*\*\*@/ },
  { name: '--uri, --json', args: ['commit', '--json', '--uri', '{{pw}}'], exit: 2, says: STARRED },
  { name: '--uri, --log-format json, --verbose', args: ['commit', '--log-format', 'json', '--verbose', '--uri', '{{pw}}'], exit: 2, says: STARRED },
  { name: 'DELTA_URI', args: ['commit'], env: { DELTA_URI: '{{pw}}' }, exit: 2, says: /DELTA_URI: authentication failed for mongodb:\/\/deploy:\*\*\*@/ },
  { name: 'MONGODB_URI, history --json', args: ['history', '--json'], env: { MONGODB_URI: '{{pw}}' }, exit: 2, says: /MONGODB_URI: authentication failed/ },
  {
    name: 'MIGRATIONS_DB_URI (tracker)',
    args: ['commit', '--json'],
    env: { DELTA_URI: '{{uri}}', MIGRATIONS_DB_URI: '{{trackerPw}}' },
    exit: 2,
    says: /MIGRATIONS_DB_URI: authentication failed for mongodb:\/\/deploy:\*\*\*@/,
  },
  {
    name: 'uri in delta.config.json',
    args: ['status', '--log-format', 'json'],
    files: { 'delta.config.json': '{ "uri": "{{pw}}" }' },
    exit: 2,
    says: /delta\.config\.json: authentication failed for mongodb:\/\/deploy:\*\*\*@/,
  },
  {
    name: 'tracker.uri in delta.config.ts',
    args: ['unlock'],
    env: { DELTA_URI: '{{uri}}' },
    files: { 'delta.config.ts': "export default { tracker: { uri: '{{trackerPw}}' } };\n" },
    exit: 2,
    says: /delta\.config\.ts: authentication failed/,
  },
  { name: 'an unescaped @ in the password', args: ['status', '--uri', '{{rawPw}}'], exit: 2, says: STARRED },
  {
    name: 'a malformed option next to the password (driver parse error)',
    args: ['status', '--uri', '{{pwBadOption}}'],
    exit: 2,
    says: /--uri: invalid connection string mongodb(\+srv)?:\/\/deploy:\*\*\*@/,
  },
  {
    name: 'an unreachable host (driver network error)',
    args: ['status', '--uri', `mongodb://deploy:${ENCODED}@127.0.0.1:{{closed}}/{{db}}`],
    files: FAST_CONFIG,
    exit: 1,
    says: /cannot connect to mongodb:\/\/deploy:\*\*\*@127\.0\.0\.1:\d+/,
  },
  {
    // The parser's excerpt of the file would show the password's line, and a password in a form no
    // URI pattern recognises (a bare value, a comma after it): the message keeps the reason and position only.
    name: 'a JSON config that does not parse, --verbose',
    args: ['status', '--verbose'],
    files: { 'delta.config.json': `{\n  "db": "app",\n  "note": "${RAW}",\n}\n` },
    exit: 2,
    says: /^delta: error: delta\.config\.json: cannot be read: Expected double-quoted property name in JSON at position \d+ \(line 4, column 1\)$/m,
  },
  {
    name: 'mongodb+srv:// to a name that does not resolve',
    args: ['status', '--json', '--uri', `mongodb+srv://deploy:${ENCODED}@cluster0.delta-test.invalid/{{db}}`],
    files: FAST_CONFIG,
    exit: 1,
    says: /mongodb\+srv:\/\/deploy:\*\*\*@cluster0\.delta-test\.invalid/,
  },
];

describe('passwords are never printed or stored', { concurrency: 3 }, () => {
  const db = uniqueDbName('secret');
  const dbs = [db, `${db}_trk`, `${db}_ext`];
  let fill: (text: string) => string = (text) => text;

  before(async () => {
    const closed = await closedPort();
    const values: Record<string, string> = {
      pw: withPassword(fixture.server.uri, db),
      trackerPw: withPassword(fixture.server.uri, `${db}_trk`),
      rawPw: withPassword(fixture.server.uri, db, 'deploy', RAW),
      uri: fixture.uriFor(db),
      pwBadOption: withOption(withPassword(fixture.server.uri, db), 'maxPoolSize', 'lots'),
      closed: String(closed),
      db,
    };
    fill = (text) => text.replace(/\{\{(\w+)\}\}/g, (_all, key: string) => values[key] ?? `{{${key}}}`);
  });

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}, the password starred out`, async () => {
      const files = Object.fromEntries(Object.entries(c.files ?? {}).map(([path, content]) => [path, fill(content)]));
      const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }), 'migrations/001_one.js': CHANGE, ...files });
      const env = Object.fromEntries(Object.entries(c.env ?? {}).map(([key, value]) => [key, fill(value)]));
      const result = await runCli(c.args.map(fill), { cwd: p.dir, env, timeoutMs: 30_000 });
      assert.equal(result.code, c.exit, result.stderr);
      assert.match(result.stderr, c.says);
      assertNoPassword(result, c.name);
      if (c.args.includes('--json')) {
        // A command that never ran prints its error as the one JSON document, redacted like the stderr line.
        const document = JSON.parse(result.stdout) as { error: { message: string; exitCode: number } };
        assert.equal(document.error.exitCode, c.exit);
        assert.match(`delta: error: ${document.error.message}`, c.says);
      }
    });
  }

  it('passwords of characters the driver takes unescaped ( ) \' " [ ] { } < > and escaped @ : / %: starred out in human, --json and --log-format json --verbose output', async () => {
    const passwords: readonly [password: string, inUri: string][] = [
      ["S3(cr)'t", "S3(cr)'t"],
      ['q"uo"te9', 'q"uo"te9'],
      ['br[a]{c}<e>s', 'br[a]{c}<e>s'],
      ['a@b:c/d%e7', encodeURIComponent('a@b:c/d%e7')],
    ];
    for (const [password, inUri] of passwords) {
      const uri = withPassword(fixture.server.uri, db, 'deploy', inUri);
      for (const args of [['status'], ['status', '--json'], ['commit', '--log-format', 'json', '--verbose']]) {
        const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }), 'migrations/001_one.js': CHANGE });
        const result = await runCli([...args, '--uri', uri], { cwd: p.dir, env: {}, timeoutMs: 30_000 });
        const where = `${password} with ${args.join(' ')}`;
        assert.equal(result.code, 2, `${where}: ${result.stderr}`);
        assert.match(result.stderr, /deploy:\*\*\*@/, where);
        for (const secret of new Set([password, inUri, JSON.stringify(password).slice(1, -1)])) {
          assert.ok(!`${result.stdout}${result.stderr}`.includes(secret), `${where}: the output shows ${secret}:\n${result.stderr}`);
        }
      }
    }
  });

  it("a change's error and log line quoting a URI with a password: redacted in every output, the history and the audit log", async () => {
    const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }), 'migrations/001_one.js': CHANGE, 'migrations/002_copy.js': LEAKY_CHANGE });
    const env = { DELTA_URI: fixture.uriFor(db) };
    const outputs: [string, string[], Record<string, string>][] = [
      ['human', ['commit'], env],
      ['--json', ['commit', '--json'], env],
      ['--log-format json', ['commit', '--log-format', 'json'], env],
      ['external tracker, --verbose', ['commit', '--verbose', '--tracker-db', `${db}_trk`], { DELTA_URI: fixture.uriFor(`${db}_ext`) }],
      ['SQLite tracker', ['commit', '--tracker-uri', 'sqlite:./state/delta.sqlite'], { DELTA_URI: fixture.uriFor(`${db}_sql`) }],
    ];
    for (const [name, args, runEnv] of outputs) {
      const result = await runCli(args, { cwd: p.dir, env: runEnv });
      assert.equal(result.code, 1, `${name}: ${result.stderr}`);
      assert.match(`${result.stdout}${result.stderr}`, /cannot copy from mongodb:\/\/copier:\*\*\*@legacy\.internal:27017\/app/, name);
      assertNoPassword(result, name);
    }
    for (const [name, args] of [
      ['status --json', ['status', '--json']],
      ['history --json', ['history', '--json']],
      ['history', ['history']],
      ['validate --json', ['validate', '--json']],
    ] as const) {
      const result = await runCli(args, { cwd: p.dir, env });
      assert.ok(result.code === 0 || result.code === 4, `${name}: exit ${result.code} ${result.stderr}`);
      assertNoPassword(result, name);
    }
    // The SQLite file (and its journal) holds the record and the event with the URI starred out too.
    const sqlite = readdirSync(join(p.dir, 'state'))
      .map((name) => readFileSync(join(p.dir, 'state', name)).toString('latin1'))
      .join('');
    assert.match(sqlite, /copier:\*\*\*@legacy/, 'the SQLite tracker recorded the redacted URI');
    assert.ok(!sqlite.includes(ENCODED) && !sqlite.includes(RAW), 'the SQLite file holds a password');
    const stored = await dump(dbs);
    assert.match(stored, /"status":"failed"/, 'the failure is recorded');
    assert.match(stored, /copier:\*\*\*@legacy/, 'with the redacted URI');
    assert.ok(!stored.includes(ENCODED) && !stored.includes(RAW), `a password is stored:\n${stored}`);
  });

  it('nothing any case ran left a password in the databases', async () => {
    const stored = await dump(dbs);
    assert.ok(!stored.includes(ENCODED) && !stored.includes(RAW));
  });
});

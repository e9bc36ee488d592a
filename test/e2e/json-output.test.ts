// `--json` as a script reads it: every outcome, bad input included, prints exactly one JSON
// document on stdout (`{ "error": { code, message, exitCode } }` when the command failed before
// its own document), absent values are null rather than left out, and the human lines say what
// was found for what was asked.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import type { CliResult } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { closedPort, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

function change(name: string, body = `await db.collection('effects').insertOne({ _id: '${name}' }, { session });`): string {
  return `export default {
  async commit({ db, session }) { ${body} },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${name}' }, { session }); },
};
`;
}

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'app', type: 'module' }),
  'migrations/001_a.js': change('001_a'),
  'migrations/002_b.js': change('002_b'),
};

interface ErrorDocument {
  readonly error: { readonly code: string; readonly message: string; readonly exitCode: number };
}

/** stdout is one JSON document (JSON.parse refuses two, or a line of text beside one). */
function oneDocument(result: CliResult): Record<string, unknown> {
  assert.notEqual(result.stdout.trim(), '', `nothing on stdout (exit ${result.code}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

interface JsonFailure {
  readonly name: string;
  readonly args: readonly string[];
  readonly files?: Record<string, string>;
  /** Replaces DELTA_URI=<the test database>; `{{closed}}` is a local port nothing listens on. */
  readonly env?: Record<string, string | undefined>;
  readonly exit: 1 | 2 | 3 | 4;
  readonly code: string;
  readonly message: RegExp;
}

const FAILURES: readonly JsonFailure[] = [
  { name: 'an unknown --to', args: ['commit', '--json', '--to', 'nope'], exit: 2, code: 'UNKNOWN_CHANGE', message: /--to nope/ },
  { name: 'an unknown flag (commander)', args: ['commit', '--json', '--frobnicate'], exit: 2, code: 'USAGE', message: /unknown option '--frobnicate'/ },
  { name: '--json before the command', args: ['--json', 'status', '--bogus'], exit: 2, code: 'USAGE', message: /unknown option '--bogus'/ },
  { name: 'a bad option value', args: ['commit', '--json', '--transaction', 'sometimes'], exit: 2, code: 'USAGE', message: /'sometimes' is invalid/ },
  { name: 'a bad --db', args: ['status', '--json', '--db', 'a.b'], exit: 2, code: 'CONFIG_INVALID', message: /--db must be a database name/ },
  { name: 'no connection string', args: ['status', '--json'], env: { DELTA_URI: undefined }, exit: 2, code: 'CONFIG_INVALID', message: /no connection string/ },
  { name: 'a missing change folder', args: ['commit', '--json', '--path', './nowhere'], exit: 2, code: 'CONFIG_INVALID', message: /nowhere/ },
  { name: 'an unknown rollback --to', args: ['rollback', '--json', '--to', 'nope'], exit: 2, code: 'UNKNOWN_CHANGE', message: /--to nope/ },
  {
    name: 'a change file that throws on import',
    args: ['commit', '--json'],
    files: { 'migrations/003_c.js': "throw new Error('SETTING is not set');\n" },
    exit: 2,
    code: 'CHANGE_FILE_INVALID',
    message: /SETTING is not set/,
  },
  { name: 'a missing --dotenv file', args: ['status', '--json', '--dotenv', 'none.env'], exit: 2, code: 'USAGE', message: /none\.env/ },
  { name: 'a bad configuration file', args: ['status', '--json'], files: { '.deltarc.json': '{ "colour": "red" }' }, exit: 2, code: 'CONFIG_INVALID', message: /unknown key 'colour'/ },
  { name: 'create with a bad name', args: ['create', '--json', '../escape'], exit: 2, code: 'USAGE', message: /may only contain/ },
  {
    name: 'an unreachable server',
    args: ['status', '--json'],
    env: { DELTA_URI: 'mongodb://127.0.0.1:{{closed}}/app?serverSelectionTimeoutMS=300' },
    exit: 1,
    code: 'DATABASE_ERROR',
    message: /127\.0\.0\.1/,
  },
];

describe('--json: exactly one document on stdout, whatever happens', { concurrency: 4 }, () => {
  const db = uniqueDbName('json');
  let closed = 0;
  let initial: Record<string, string[]> = {};

  before(async () => {
    closed = await closedPort();
    const p = fixture.project(FILES);
    const applied = await runCli(['commit', '--to', '001_a'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(applied.code, 0, applied.stderr);
    initial = await snapshotDatabase(fixture.client, db);
  });

  for (const c of FAILURES) {
    it(`${c.name}: { error: { code: ${c.code}, exitCode: ${c.exit} } }`, async () => {
      const p = fixture.project({ ...FILES, ...c.files });
      const env: Record<string, string | undefined> = { DELTA_URI: fixture.uriFor(db) };
      for (const [key, value] of Object.entries(c.env ?? {})) env[key] = value?.replace('{{closed}}', String(closed));
      const result = await runCli(c.args, { cwd: p.dir, env });
      assert.equal(result.code, c.exit, result.stderr);
      const document = oneDocument(result) as unknown as ErrorDocument;
      assert.deepEqual(Object.keys(document), ['error']);
      assert.equal(document.error.code, c.code, document.error.message);
      assert.equal(document.error.exitCode, c.exit);
      assert.match(document.error.message, c.message);
      assertOneLineError(result.stderr, c.message);
      assert.deepEqual(await snapshotDatabase(fixture.client, db), initial, 'nothing was written');
    });
  }

  it('a failed change: the run document alone, its error carrying the exit code', async () => {
    const failing = uniqueDbName('jsonfail');
    const p = fixture.project({ ...FILES, 'migrations/002_b.js': change('002_b', "throw new Error('boom');") });
    const result = await runCli(['commit', '--json'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(failing) } });
    assert.equal(result.code, 1, result.stderr);
    const document = oneDocument(result);
    assert.equal(document.outcome, 'failed');
    assert.deepEqual(document.error, { code: 'CHANGE_FAILED', message: '002_b failed: boom', exitCode: 1 });
    const changes = document.changes as Record<string, unknown>[];
    assert.deepEqual(
      changes.map((c) => [c.id, c.status, c.stage, c.compensated]),
      [
        ['001_a', 'done', null, null],
        ['002_b', 'failed', null, null],
      ],
    );
  });

  it('status --check --json: the status document alone, exit 4; absent values are null', async () => {
    const p = fixture.project(FILES);
    const result = await runCli(['status', '--check', '--json'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(result.code, 4, result.stderr);
    const status = oneDocument(result);
    assert.equal(status.lock, null);
    assert.equal(status.env, null);
    const [applied, pending] = status.changes as Record<string, unknown>[];
    assert.equal(applied?.state, 'applied');
    assert.equal(applied?.error, null);
    assert.equal(applied?.rolledBackAt, null);
    assert.equal(pending?.state, 'pending');
    for (const key of ['appliedAt', 'rolledBackAt', 'durationMs', 'transactional', 'error', 'description', 'stage', 'author', 'reason']) {
      assert.ok(pending !== undefined && key in pending && pending[key] === null, `pending change: ${key} is null`);
    }
  });

  it('a held lock: one error document, exit 3', async () => {
    const locked = uniqueDbName('jsonlock');
    const p = fixture.project({ ...FILES, 'migrations/001_a.js': change('001_a', 'await new Promise((resolve) => setTimeout(resolve, 4000));') });
    const env = { DELTA_URI: fixture.uriFor(locked) };
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const holder = runCli(['commit'], { cwd: p.dir, env, onOutput: ({ stdout }) => stdout.includes('Applying') && started() });
    await running;
    const waiter = await runCli(['commit', '--json', '--lock-wait', '0'], { cwd: p.dir, env });
    assert.equal(waiter.code, 3, waiter.stderr);
    const document = oneDocument(waiter) as unknown as ErrorDocument;
    assert.equal(document.error.code, 'LOCK_HELD');
    assert.equal(document.error.exitCode, 3);
    assert.equal((await holder).code, 0);
  });
});

describe('messages', () => {
  it('rollback --to X with nothing newer applied says so, not that no change is applied', async () => {
    const db = uniqueDbName('msg');
    const p = fixture.project(FILES);
    const env = { DELTA_URI: fixture.uriFor(db) };
    assert.equal((await runCli(['commit', '--to', '001_a'], { cwd: p.dir, env })).code, 0);
    const rollback = await runCli(['rollback', '--to', '001_a'], { cwd: p.dir, env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /Nothing to roll back in msg_\w+: no change newer than 001_a is applied\./);
    assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: '001_a' }]);
    const commitTo = await runCli(['commit', '--to', '001_a'], { cwd: p.dir, env });
    assert.match(commitTo.stdout, /Nothing to do: every change up to 001_a is applied to msg_\w+\./);
  });

  it('--help points to documentation an npm user can open', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Docs: npm docs mongo-delta, or \/.*README\.md\n/);
  });
});

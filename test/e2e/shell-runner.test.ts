// Shell-command changes through the CLI: a `<id>.commit.sh` / `<id>.rollback.sh` pair applied and
// rolled back, the runner shown by status, --dry-run and history, a failing script's stderr in its
// record, a timeout that kills the script's whole process group, and bad pairs refused (exit 2).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT, runCli, runCliSignalledAt } from '../helpers/cli.js';
import { driverShellScript } from '../helpers/changes.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
// A `.cjs` change program finds the driver through NODE_PATH, as one in a project finds its own.
const NODE_PATH = join(ROOT, 'node_modules');

function project(files: Record<string, string>) {
  const dir = fixture.project(files);
  return dir;
}

describe('shell-command changes', () => {
  it('a commit/rollback pair is applied and rolled back; status, --dry-run and history show the shell runner', async () => {
    const p = project({
      'migrations/001_users.mjs':
        "export default { async commit({ db }) { await db.collection('users').insertOne({ _id: 1 }); }, async rollback({ db }) { await db.collection('users').deleteOne({ _id: 1 }); } };\n",
      'migrations/002_flags.commit.sh': driverShellScript('await db.collection("flags").insertOne({ _id: process.env.DELTA_CHANGE_ID, runId: process.env.DELTA_RUN_ID });'),
      'migrations/002_flags.rollback.sh': driverShellScript('await db.collection("flags").deleteOne({ _id: process.env.DELTA_CHANGE_ID });'),
    });
    const db = uniqueDbName('shell');
    const env = { DELTA_URI: fixture.uriFor(db), NODE_PATH };

    const dryRun = await runCli(['commit', '--dry-run'], { cwd: p.dir, env });
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /002_flags {2}shell, without a transaction/);
    assert.match(dryRun.stdout, /001_users {2}(in|without) a transaction/, 'driver changes read as before');

    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    // The script's output lines reach the event log.
    assert.match(commit.stdout, new RegExp(`002_flags: change 002_flags on ${db}`));
    const flags = await fixture.client.db(db).collection('flags').find().toArray();
    assert.equal(flags.length, 1);
    assert.equal(flags[0]?._id, '002_flags');
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '002_flags' as never });
    assert.equal(record?.status, 'applied');
    assert.equal(record?.runner, 'shell');
    assert.equal(record?.transactional, false);
    assert.equal(record?.runId, flags[0]?.runId, 'DELTA_RUN_ID is the run id of the record');

    const status = await runCli(['status'], { cwd: p.dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^STATE\s+ID\s+RUNNER\s+APPLIED AT/m);
    assert.match(status.stdout, /^applied\s+001_users\s+driver\s/m);
    assert.match(status.stdout, /^applied\s+002_flags\s+shell\s/m);

    const rollback = await runCli(['rollback'], { cwd: p.dir, env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.equal(await fixture.client.db(db).collection('flags').countDocuments(), 0);
    assert.equal(await fixture.client.db(db).collection('users').countDocuments(), 1, 'only the last change was rolled back');

    const history = await runCli(['history'], { cwd: p.dir, env });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /^AT\s+ACTION\s+OUTCOME\s+ID\s+RUNNER\s+BY/m);
    assert.match(history.stdout, /rollback\s+success\s+002_flags\s+shell\s/);
    assert.match(history.stdout, /commit\s+success\s+001_users\s+driver\s/);
  });

  it("a script gets the base environment, the configured shellEnv names and its change's DELTA_* facts, never MONGODB_URI, MIGRATIONS_DB_URI or other secrets", async () => {
    const db = uniqueDbName('shenv');
    const p = project({ 'migrations/001_env.commit.sh': 'env | cut -d= -f1 | sort > "$DELTA_CHANGE_ID.names"\n', 'delta.config.json': JSON.stringify({ shellEnv: ['APP_*'] }) });
    const env = {
      DELTA_URI: fixture.uriFor(db),
      MONGODB_URI: 'mongodb://app:Appw0rd@other.example/app',
      MIGRATIONS_DB_URI: fixture.uriFor(`${db}_trk`),
      AWS_SECRET_ACCESS_KEY: 'not-for-scripts',
      LANG: 'C.UTF-8',
      APP_REGION: 'eu-west-1',
    };
    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    const names = readFileSync(join(p.dir, '001_env.names'), 'utf8').trim().split('\n');
    for (const name of ['PATH', 'LANG', 'APP_REGION', 'DELTA_URI', 'DELTA_DB', 'DELTA_CHANGE_ID', 'DELTA_RUN_ID']) assert.ok(names.includes(name), `${name} is passed: ${names.join(' ')}`);
    for (const name of ['MONGODB_URI', 'MIGRATIONS_DB_URI', 'AWS_SECRET_ACCESS_KEY']) assert.ok(!names.includes(name), `${name} is withheld`);
  });

  it('a failing script fails the run (exit 1) and its stderr is kept in the failure record, truncated', async () => {
    const p = project({
      'migrations/001_broken.commit.sh': 'echo "starting"\nhead -c 9000 /dev/zero | tr "\\0" x >&2\necho >&2\necho "boom: table accounts is missing" >&2\nexit 3\n',
    });
    const db = uniqueDbName('shellfail');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 1, commit.stdout + commit.stderr);
    assert.match(commit.stdout + commit.stderr, /boom: table accounts is missing/);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_broken' as never });
    assert.equal(record?.status, 'failed');
    const message = String(record?.error?.message);
    assert.match(message, /001_broken\.commit\.sh: sh exited with code 3; stderr: …x+\nboom: table accounts is missing; stdout: starting/);
    assert.ok(message.length < 2 * 4096 + 300, `the captured output is truncated (${message.length} characters)`);
  });

  it('--timeout kills the script and everything it started (its process group)', async () => {
    const p = project({
      // A background child and a foreground one: both must die when the change times out.
      'migrations/001_slow.commit.sh': 'sleep 30 &\necho $! > background.pid\necho $$ > script.pid\nsleep 30\n',
    });
    const db = uniqueDbName('shelltimeout');
    const started = Date.now();
    const commit = await runCli(['commit', '--timeout', '1500'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(commit.code, 1, commit.stdout + commit.stderr);
    assert.match(commit.stdout + commit.stderr, /timed out after 1500 ms/);
    assert.ok(Date.now() - started < 15_000, 'the run did not wait for the script');
    for (const file of ['background.pid', 'script.pid']) {
      const pid = Number(readFileSync(join(p.dir, file), 'utf8').trim());
      assert.ok(await gone(pid), `${file} (pid ${pid}) was killed`);
    }
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_slow' as never });
    assert.equal(record?.status, 'failed');
  });

  it('Ctrl-C kills the running script, records the change interrupted and exits 130', async () => {
    const p = project({ 'migrations/001_slow.commit.sh': 'echo $$ > script.pid\necho started\nsleep 30\n' });
    const db = uniqueDbName('shellint');
    const result = await runCliSignalledAt(['commit'], '001_slow: started', 'SIGINT', { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(result.code, 130, result.stdout + result.stderr);
    const pid = Number(readFileSync(join(p.dir, 'script.pid'), 'utf8').trim());
    assert.ok(await gone(pid), `the script (pid ${pid}) was killed`);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_slow' as never });
    assert.equal(record?.status, 'failed');
    assert.match(String(record?.error?.message), /interrupted/);
    assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments(), 0, 'the lock was released');
  });

  it('programs maps another extension to a program (config programs: .cjs runs with node)', async () => {
    const p = project({
      'delta.config.json': JSON.stringify({ programs: { '.cjs': 'node' } }),
      'migrations/001_seed.commit.cjs': `const { MongoClient } = require('mongodb');
(async () => {
  const client = await MongoClient.connect(process.env.DELTA_URI);
  await client.db(process.env.DELTA_DB).collection('plans').insertOne({ _id: 'free' });
  await client.close();
})();
`,
    });
    const db = uniqueDbName('shellcjs');
    const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db), NODE_PATH } });
    assert.equal(commit.code, 0, commit.stderr);
    assert.equal(
      await fixture.client
        .db(db)
        .collection('plans')
        .countDocuments({ _id: 'free' as never }),
      1,
    );
    // Without a rollback file the change cannot be rolled back, and says so before doing anything.
    const rollback = await runCli(['rollback'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db), NODE_PATH } });
    assert.notEqual(rollback.code, 0);
    assert.match(rollback.stderr, /001_seed/);
    assert.equal(await fixture.client.db(db).collection('plans').countDocuments(), 1);
  });

  for (const [name, files, expected] of [
    ['a rollback file without its commit file', { 'migrations/001_users.rollback.sh': 'exit 0\n' }, /001_users\.rollback\.sh: a rollback file without its commit file/],
    [
      'two commit files for one id',
      { 'delta.config.json': JSON.stringify({ programs: { '.py': 'python3' } }), 'migrations/001_users.commit.sh': 'exit 0\n', 'migrations/001_users.commit.py': 'pass\n' },
      /001_users\.commit\.py, 001_users\.commit\.sh: two commit files for change "001_users"/,
    ],
  ] as const) {
    it(`${name} is bad input (exit 2) naming the files; nothing is written`, async () => {
      const p = project({ ...files, 'migrations/000_first.mjs': "export default { async commit({ db }) { await db.collection('users').insertOne({ _id: 1 }); } };\n" });
      const db = uniqueDbName('shellbad');
      const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
      assert.equal(commit.code, 2, commit.stdout + commit.stderr);
      assert.match(commit.stderr, expected);
      assert.deepEqual(await snapshotDatabase(fixture.client, db), {});
    });
  }
});

/** Whether a process is gone (or a zombie waiting for a reaper that a container may lack). */
async function gone(pid: number): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    try {
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

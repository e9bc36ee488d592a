// mongosh scripts through the CLI: a `<id>.commit.mongosh.js` / `<id>.rollback.mongosh.js` pair applied
// in the change's transaction and rolled back, its print() output under the change, the runner shown by
// status, --dry-run and history; a commit file without its rollback file applied, and its rollback
// refused before anything is reverted; a syntax error refused (exit 2) before any change runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const FIRST = {
  'migrations/000_first.mjs':
    "export default { async commit({ db }) { await db.collection('first').insertOne({ _id: 1 }); }, async rollback({ db }) { await db.collection('first').deleteOne({ _id: 1 }); } };\n",
};

describe('mongosh scripts (CLI)', () => {
  it('a pair is applied in a transaction and rolled back, print() is in the output, status, --dry-run and history show the runner; a commit file without its rollback file is applied and its rollback refused', async () => {
    const p = fixture.project({
      ...FIRST,
      'migrations/001_flags.commit.mongosh.js': `const flags = db.getSiblingDB(db.getName()).flags;
flags.insertMany([{ _id: 'dark-mode', on: false }, { _id: 'beta', on: true }]);
print('hello from', db.getName());
printjson(flags.findOne({ _id: 'beta' }));
sleep(10);
`,
      'migrations/001_flags.rollback.mongosh.js': "db.flags.deleteMany({ _id: { $in: ['dark-mode', 'beta'] } });\n",
      'migrations/002_seed.commit.mongosh.js': "db.plans.insertOne({ _id: 'free' });\n",
    });
    const db = uniqueDbName('mongosh');
    const env = { DELTA_URI: fixture.uriFor(db) };

    const dryRun = await runCli(['commit', '--dry-run'], { cwd: p.dir, env });
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /001_flags {2}mongosh, in a transaction/);
    assert.deepEqual(await snapshotDatabase(fixture.client, db), {}, '--dry-run changes nothing');

    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, new RegExp(`001_flags: hello from ${db}\\n`));
    assert.match(commit.stdout, /001_flags: \{ _id: 'beta', on: true \}\n/);
    assert.equal(await fixture.client.db(db).collection('flags').countDocuments(), 2);
    assert.equal(await fixture.client.db(db).collection('plans').countDocuments(), 1);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_flags' as never });
    assert.equal(record?.status, 'applied');
    assert.equal(record?.runner, 'mongosh');
    assert.equal(record?.transactional, true);

    const status = await runCli(['status'], { cwd: p.dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^applied\s+000_first\s+driver\s/m);
    assert.match(status.stdout, /^applied\s+001_flags\s+mongosh\s/m);
    assert.match(status.stdout, /^applied\s+002_seed\s+mongosh\s/m);

    // 002_seed has no rollback file: rolling it back is refused before anything is reverted.
    const before = await snapshotDatabase(fixture.client, db);
    const refused = await runCli(['rollback', '--all'], { cwd: p.dir, env });
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /cannot roll back, nothing was reverted: .*002_seed/);
    const after = await snapshotDatabase(fixture.client, db);
    delete before.delta_lock;
    delete after.delta_lock;
    assert.deepEqual(after, before, 'nothing was reverted, not even the changes that have a rollback');

    const rollback = await runCli(['rollback', '--id', '001_flags'], { cwd: p.dir, env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.equal(await fixture.client.db(db).collection('flags').countDocuments(), 0);
    assert.equal(await fixture.client.db(db).collection('first').countDocuments(), 1, 'only that change was rolled back');
    assert.equal(await fixture.client.db(db).collection('plans').countDocuments(), 1);

    const history = await runCli(['history'], { cwd: p.dir, env });
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /rollback\s+success\s+001_flags\s+mongosh\s/);
    assert.match(history.stdout, /commit\s+success\s+001_flags\s+mongosh\s/);
  });

  it('a syntax error is bad input (exit 2): one line naming the file and line, and no change runs, not even earlier ones', async () => {
    const p = fixture.project({ ...FIRST, 'migrations/001_users.commit.mongosh.js': "db.users.createIndex({ email: 1 }, { unique: true });\nprint('unclosed\n" });
    const db = uniqueDbName('mongoshsyntax');
    const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(commit.code, 2, commit.stdout + commit.stderr);
    assert.match(commit.stderr, /^delta: error: 001_users\.commit\.mongosh\.js:2:7: syntax error: Unterminated string constant\n$/);
    assert.deepEqual(await snapshotDatabase(fixture.client, db), {}, 'neither the database nor the tracker was touched');
  });
});

// `delta commit --preview`: the pending changes run in one transaction that is always aborted.
// Counts come from the server's replies; the database (data, indexes, history, audit log, lock)
// is the same before and after; `commit` then does what the preview said.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { withDatabase } from '../helpers/connection-string.js';
import { sandboxOnly, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const PACKAGE = { 'package.json': JSON.stringify({ name: 'app', type: 'module' }) };

interface PreviewJson {
  targetDb: string;
  stopped?: string;
  changes: {
    id: string;
    previewed: boolean;
    reason?: string;
    failure?: string;
    expectations?: string[];
    writes: { collection: string; matched: number; modified: number; inserted: number; deleted: number; upserted: number }[];
    ddl: { action: string; collection: string; name?: string }[];
  }[];
}

/** Documents of every collection (delta's own included) and every collection's indexes. */
async function everything(client: MongoClient, db: string): Promise<unknown> {
  const collections = await client.db(db).listCollections({}, { nameOnly: true }).toArray();
  const indexes: Record<string, unknown> = {};
  for (const { name } of collections) indexes[name] = (await client.db(db).collection(name).listIndexes().toArray()).map((index) => index.name as string).sort();
  return { documents: await snapshotDatabase(client, db), indexes };
}

const BASE =
  "export default { async commit({ db, session }) { await db.collection('users').insertMany([{ _id: 1, plan: 'free' }, { _id: 2, plan: 'free' }, { _id: 3, plan: 'pro' }], { session }); } };\n";

describe('commit --preview through the CLI', () => {
  it('reports exact counts per change and collection, each change seeing those before it; writes nothing; commit then does the same', async () => {
    const db = uniqueDbName('preview');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const p = fixture.project({ ...PACKAGE, 'migrations/000_base.js': BASE });
    assert.equal((await runCli(['commit'], { cwd: p.dir, env })).code, 0);
    p.write(
      'migrations/001_upgrade.js',
      `export default {
  async commit({ db, session }) {
    await db.collection('users').updateMany({ plan: 'free' }, { $set: { plan: 'pro' } }, { session });
    await db.collection('users').updateOne({ _id: 9 }, { $set: { plan: 'vip' } }, { upsert: true, session });
    await db.collection('users').updateMany({ plan: 'pro' }, { $set: { plan: 'pro' } }, { session });
    await db.createCollection('logs', { session });
    await db.collection('logs').createIndex({ at: 1 }, { session });
    await db.collection('logs').insertMany([{ at: 1 }, { at: 2 }], { session });
  },
};
`,
    );
    // Sees 001's effect: three users are 'pro' only once 001 ran.
    p.write('migrations/002_trim.js', "export default { async commit({ db, session }) { await db.collection('users').deleteMany({ plan: 'pro' }, { session }); } };\n");
    p.write('migrations/003_side.js', "export default { transaction: 'never', async commit({ db }) { await db.collection('side').insertOne({ _id: 1 }); } };\n");

    const before = await everything(fixture.client, db);
    const preview = await runCli(['commit', '--preview', '--json'], { cwd: p.dir, env });
    assert.equal(preview.code, 0, preview.stderr);
    const result = JSON.parse(preview.stdout) as PreviewJson;
    assert.deepEqual(await everything(fixture.client, db), before, 'data, indexes, history, audit log and lock as they were');

    const [upgrade, trim, side] = result.changes;
    assert.equal(result.changes.length, 3);
    assert.equal(upgrade?.id, '001_upgrade');
    assert.equal(upgrade.previewed, true);
    assert.deepEqual(upgrade.writes, [
      // 2 free users modified; the upsert; then 3 pro users matched, none modified.
      { collection: 'users', matched: 5, modified: 2, inserted: 0, deleted: 0, upserted: 1 },
      { collection: 'logs', matched: 0, modified: 0, inserted: 2, deleted: 0, upserted: 0 },
    ]);
    assert.deepEqual(upgrade.ddl, [
      { action: 'createCollection', collection: 'logs' },
      { action: 'createIndex', collection: 'logs', name: 'at_1' },
    ]);
    assert.deepEqual(trim?.writes, [{ collection: 'users', matched: 0, modified: 0, inserted: 0, deleted: 3, upserted: 0 }]);
    assert.equal(side?.previewed, false);
    assert.match(side.reason ?? '', /runs without a transaction \(transaction: 'never'\)/);
    assert.equal(result.stopped, undefined);

    const human = await runCli(['commit', '--preview'], { cwd: p.dir, env });
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^CHANGE\s+COLLECTION\s+MATCHED\s+MODIFIED\s+INSERTED\s+DELETED\s+UPSERTED/m);
    assert.match(human.stdout, /^002_trim\s+users\s+0\s+0\s+0\s+3\s+0/m);
    assert.match(human.stdout, /^003_side\s+-\s+not previewed: it runs without a transaction/m);
    assert.match(human.stdout, /nothing was written/);
    assert.deepEqual(await everything(fixture.client, db), before);

    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    const users = await fixture.client.db(db).collection('users').find({}).sort({ _id: 1 }).toArray();
    // 3 users + 1 upserted - 3 deleted, as the preview counted.
    assert.deepEqual(users, [{ _id: 9, plan: 'vip' }]);
    assert.equal(await fixture.client.db(db).collection('logs').countDocuments(), 2);
    assert.ok((await fixture.client.db(db).collection('logs').listIndexes().toArray()).some((index) => index.name === 'at_1'));
  });

  it('shows an expectation that would fail (exit 1) and what the server refuses in a transaction, still writing nothing', async () => {
    const db = uniqueDbName('previewexp');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const p = fixture.project({ ...PACKAGE, 'migrations/000_base.js': BASE });
    assert.equal((await runCli(['commit'], { cwd: p.dir, env })).code, 0);
    await fixture.client
      .db(db)
      .collection('scratch')
      .insertOne({ _id: 1 } as never);
    p.write('migrations/001_mark.js', "export default { async commit({ db, session }) { await db.collection('users').updateMany({}, { $set: { seen: true } }, { session }); } };\n");
    // `drop` is refused inside a transaction: commit would run this change without one.
    p.write('migrations/002_drop.js', "export default { async commit({ db, session }) { await db.collection('scratch').drop({ session }); } };\n");
    p.write(
      'migrations/003_cap.js',
      "export default { expect: { writes: { users: { deleted: { max: 1 } } } }, async commit({ db, session }) { await db.collection('users').deleteMany({ seen: true }, { session }); } };\n",
    );
    const before = await everything(fixture.client, db);
    const preview = await runCli(['commit', '--preview', '--json'], { cwd: p.dir, env });
    assert.equal(preview.code, 1, preview.stderr);
    assert.match(preview.stderr, /003_cap would fail: expectation not met: users: deleted 3 documents, over its limit of 1/);
    const result = JSON.parse(preview.stdout) as PreviewJson;
    assert.deepEqual(
      result.changes.map((c) => [c.id, c.previewed]),
      [
        ['001_mark', true],
        ['002_drop', false],
        ['003_cap', true],
      ],
    );
    assert.match(result.changes[1]?.reason ?? '', /the server refuses an operation of it inside a transaction/);
    // 003 saw 001's effect although the transaction had to start again after 002.
    assert.deepEqual(result.changes[2]?.expectations, ['users: deleted 3 documents, over its limit of 1 (expect.writes.users.deleted.max)']);
    assert.equal(result.stopped, 'commit would stop at 003_cap');
    assert.deepEqual(await everything(fixture.client, db), before);
  });

  it('holds the lock while it runs: a commit meanwhile is refused as busy', async () => {
    const db = uniqueDbName('previewlock');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const p = fixture.project({ ...PACKAGE, 'migrations/000_base.js': BASE });
    assert.equal((await runCli(['commit'], { cwd: p.dir, env })).code, 0);
    p.write(
      'migrations/001_slow.js',
      "export default { async commit({ db, session }) { await db.collection('users').insertOne({ _id: 4 }, { session }); await new Promise((r) => setTimeout(r, 1500)); } };\n",
    );
    const before = await everything(fixture.client, db);
    const previewing = runCli(['commit', '--preview'], { cwd: p.dir, env });
    const locks = fixture.client.db(db).collection('delta_lock');
    const deadline = Date.now() + 10_000;
    while ((await locks.countDocuments()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const busy = await runCli(['commit', '--lock-wait', '0'], { cwd: p.dir, env });
    assert.equal(busy.code, 3, busy.stderr);
    const preview = await previewing;
    assert.equal(preview.code, 0, preview.stderr);
    assert.match(preview.stdout, /^001_slow\s+users\s+0\s+0\s+1\s+0\s+0/m);
    assert.deepEqual(await everything(fixture.client, db), before);
  });

  describe('the transaction time limit', { skip: sandboxOnly('needs a server whose transactionLifetimeLimitSeconds is a fraction of a second') }, () => {
    let sandbox: Sandbox;
    let client: MongoClient;
    before(async () => {
      sandbox = await startSandbox({ port: 0, transactionLifetimeLimitSeconds: 0.5 });
      client = await new MongoClient(sandbox.uri).connect();
    });
    after(async () => {
      await client.close();
      await sandbox.stop();
    });

    it('stops the preview there and says so', async () => {
      const db = 'previewlimit';
      const env = { DELTA_URI: withDatabase(sandbox.uri, db) };
      const p = fixture.project({ ...PACKAGE, 'migrations/000_base.js': BASE });
      assert.equal((await runCli(['commit'], { cwd: p.dir, env })).code, 0);
      p.write('migrations/001_quick.js', "export default { async commit({ db, session }) { await db.collection('users').insertOne({ _id: 4 }, { session }); } };\n");
      p.write(
        'migrations/002_slow.js',
        "export default { async commit({ db, session }) { await new Promise((r) => setTimeout(r, 1500)); await db.collection('users').insertOne({ _id: 5 }, { session }); } };\n",
      );
      p.write('migrations/003_after.js', "export default { async commit({ db, session }) { await db.collection('users').insertOne({ _id: 6 }, { session }); } };\n");
      const before = await everything(client, db);
      const preview = await runCli(['commit', '--preview'], { cwd: p.dir, env });
      assert.equal(preview.code, 0, preview.stderr);
      assert.match(preview.stdout, /^001_quick\s+users\s+0\s+0\s+1\s+0\s+0/m);
      assert.match(preview.stdout, /^002_slow\s+-\s+not previewed: the preview stopped at the transaction time limit/m);
      assert.match(preview.stdout, /^003_after\s+-\s+not previewed: the preview stopped at the transaction time limit/m);
      assert.match(preview.stdout, /Stopped: the preview stopped at the transaction time limit \(transactionLifetimeLimitSeconds, \d+ s\) rather than hold its locks longer/);
      assert.deepEqual(await everything(client, db), before);
    });
  });
});

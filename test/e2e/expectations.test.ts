// A change's `expect` (limits on what it writes, counted from the server's replies) and `verify`
// (its own check), enforced before its transaction commits: through the CLI, with the documents
// read back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const PACKAGE = { 'package.json': JSON.stringify({ name: 'app', type: 'module' }) };

async function seedUsers(db: string, n: number): Promise<void> {
  await fixture.client
    .db(db)
    .collection<{ _id: number; plan: string }>('users')
    .insertMany(Array.from({ length: n }, (_, i) => ({ _id: i + 1, plan: 'free' })));
}

/** The target's collections other than delta's own. */
async function data(db: string): Promise<Record<string, string[]>> {
  const all = await snapshotDatabase(fixture.client, db);
  return Object.fromEntries(Object.entries(all).filter(([name]) => !name.startsWith('delta_')));
}

describe('expect and verify through the CLI', () => {
  it('a change over its limit fails naming collection, count and limit; its transaction is aborted and the run stops', async () => {
    const db = uniqueDbName('expmax');
    await seedUsers(db, 3);
    const before = await data(db);
    const p = fixture.project({
      ...PACKAGE,
      'migrations/001_upgrade.js': `export default {
  expect: { writes: { users: { modified: { max: 2 } }, orders: { deleted: { max: 0 } } } },
  async commit({ db, session }) {
    await db.collection('users').updateMany({}, { $set: { plan: 'pro' } }, { session });
    await db.collection('audit_trail').insertOne({ _id: 'upgrade' }, { session });
  },
};
`,
      'migrations/002_next.js': "export default { async commit({ db, session }) { await db.collection('next').insertOne({ _id: 1 }, { session }); } };\n",
    });
    const run = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /001_upgrade failed: expectation not met: users: modified 3 documents, over its limit of 2 \(expect\.writes\.users\.modified\.max\)/);
    assert.deepEqual(await data(db), before, 'nothing of the change stays, and 002 never ran');
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_upgrade' as never });
    assert.equal(record?.status, 'failed');
    assert.match(String(record?.error?.message), /users: modified 3 documents/);
    assert.equal(
      await fixture.client
        .db(db)
        .collection('delta_migrations')
        .countDocuments({ _id: '002_next' as never }),
      0,
    );
  });

  it('a change within its limits, and a minimum it meets, is applied; one grouped with it that breaks its own limit fails alone', async () => {
    const db = uniqueDbName('expok');
    await seedUsers(db, 3);
    const p = fixture.project({
      ...PACKAGE,
      'migrations/001_ok.js': `export default {
  expect: { writes: { users: { modified: { min: 3, max: 3 }, upserted: { max: 1 } } } },
  async commit({ db, session }) {
    await db.collection('users').updateMany({}, { $set: { plan: 'pro' } }, { session });
    await db.collection('users').updateOne({ _id: 99 }, { $set: { plan: 'vip' } }, { upsert: true, session });
  },
};
`,
      'migrations/002_wipe.js': `export default {
  expect: { writes: { users: { deleted: { max: 0 } } } },
  async commit({ db, session }) { await db.collection('users').deleteMany({ plan: 'pro' }, { session }); },
};
`,
    });
    const run = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /002_wipe failed: expectation not met: users: deleted 3 documents, over its limit of 0/);
    const users = await fixture.client.db(db).collection('users').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      users.map((u) => [u._id, u.plan]),
      [
        [1, 'pro'],
        [2, 'pro'],
        [3, 'pro'],
        [99, 'vip'],
      ],
    );
    const statuses = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      statuses.map((r) => [r._id, r.status]),
      [
        ['001_ok', 'applied'],
        ['002_wipe', 'failed'],
      ],
    );
  });

  it('verify that throws fails the change inside its transaction: nothing stays', async () => {
    const db = uniqueDbName('expverify');
    await seedUsers(db, 2);
    const before = await data(db);
    const p = fixture.project({
      ...PACKAGE,
      'migrations/001_rename.js': `export default {
  async commit({ db, session }) {
    await db.collection('users').updateMany({}, [{ $set: { name: { $concat: ['user ', { $toString: '$_id' }] } } }], { session });
    await db.collection('users').updateOne({ _id: 2 }, { $unset: { name: '' } }, { session });
  },
  async verify({ db, session }) {
    const missing = await db.collection('users').countDocuments({ name: { $exists: false } }, { session });
    if (missing > 0) throw new Error(missing + ' users have no name');
  },
};
`,
    });
    const run = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /001_rename failed: verify failed: 1 users have no name/);
    assert.deepEqual(await data(db), before);
  });

  it('a change without a transaction that breaks its limit is undone by its rollback', async () => {
    const db = uniqueDbName('expnever');
    await fixture.client
      .db(db)
      .collection<{ _id: string; open: boolean }>('orders')
      .insertMany([
        { _id: 'a', open: true },
        { _id: 'b', open: false },
      ]);
    const p = fixture.project({
      ...PACKAGE,
      'migrations/001_purge.js': `export default {
  transaction: 'never',
  expect: { writes: { orders: { deleted: { max: 0 } } } },
  async commit({ db }) { await db.collection('archive').insertMany(await db.collection('orders').find({ open: false }).toArray()); await db.collection('orders').deleteMany({ open: false }); },
  async rollback({ db }) {
    const archived = await db.collection('archive').find({}).toArray();
    if (archived.length > 0) await db.collection('orders').insertMany(archived);
    await db.collection('archive').drop().catch(() => undefined);
  },
};
`,
    });
    const run = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /001_purge failed: expectation not met: orders: deleted 1 document, over its limit of 0 .*its rollback ran to compensate/);
    const orders = await fixture.client.db(db).collection('orders').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(orders, [
      { _id: 'a', open: true },
      { _id: 'b', open: false },
    ]);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_purge' as never });
    assert.equal(record?.status, 'failed');
    assert.equal(record?.error?.compensated, true);
  });

  it('a YAML template takes expect too', async () => {
    const db = uniqueDbName('expyaml');
    await seedUsers(db, 4);
    const before = await data(db);
    const p = fixture.project({
      'migrations/001_trim.yaml': 'expect:\n  writes:\n    users: { deleted: { max: 2 } }\ncommit:\n  - deleteMany: { collection: users, filter: { _id: { $gt: 1 } } }\n',
    });
    const run = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /001_trim failed: expectation not met: users: deleted 3 documents, over its limit of 2/);
    assert.deepEqual(await data(db), before);
  });
});

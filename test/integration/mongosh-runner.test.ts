// mongosh scripts (`<id>.commit.mongosh.js` / `<id>.rollback.mongosh.js`) through the public API: the
// same two changes written as TypeScript, as mongosh pairs and as shell pairs leave the same documents
// and indexes, and their rollbacks the same state; a script inside the change's transaction that
// throws leaves nothing; its output reaches the event log; its syntax errors and settings are bad input.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Delta } from '../../src/index.js';
import { ChangeFileError, createDelta } from '../../src/index.js';
import { driverShellScript } from '../helpers/changes.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const open: Delta[] = [];

/**
 * Two changes: a unique index (DDL: without a transaction, since MongoDB drops nothing inside one)
 * and data written in the change's transaction where the deployment has them.
 */
const TYPESCRIPT = {
  'migrations/001_users_index.ts': `export default {
  transaction: 'never',
  async commit({ db }) { await db.collection('users').createIndex({ email: 1 }, { unique: true }); },
  async rollback({ db }) { await db.collection('users').drop(); },
};
`,
  'migrations/002_users_data.ts': `export default {
  async commit({ db, session }) {
    await db.collection('users').insertMany([{ _id: 1, email: 'ada@example.com' }, { _id: 2, email: 'alan@example.com' }], { session });
    await db.collection('users').updateOne({ _id: 1 }, { $set: { name: 'Ada', visits: 1 } }, { session });
  },
  async rollback({ db, session }) { await db.collection('users').deleteMany({ _id: { $in: [1, 2] } }, { session }); },
};
`,
};

const MONGOSH = {
  'migrations/001_users_index.commit.mongosh.js': `// delta:transaction=never
db.users.createIndex({ email: 1 }, { unique: true });
`,
  'migrations/001_users_index.rollback.mongosh.js': 'db.users.drop();\n',
  'migrations/002_users_data.commit.mongosh.js': `db.users.insertMany([{ _id: 1, email: 'ada@example.com' }, { _id: 2, email: 'alan@example.com' }]);
db.users.updateOne({ _id: 1 }, { $set: { name: 'Ada', visits: 1 } });
print('users:', db.users.countDocuments());
`,
  'migrations/002_users_data.rollback.mongosh.js': 'db.users.deleteMany({ _id: { $in: [1, 2] } });\n',
};

const SHELL = {
  'migrations/001_users_index.commit.sh': driverShellScript('await db.collection("users").createIndex({ email: 1 }, { unique: true });'),
  'migrations/001_users_index.rollback.sh': driverShellScript('await db.collection("users").drop();'),
  'migrations/002_users_data.commit.sh': driverShellScript(
    'await db.collection("users").insertMany([{ _id: 1, email: "ada@example.com" }, { _id: 2, email: "alan@example.com" }]); await db.collection("users").updateOne({ _id: 1 }, { $set: { name: "Ada", visits: 1 } });',
  ),
  'migrations/002_users_data.rollback.sh': driverShellScript('await db.collection("users").deleteMany({ _id: { $in: [1, 2] } });'),
};

function setup(files: Record<string, string>, prefix: string) {
  const project = fixture.project(files);
  const db = uniqueDbName(prefix);
  const delta = createDelta({ config: { uri: fixture.uriFor(db), db, path: join(project.dir, 'migrations') }, cwd: project.dir, env: {} });
  open.push(delta);
  const log: string[] = [];
  delta.on('change:log', (event) => log.push(`${event.changeId}: ${event.message}`));
  return { db, delta, log };
}

/** The target's own collections (not delta's), their documents and their indexes, comparable across databases. */
async function state(db: string) {
  const snapshot = await snapshotDatabase(fixture.client, db);
  const indexes: Record<string, unknown[]> = {};
  for (const name of Object.keys(snapshot)) {
    if (name.startsWith('delta_')) {
      delete snapshot[name];
      continue;
    }
    indexes[name] = (await fixture.client.db(db).collection(name).indexes())
      .map(({ key, name: index, unique }) => ({ key, name: index, unique }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
  }
  return { documents: snapshot, indexes };
}

describe('mongosh scripts', () => {
  after(async () => {
    await Promise.all(open.map((delta) => delta.close()));
  });

  it('the same changes as TypeScript, as mongosh pairs and as shell pairs leave the same database, and roll back to the same states', async () => {
    const runs = [setup(TYPESCRIPT, 'same_ts'), setup(MONGOSH, 'same_mongosh'), setup(SHELL, 'same_shell')];
    for (const run of runs) {
      const result = await run.delta.commit();
      assert.equal(result.outcome, 'success', result.error?.message);
    }
    const [ts, mongosh, shell] = await Promise.all(runs.map((run) => state(run.db)));
    assert.deepEqual(ts?.documents, {
      users: ['{"_id":{"$numberInt":"1"},"email":"ada@example.com","name":"Ada","visits":{"$numberInt":"1"}}', '{"_id":{"$numberInt":"2"},"email":"alan@example.com"}'],
    });
    assert.deepEqual(ts?.indexes.users, [
      { key: { _id: 1 }, name: '_id_', unique: undefined },
      { key: { email: 1 }, name: 'email_1', unique: true },
    ]);
    assert.deepEqual(mongosh, ts, 'mongosh pair = TypeScript');
    assert.deepEqual(shell, ts, 'shell pair = TypeScript');

    const [, mongoshRun] = runs;
    assert.deepEqual(mongoshRun?.log, ['002_users_data: users: 2'], 'print() reaches the event log');
    const [tsRecords, mongoshRecords] = await Promise.all([runs[0], mongoshRun].map((run) => fixture.client.db(run?.db).collection('delta_migrations').find().sort({ _id: 1 }).toArray()));
    assert.deepEqual(
      mongoshRecords?.map((r) => [r._id, r.runner, r.status, r.transactional]),
      tsRecords?.map((r) => [r._id, 'mongosh', 'applied', r.transactional]),
      'recorded as the TypeScript changes are, in a transaction or not alike',
    );
    assert.equal(mongoshRecords?.[0]?.transactional, false, '// delta:transaction=never');

    // Rolling back the data change leaves the index; rolling back the index leaves nothing of either.
    for (const steps of [1, 1]) {
      for (const run of runs) {
        const result = await run.delta.rollback({ steps });
        assert.equal(result.outcome, 'success', result.error?.message);
      }
      const [tsAfter, mongoshAfter, shellAfter] = await Promise.all(runs.map((run) => state(run.db)));
      assert.deepEqual(mongoshAfter, tsAfter);
      assert.deepEqual(shellAfter, tsAfter);
    }
    const [emptied] = await Promise.all(runs.map((run) => state(run.db)));
    assert.deepEqual(emptied, { documents: {}, indexes: {} });
  });

  it("a script that throws inside the change's transaction leaves nothing, and the change is recorded failed", async () => {
    const { db, delta } = setup(
      {
        'migrations/001_orders.commit.mongosh.js': `db.orders.insertOne({ _id: 1, total: 10 });
db.getSiblingDB(db.getName()).orders.insertOne({ _id: 2, total: 20 });
if (db.orders.countDocuments() === 2) throw new Error('totals do not add up');
`,
      },
      'mongosh_tx',
    );
    const result = await delta.commit();
    assert.equal(result.outcome, 'failed');
    assert.match(String(result.error?.message), /001_orders\.commit\.mongosh\.js: totals do not add up/);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_orders' as never });
    assert.equal(record?.status, 'failed');
    assert.equal(record?.transactional, true);
    assert.match(String(record?.error?.message), /totals do not add up/);
    assert.equal(await fixture.client.db(db).collection('orders').countDocuments(), 0, 'the transaction was aborted');
  });

  it('a server error keeps its code in the record (E11000 from the unique index)', async () => {
    const { db, delta } = setup(
      {
        'migrations/001_dup.commit.mongosh.js': "// delta:transaction=never\ndb.tags.insertOne({ _id: 'a' });\n['a', 'b'].forEach((id) => db.tags.insertOne({ _id: id }));\n",
      },
      'mongosh_dup',
    );
    const result = await delta.commit();
    assert.equal(result.outcome, 'failed');
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_dup' as never });
    assert.equal(record?.error?.code, 11000, 'a callback of forEach is awaited, and its error fails the change');
    assert.match(String(record?.error?.message), /001_dup\.commit\.mongosh\.js: E11000 duplicate key/);
  });

  it("driver arrays iterate with the shell's semantics during a script, and delta's own realm is left as it was", async () => {
    const nativeMap = Array.prototype.map;
    const { db, delta } = setup(
      {
        'migrations/001_copy.commit.mongosh.js': `db.source.insertOne({ _id: 1, tags: ['x', 'y', 'z'] });
db.source.findOne({ _id: 1 }).tags.forEach((tag) => db.copies.insertOne({ _id: tag }));
db.getCollectionNames().filter((name) => name === 'copies').map((name) => db[name].updateMany({}, { $set: { seen: true } }));
`,
      },
      'mongosh_realm',
    );
    const result = await delta.commit();
    assert.equal(result.outcome, 'success', result.error?.message);
    assert.deepEqual(await fixture.client.db(db).collection('copies').find().sort({ _id: 1 }).toArray(), [
      { _id: 'x', seen: true },
      { _id: 'y', seen: true },
      { _id: 'z', seen: true },
    ] as never);
    assert.equal(Array.prototype.map, nativeMap, 'Array.prototype.map is the native one again');
  });

  it('quit() ends a script: quit() or quit(0) as a success, quit(n) as a failure', async () => {
    const { db, delta } = setup(
      {
        'migrations/001_stop.commit.mongosh.js': 'db.done.insertOne({ _id: 1 });\nquit();\ndb.done.insertOne({ _id: 2 });\n',
        'migrations/002_refuse.commit.mongosh.js': 'if (db.done.countDocuments() === 1) quit(3);\ndb.done.insertOne({ _id: 3 });\n',
      },
      'mongosh_quit',
    );
    const result = await delta.commit();
    assert.equal(result.outcome, 'failed');
    assert.match(String(result.error?.message), /002_refuse\.commit\.mongosh\.js: quit\(3\)/);
    assert.deepEqual(await fixture.client.db(db).collection('done').find().toArray(), [{ _id: 1 }] as never);
  });

  for (const [name, files, expected] of [
    [
      'a syntax error in the rollback file',
      { 'migrations/001_x.commit.mongosh.js': 'db.x.insertOne({ a: 1 });\n', 'migrations/001_x.rollback.mongosh.js': 'db.x.deleteMany({}\n' },
      /^001_x\.rollback\.mongosh\.js:2:1: syntax error: /,
    ],
    [
      'an unknown setting',
      { 'migrations/001_x.commit.mongosh.js': '// delta:timeoutMs=10\ndb.x.insertOne({ a: 1 });\n' },
      /^001_x\.commit\.mongosh\.js:1: unknown setting delta:timeoutMs; a mongosh change can set only delta:transaction$/,
    ],
    [
      'a wrong transaction mode',
      { 'migrations/001_x.commit.mongosh.js': '// comment first\n// delta:transaction=sometimes\n' },
      /^001_x\.commit\.mongosh\.js:2: delta:transaction must be one of auto, always, never, got "sometimes"$/,
    ],
  ] as const) {
    it(`${name} is bad input before anything runs`, async () => {
      const { db, delta } = setup({ ...files, 'migrations/000_first.mjs': "export default { async commit({ db }) { await db.collection('first').insertOne({ _id: 1 }); } };\n" }, 'mongosh_bad');
      await assert.rejects(delta.commit(), (error: unknown) => error instanceof ChangeFileError && expected.test(error.message));
      assert.deepEqual(await snapshotDatabase(fixture.client, db), {});
    });
  }
});

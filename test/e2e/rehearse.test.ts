// `delta rehearse`: the target copied into a scratch database, its pending changes committed,
// rolled back and committed again there; every difference named by change and collection. The
// target (data, indexes, history, audit log) is only read, and the scratch database is dropped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MongoClient } from 'mongodb';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const PACKAGE = { 'package.json': JSON.stringify({ name: 'app', type: 'module' }) };

interface RehearsalJson {
  changes: string[];
  copied: { name: string; documents: number }[];
  differences: { step: string; change: string; collection: string; what: string; detail: string; examples?: string[] }[];
  failure?: { change: string; step: string; message: string };
  scratchDb: string;
  kept: boolean;
}

/** Documents of every collection (delta's own included) and every collection's indexes. */
async function everything(client: MongoClient, db: string): Promise<unknown> {
  const collections = await client.db(db).listCollections({}, { nameOnly: true }).toArray();
  const indexes: Record<string, unknown> = {};
  for (const { name } of collections) indexes[name] = (await client.db(db).collection(name).listIndexes().toArray()).map((index) => index.name as string).sort();
  return { documents: await snapshotDatabase(client, db), indexes };
}

async function databaseNames(): Promise<string[]> {
  return (await fixture.client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name);
}

const BASE = `export default {
  async commit({ db, session }) {
    await db.collection('orders').insertMany([{ _id: 1, status: 'open' }, { _id: 2, status: 'void' }, { _id: 3, status: 'void' }, { _id: 4, status: 'paid' }], { session });
  },
};
`;

/** A project whose 000_base is applied on a fresh target, the files given pending. */
async function applied(prefix: string, pending: Record<string, string>) {
  const db = uniqueDbName(prefix);
  const env = { DELTA_URI: fixture.uriFor(db) };
  const p = fixture.project({ ...PACKAGE, 'migrations/000_base.js': BASE });
  const base = await runCli(['commit'], { cwd: p.dir, env });
  assert.equal(base.code, 0, base.stderr);
  await fixture.client.db(db).collection('orders').createIndex({ status: 1 });
  for (const [file, text] of Object.entries(pending)) p.write(`migrations/${file}`, text);
  return { db, env, p, before: await everything(fixture.client, db) };
}

describe('delta rehearse through the CLI', () => {
  it('catches a rollback that forgets to restore deleted documents: exit 4 naming change, collection and _ids; target untouched, scratch dropped', async () => {
    const { db, env, p, before } = await applied('rehdocs', {
      '001_purge.js': `export default {
  async commit({ db, session }) { await db.collection('orders').deleteMany({ status: 'void' }, { session }); },
  async rollback() { /* forgets the deleted orders */ },
};
`,
    });
    const run = await runCli(['rehearse', '--json'], { cwd: p.dir, env });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /rolling back 001_purge did not restore orders: 2 expected documents missing or changed/);
    const result = JSON.parse(run.stdout) as RehearsalJson;
    assert.deepEqual(result.changes, ['001_purge']);
    assert.deepEqual(result.copied, [{ name: 'orders', type: 'collection', documents: 4, total: 4 }]);
    const [difference] = result.differences;
    assert.equal(result.differences.length, 1, JSON.stringify(result.differences));
    assert.equal(difference?.step, 'rollback');
    assert.equal(difference.change, '001_purge');
    assert.equal(difference.collection, 'orders');
    assert.deepEqual(difference.examples, ['2', '3']);
    assert.deepEqual(await everything(fixture.client, db), before, "the target's data, indexes and history as they were");
    assert.ok(!(await databaseNames()).some((name) => name.startsWith(`${db}_rehearse_`)), 'scratch database dropped');
  });

  it('catches a rollback that forgets an index it dropped', async () => {
    const { db, env, p, before } = await applied('rehindex', {
      '001_reindex.js': `export default {
  transaction: 'never',
  async commit({ db }) { await db.collection('orders').dropIndex('status_1'); await db.collection('orders').createIndex({ status: 1, _id: 1 }); },
  async rollback({ db }) { await db.collection('orders').dropIndex('status_1__id_1'); },
};
`,
    });
    const run = await runCli(['rehearse'], { cwd: p.dir, env });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stdout, /✗ rolling back 001_reindex did not restore orders: index status_1 is missing/);
    // Committing it again then fails too (its index is gone): the rollback is named as the cause.
    assert.match(
      run.stderr,
      /rehearsal found 1 difference; first: rolling back 001_reindex did not restore orders: index status_1 is missing \(\{"key":\{"status":1\},"name":"status_1"\}\); then the recommit of 001_reindex failed/,
    );
    assert.deepEqual(await everything(fixture.client, db), before);
  });

  it('passes a clean rehearsal (exit 0); --keep --scratch-db keeps the copy with the changes applied again', async () => {
    const { db, env, p, before } = await applied('rehclean', {
      '001_archive.js': `export default {
  async commit({ db, session }) {
    const dead = await db.collection('orders').find({ status: 'void' }, { session }).toArray();
    await db.collection('archive').insertMany(dead.map((order) => ({ ...order, archivedAt: new Date() })), { session });
    await db.collection('orders').deleteMany({ status: 'void' }, { session });
  },
  async rollback({ db, session }) {
    const archived = await db.collection('archive').find({}, { session }).toArray();
    await db.collection('orders').insertMany(archived.map(({ archivedAt, ...order }) => order), { session });
    await db.collection('archive').drop({ session });
  },
};
`,
      '002_index.js': `export default {
  transaction: 'never',
  async commit({ db }) { await db.collection('orders').createIndex({ paidAt: 1 }, { sparse: true }); },
  async rollback({ db }) { await db.collection('orders').dropIndex('paidAt_1'); },
};
`,
    });
    const scratchDb = `${db}_copy`;
    const run = await runCli(['rehearse', '--keep', '--scratch-db', scratchDb, '--sample', '3'], { cwd: p.dir, env });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /Copied 1 collection of .* \(3 documents, up to 3 each\)/);
    assert.match(run.stdout, /✓ every rollback restored the database, and the second commit matched the first/);
    assert.deepEqual(await everything(fixture.client, db), before);
    // The copy holds the sample (3 of 4 orders) after the second commit.
    const kept = fixture.client.db(scratchDb);
    assert.deepEqual(await kept.collection('orders').find({}).sort({ _id: 1 }).toArray(), [{ _id: 1, status: 'open' }]);
    assert.deepEqual(
      (await kept.collection('archive').find({}).sort({ _id: 1 }).toArray()).map((order) => order._id),
      [2, 3],
    );
    const records = await kept.collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      records.map((record) => [record._id, record.status]),
      [
        ['000_base', 'applied'],
        ['001_archive', 'applied'],
        ['002_index', 'applied'],
      ],
    );
    await kept.dropDatabase();
  });

  it('catches a second commit that differs from the first (a rollback that leaves a marker behind)', async () => {
    const { env, p } = await applied('rehrecommit', {
      '001_bump.js': `export default {
  async commit({ db, session }) { await db.collection('orders').updateMany({ bumped: { $ne: true } }, { $inc: { version: 1 }, $set: { bumped: true } }, { session }); },
  async rollback({ db, session }) { await db.collection('orders').updateMany({}, { $inc: { version: -1 } }, { session }); },
};
`,
    });
    const run = await runCli(['rehearse', '--json'], { cwd: p.dir, env });
    assert.equal(run.code, 4, run.stderr);
    const result = JSON.parse(run.stdout) as RehearsalJson;
    assert.deepEqual(
      result.differences.map((d) => [d.step, d.change, d.collection, d.what, d.examples?.length]),
      [
        ['rollback', '001_bump', 'orders', 'documents', 4],
        ['recommit', '001_bump', 'orders', 'documents', 4],
      ],
    );
  });

  it('exits 1 when a change fails in the rehearsal, naming it', async () => {
    const { db, env, p, before } = await applied('rehfail', {
      '001_boom.js': "export default { async commit() { throw new Error('no such field'); }, async rollback() {} };\n",
    });
    const run = await runCli(['rehearse'], { cwd: p.dir, env });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, /✗ 001_boom failed during its commit: 001_boom failed: no such field/);
    assert.deepEqual(await everything(fixture.client, db), before);
  });

  it('--in-sandbox rehearses in the built-in server: the target deployment is only read', async () => {
    const { db, env, p, before } = await applied('rehsandbox', {
      '001_purge.js': `export default {
  async commit({ db, session }) { await db.collection('orders').deleteMany({ status: 'void' }, { session }); },
  async rollback() {},
};
`,
    });
    // Other test files may create databases meanwhile (a shared MONGODB_URI): look at this test's names only.
    const ours = async () => (await databaseNames()).filter((name) => name.startsWith(db));
    const databases = await ours();
    const run = await runCli(['rehearse', '--in-sandbox', '--json'], { cwd: p.dir, env });
    assert.equal(run.code, 4, run.stderr);
    const result = JSON.parse(run.stdout) as RehearsalJson & { elsewhere: boolean };
    assert.equal(result.elsewhere, true);
    assert.equal(result.scratchDb, db);
    assert.deepEqual(
      result.differences.map((d) => [d.step, d.change, d.collection, d.what]),
      [['rollback', '001_purge', 'orders', 'documents']],
    );
    assert.deepEqual(await everything(fixture.client, db), before);
    assert.deepEqual(await ours(), databases, 'no scratch database created on the target deployment');
  });
});

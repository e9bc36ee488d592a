// Which database a run writes to when a connection string comes from outside the config file
// (issue #20 item 10): the config `delta init` writes, run with DELTA_URI=mongodb://host/x, must
// write the changes and the tracker into x and nothing into the `app` of its default URI; --db
// still wins over the environment; a tracker URI's database wins over the file's tracker.db.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkDeltaPackage, runCli } from '../helpers/cli.js';
import { withDatabase } from '../helpers/connection-string.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** A change that leaves a document named after itself in a collection only this test uses. */
const change = (collection: string, id: string) => `export default {
  async commit({ db, session }) { await db.collection('${collection}').insertOne({ _id: '${id}' }, { session }); },
  async rollback({ db, session }) { await db.collection('${collection}').deleteOne({ _id: '${id}' }, { session }); },
};
`;

/** A project set up the way the README starts one: `delta init`, then one change. */
async function initProject() {
  const p = fixture.project();
  linkDeltaPackage(p.dir);
  const init = await runCli(['init'], { cwd: p.dir });
  assert.equal(init.code, 0, init.stderr);
  const collection = uniqueDbName('effects');
  const id = `20240101000000_${collection}`;
  p.write(`migrations/${id}.ts`, change(collection, id));
  return { ...p, collection, id };
}

/** What database `db` holds of this test's change: its documents, record and audit events. */
async function traces(db: string, collection: string, id: string) {
  const database = fixture.client.db(db);
  return {
    documents: (await database.collection(collection).find({}).toArray()).map((doc) => String(doc._id)),
    records: (
      await database
        .collection('delta_migrations')
        .find({ _id: id as never })
        .toArray()
    ).map((r) => [r._id, r.status, r.targetDb]),
    audit: (await database.collection('delta_audit').find({ changeId: id }).toArray()).map((e) => [e.action, e.outcome]),
  };
}

const NOTHING = { documents: [], records: [], audit: [] };

describe('the database of a connection string from outside the config file', () => {
  it('delta init, then DELTA_URI=<server>/x delta commit: the changes and the tracker go to x, nothing to app', async () => {
    const p = await initProject();
    const x = uniqueDbName('x');
    const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(x) } });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, new RegExp(`Applying 1 change to ${x}`));
    assert.deepEqual(await traces(x, p.collection, p.id), { documents: [p.id], records: [[p.id, 'applied', x]], audit: [['commit', 'success']] });
    assert.deepEqual(await traces('app', p.collection, p.id), NOTHING, 'the database in the default URI of delta.config.ts is untouched');
    if (fixture.server.sandbox !== undefined) {
      assert.deepEqual(await fixture.client.db('app').listCollections().toArray(), [], 'app was never created');
    }

    const status = await runCli(['status', '--json'], { cwd: p.dir, env: { MONGODB_URI: fixture.uriFor(x) } });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(
      (JSON.parse(status.stdout) as { changes: { id: string; state: string }[] }).changes.map((c) => [c.id, c.state]),
      [[p.id, 'applied']],
      'MONGODB_URI names the same database',
    );
  });

  it('--db wins over the database of DELTA_URI', async () => {
    const p = await initProject();
    const x = uniqueDbName('x');
    const chosen = uniqueDbName('chosen');
    const commit = await runCli(['commit', '--db', chosen], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(x) } });
    assert.equal(commit.code, 0, commit.stderr);
    assert.deepEqual(await traces(chosen, p.collection, p.id), { documents: [p.id], records: [[p.id, 'applied', chosen]], audit: [['commit', 'success']] });
    assert.deepEqual(await traces(x, p.collection, p.id), NOTHING);
    assert.deepEqual(await traces('app', p.collection, p.id), NOTHING);
  });

  it('DELTA_URI without a database does not fall back to the database in the replaced URI: exit 2, nothing written', async () => {
    const p = await initProject();
    const withoutDb = withDatabase(fixture.server.uri, '');
    const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: withoutDb } });
    assert.equal(commit.code, 2, commit.stdout);
    assert.match(commit.stderr.trim(), /^delta: error: no database name: pass --db, set DELTA_DB, or put it in the connection string/);
    assert.deepEqual(await traces('app', p.collection, p.id), NOTHING);
  });

  it('MIGRATIONS_DB_URI=<server>/t keeps the history in t, over the tracker.db of the config file', async () => {
    const target = uniqueDbName('target');
    const trackerFromEnv = uniqueDbName('trk_env');
    const trackerInFile = uniqueDbName('trk_file');
    const collection = uniqueDbName('effects');
    const id = `20240101000000_${collection}`;
    const p = fixture.project({
      'delta.config.json': JSON.stringify({ tracker: { db: trackerInFile } }),
      [`migrations/${id}.mjs`]: change(collection, id),
    });
    const commit = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(target), MIGRATIONS_DB_URI: fixture.uriFor(trackerFromEnv) } });
    assert.equal(commit.code, 0, commit.stderr);
    const records = await fixture.client.db(trackerFromEnv).collection('delta_migrations').find({}).toArray();
    assert.deepEqual(
      records.map((r) => [r._id, r.status, r.targetDb]),
      [[`${target}/${id}`, 'applied', target]],
    );
    assert.equal(await fixture.client.db(trackerInFile).collection('delta_migrations').countDocuments(), 0);
    assert.deepEqual((await traces(target, collection, id)).documents, [id]);
  });
});

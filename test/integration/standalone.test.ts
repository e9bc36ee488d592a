// delta against a standalone server (no replica set, so no transactions): `transaction: 'always'`
// is refused before anything runs, `auto` runs without a transaction. Uses MONGODB_STANDALONE_URI
// when set, else a sandbox started as a standalone.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { TransactionUnsupportedError, createDelta } from '../../src/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

let sandbox: Sandbox | undefined;
let uri: string;
let client: MongoClient;
before(async () => {
  const external = process.env.MONGODB_STANDALONE_URI;
  if (external !== undefined && external !== '') uri = external;
  else {
    sandbox = await startSandbox({ standalone: true });
    uri = sandbox.uri;
  }
  client = await new MongoClient(uri).connect();
});
after(async () => {
  await client?.close();
  await sandbox?.stop();
});

function insert(id: string, transaction?: ChangeDefinition['transaction']): ChangeDefinition {
  return {
    id,
    ...(transaction === undefined ? {} : { transaction }),
    async commit({ db, session }) {
      assert.equal(session, undefined, 'no session is handed out without a transaction');
      await db.collection<{ _id: string }>('effects').insertOne({ _id: id });
    },
    async rollback({ db }) {
      await db.collection<{ _id: string }>('effects').deleteOne({ _id: id });
    },
  };
}

describe('on a standalone server', () => {
  it("transaction: 'always' is refused before anything runs, naming the change", async () => {
    const db = uniqueDbName('solo');
    const before = await snapshotDatabase(client, db);
    const delta = createDelta({ config: { uri, db }, changes: [insert('001_a'), insert('002_needs_txn', 'always')], env: {} });
    try {
      await assert.rejects(delta.commit(), (error: unknown) => {
        assert.ok(error instanceof TransactionUnsupportedError);
        assert.match(error.message, /^002_needs_txn requires a transaction \(transaction: 'always'\), but .* is on a standalone server/);
        return true;
      });
    } finally {
      await delta.close();
    }
    assert.deepEqual(await snapshotDatabase(client, db), before, 'nothing was written, not even 001_a');
  });

  it('--transaction always for the run is refused the same way', async () => {
    const db = uniqueDbName('solo');
    const delta = createDelta({ config: { uri, db, transaction: 'always' }, changes: [insert('001_a')], env: {} });
    try {
      await assert.rejects(delta.commit(), TransactionUnsupportedError);
    } finally {
      await delta.close();
    }
  });

  it('auto runs each change without a transaction: recorded running first, then applied', async () => {
    const db = uniqueDbName('solo');
    const delta = createDelta({ config: { uri, db }, changes: [insert('001_a'), insert('002_b')], env: {} });
    try {
      const result = await delta.commit();
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(
        result.changes.map((c) => c.transactional),
        [false, false],
      );
      const rollback = await delta.rollback({ all: true });
      assert.equal(rollback.outcome, 'success');
    } finally {
      await delta.close();
    }
    const records = await client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status, r.transactional]),
      [
        ['001_a', 'rolled_back', false],
        ['002_b', 'rolled_back', false],
      ],
    );
    assert.equal(await client.db(db).collection('effects').countDocuments({}), 0);
  });
});

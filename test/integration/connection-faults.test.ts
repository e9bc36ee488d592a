// The connection dies between a change's write and its commit: the transaction takes the change's
// effect and its tracker record down together, and a retry finds nothing left of the first attempt.
// Fault injection is a sandbox feature, so these cases skip themselves against MONGODB_URI.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeDefinition } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const change: ChangeDefinition = {
  id: '001_insert',
  async commit({ db, session }) {
    await db.collection<{ _id: string }>('effects').insertOne({ _id: 'one' }, { session });
  },
  async rollback({ db, session }) {
    await db.collection<{ _id: string }>('effects').deleteOne({ _id: 'one' }, { session });
  },
};

/** The write of the tracker record inside the change's transaction: `bulkWrite` on MongoDB 8, else `update`. */
async function recordCommand(): Promise<string> {
  const hello = await fixture.client.db('admin').command({ hello: 1 });
  return (hello.maxWireVersion as number) >= 25 ? 'bulkWrite' : 'update';
}

describe('a connection lost inside the change transaction', () => {
  it('is retried as a whole: the effect and the record exist exactly once', async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('fault');
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [change], env: {} });
    try {
      sandbox.faults.closeAfter(1, { command: await recordCommand() });
      const result = await delta.commit();
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }]);
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(records.map((r) => [r.changeId, r.status]), [['001_insert', 'applied']]);
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });

  it('when every attempt loses its connection, neither the effect nor an applied record remains', async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('fault');
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [change], env: {} });
    try {
      const command = await recordCommand();
      // The runner tries a transaction three times; each attempt's record write loses its connection.
      for (const n of [1, 2, 3]) sandbox.faults.closeAfter(n, { command });
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      assert.match(result.error?.message ?? '', /^001_insert failed: .*(closed|connection)/i);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [], 'the change left nothing');
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(records.map((r) => [r.changeId, r.status]), [['001_insert', 'failed']], 'only the failure is recorded, outside the aborted transaction');
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });
});

describe("a killed runner's transaction still open on the server", () => {
  it('holds the history record: the next run waits for the server to abort it, then applies the change once', async () => {
    const db = uniqueDbName('orphan');
    const first: ChangeDefinition = { id: '000_first', async commit() {} };
    const earlier = createDelta({ config: { uri: fixture.server.uri, db }, changes: [first], env: {} });
    assert.equal((await earlier.commit()).outcome, 'success');
    await earlier.close();
    // What a runner killed between its record write and commitTransaction leaves: a transaction
    // holding the change's record, aborted by the server only at transactionLifetimeLimitSeconds.
    const orphan = fixture.client.startSession();
    orphan.startTransaction();
    await fixture.client.db(db).collection<{ _id: string }>('delta_migrations').updateOne({ _id: '001_insert' }, { $set: { status: 'applied' } }, { upsert: true, session: orphan });
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [first, change], env: {} });
    try {
      const aborted = new Promise<void>((resolve) => setTimeout(() => void orphan.abortTransaction().finally(resolve), 700));
      const result = await delta.commit();
      await aborted;
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }]);
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(records.map((r) => [r.changeId, r.status]), [['000_first', 'applied'], ['001_insert', 'applied']]);
    } finally {
      await orphan.endSession();
      await delta.close();
    }
  });
});

// Conformance: multi-document transactions through driver sessions — commit, abort, isolation
// from other sessions, snapshot reads, write conflicts (112 + TransientTransactionError), the
// retry loop of withTransaction, and errors that abort the transaction.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MongoServerError } from 'mongodb';
import type { ClientSession, Collection, Db } from 'mongodb';
import { expectServerError, useConformanceServer } from './conformance-helpers.js';
import type { Doc, IdValue } from './conformance-helpers.js';

const ctx = useConformanceServer();

/** A database with the named collections already created (creating them inside a transaction is not the point here). */
async function prepared(prefix: string, ...names: string[]): Promise<Db> {
  const db = ctx.db(prefix);
  for (const name of names) await db.createCollection(name);
  return db;
}

async function withSession<T>(body: (session: ClientSession) => Promise<T>): Promise<T> {
  const session = ctx.client.startSession();
  try {
    return await body(session);
  } finally {
    await session.endSession();
  }
}

async function valueOf(coll: Collection<Doc>, id: IdValue, session?: ClientSession): Promise<unknown> {
  return (await coll.findOne({ _id: id }, session === undefined ? {} : { session }))?.v;
}

describe('commit and abort', () => {
  it('withTransaction commits: every write becomes visible', async () => {
    const db = await prepared('txn_commit', 'c');
    const coll = db.collection<Doc>('c');
    await withSession((session) =>
      session.withTransaction(async () => {
        await coll.insertOne({ _id: 1, v: 'a' }, { session });
        await coll.insertOne({ _id: 2, v: 'b' }, { session });
        await coll.updateOne({ _id: 1 }, { $set: { v: 'a2' } }, { session });
      }),
    );
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, v: 'a2' },
      { _id: 2, v: 'b' },
    ]);
  });

  it('abortTransaction discards inserts, updates and deletes', async () => {
    const db = await prepared('txn_abort', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 3, v: 3 }, { session });
      await coll.updateOne({ _id: 1 }, { $set: { v: 100 } }, { session });
      await coll.deleteOne({ _id: 2 }, { session });
      assert.equal(await coll.countDocuments({}, { session }), 2);
      await session.abortTransaction();
    });
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
  });

  it('a manual commit makes the writes visible only at commit', async () => {
    const db = await prepared('txn_manual', 'c');
    const coll = db.collection<Doc>('c');
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 1, v: 1 }, { session });
      assert.equal(await coll.countDocuments(), 0, 'not visible before commit');
      await session.commitTransaction();
    });
    assert.equal(await coll.countDocuments(), 1);
  });

  it('commitTransaction called twice is a successful retry', async () => {
    const db = await prepared('txn_recommit', 'c');
    const coll = db.collection<Doc>('c');
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await session.commitTransaction();
      await session.commitTransaction();
    });
    assert.equal(await coll.countDocuments(), 1);
  });

  it('inserts into several collections are all-or-nothing', async () => {
    const db = await prepared('txn_multi', 'orders', 'audit');
    const orders = db.collection<Doc>('orders');
    const audit = db.collection<Doc>('audit');
    await withSession(async (session) => {
      session.startTransaction();
      await orders.insertOne({ _id: 'o1' }, { session });
      await audit.insertOne({ _id: 'a1', order: 'o1' }, { session });
      await session.abortTransaction();
    });
    assert.equal(await orders.countDocuments(), 0);
    assert.equal(await audit.countDocuments(), 0);
    await withSession((session) =>
      session.withTransaction(async () => {
        await orders.insertOne({ _id: 'o2' }, { session });
        await audit.insertOne({ _id: 'a2', order: 'o2' }, { session });
      }),
    );
    assert.deepEqual(await orders.find().toArray(), [{ _id: 'o2' }]);
    assert.deepEqual(await audit.find().toArray(), [{ _id: 'a2', order: 'o2' }]);
  });

  it('an error thrown by the withTransaction callback aborts and is rethrown', async () => {
    const db = await prepared('txn_cb_error', 'c');
    const coll = db.collection<Doc>('c');
    const failure = new Error('callback failed');
    await assert.rejects(
      withSession((session) =>
        session.withTransaction(async () => {
          await coll.insertOne({ _id: 1 }, { session });
          throw failure;
        }),
      ),
      (error: unknown) => error === failure,
    );
    assert.equal(await coll.countDocuments(), 0);
  });
});

describe('isolation', () => {
  it('reads inside the transaction see its own writes; countDocuments too', async () => {
    const db = await prepared('txn_own', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 2 }]);
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 3, v: 3 }, { session });
      await coll.updateOne({ _id: 1 }, { $set: { v: 10 } }, { session });
      await coll.deleteOne({ _id: 2 }, { session });
      assert.deepEqual(await coll.find({}, { session }).sort({ _id: 1 }).toArray(), [
        { _id: 1, v: 10 },
        { _id: 3, v: 3 },
      ]);
      assert.equal(await coll.countDocuments({}, { session }), 2);
      assert.equal(await coll.countDocuments({ v: { $gte: 3 } }, { session }), 2);
      const [sum] = await coll.aggregate([{ $group: { _id: null, total: { $sum: '$v' } } }], { session }).toArray();
      assert.equal(sum?.total, 13);
      await session.commitTransaction();
    });
  });

  it('uncommitted writes are invisible to reads outside the transaction', async () => {
    const db = await prepared('txn_invisible', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 'committed' });
    await withSession(async (session) => {
      session.startTransaction();
      await coll.updateOne({ _id: 1 }, { $set: { v: 'pending' } }, { session });
      await coll.insertOne({ _id: 2, v: 'pending' }, { session });
      assert.equal(await valueOf(coll, 1), 'committed');
      assert.equal(await coll.findOne({ _id: 2 }), null);
      assert.equal(await coll.countDocuments(), 1);
      assert.deepEqual(await coll.distinct('v'), ['committed']);
      await session.commitTransaction();
    });
    assert.equal(await valueOf(coll, 1), 'pending');
    assert.equal(await coll.countDocuments(), 2);
  });

  it('reads use a snapshot: a commit made after the first read is not seen', async () => {
    const db = await prepared('txn_snapshot', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([{ _id: 1, v: 'old' }, { _id: 2, v: 'old' }]);
    await withSession(async (session) => {
      session.startTransaction();
      assert.equal(await valueOf(coll, 1, session), 'old');
      await coll.updateOne({ _id: 2 }, { $set: { v: 'new' } });
      await coll.insertOne({ _id: 3, v: 'new' });
      assert.equal(await valueOf(coll, 2, session), 'old', 'the outside update committed after the snapshot');
      assert.equal(await coll.countDocuments({}, { session }), 2, 'the outside insert is not in the snapshot');
      await session.commitTransaction();
    });
    assert.equal(await valueOf(coll, 2), 'new');
  });

  it('writing a document changed outside after the snapshot is a write conflict', async () => {
    const db = await prepared('txn_stale_write', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 0 });
    await withSession(async (session) => {
      session.startTransaction();
      assert.equal(await valueOf(coll, 1, session), 0);
      await coll.updateOne({ _id: 1 }, { $set: { v: 'outside' } });
      await expectServerError(coll.updateOne({ _id: 1 }, { $set: { v: 'inside' } }, { session }), {
        code: 112,
        codeName: 'WriteConflict',
        label: 'TransientTransactionError',
      });
      await session.abortTransaction();
    });
    assert.equal(await valueOf(coll, 1), 'outside');
  });
});

describe('write conflicts and retries', () => {
  it('two transactions writing one document: the second gets WriteConflict (112), transient', async () => {
    const db = await prepared('txn_conflict', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 0 });
    const first = ctx.client.startSession();
    const second = ctx.client.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      await coll.updateOne({ _id: 1 }, { $set: { v: 'first' } }, { session: first });
      const error = await expectServerError(coll.updateOne({ _id: 1 }, { $set: { v: 'second' } }, { session: second }), {
        code: 112,
        codeName: 'WriteConflict',
        label: 'TransientTransactionError',
      });
      assert.ok(error.errorLabels.includes('TransientTransactionError'));
      await second.abortTransaction();
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.equal(await valueOf(coll, 1), 'first');
  });

  it('withTransaction retries the callback after a transient error and then commits', async () => {
    const db = await prepared('txn_retry', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 0 });
    const blocker = ctx.client.startSession();
    let attempts = 0;
    try {
      blocker.startTransaction();
      await coll.updateOne({ _id: 1 }, { $set: { v: 'blocker' } }, { session: blocker });
      await withSession((session) =>
        session.withTransaction(async () => {
          attempts += 1;
          try {
            await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session });
          } catch (error) {
            // Let the next attempt through, then hand the transient error to withTransaction.
            if (blocker.inTransaction()) await blocker.abortTransaction();
            throw error;
          }
          await coll.insertOne({ _id: 2, attempt: attempts }, { session });
        }),
      );
    } finally {
      await blocker.endSession();
    }
    assert.equal(attempts, 2);
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, v: 0, n: 1 },
      { _id: 2, attempt: 2 },
    ]);
  });

  it('a duplicate key inside a transaction aborts it: the commit fails and nothing is written', async () => {
    const db = await prepared('txn_dup', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 'taken' });
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 'fresh' }, { session });
      await expectServerError(coll.insertOne({ _id: 'taken' }, { session }), { code: 11000 });
      const error = await session.commitTransaction().catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError, `the commit fails, got ${String(error)}`);
      assert.equal(error.code, 251);
      assert.equal(error.codeName, 'NoSuchTransaction');
    });
    assert.deepEqual(await coll.find().toArray(), [{ _id: 'taken' }]);
  });

  it('a unique-index violation makes withTransaction abort and rethrow 11000', async () => {
    const db = await prepared('txn_dup_with', 'users', 'log');
    const users = db.collection<Doc>('users');
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertOne({ email: 'a@x' });
    await expectServerError(
      withSession((session) =>
        session.withTransaction(async () => {
          await db.collection<Doc>('log').insertOne({ msg: 'adding user' }, { session });
          await users.insertOne({ email: 'a@x' }, { session });
        }),
      ),
      { code: 11000 },
    );
    assert.equal(await db.collection<Doc>('log').countDocuments(), 0);
    assert.equal(await users.countDocuments(), 1);
  });

  it('transactions on different documents do not conflict', async () => {
    const db = await prepared('txn_disjoint', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([{ _id: 1, v: 0 }, { _id: 2, v: 0 }]);
    const first = ctx.client.startSession();
    const second = ctx.client.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      await coll.updateOne({ _id: 1 }, { $set: { v: 1 } }, { session: first });
      await coll.updateOne({ _id: 2 }, { $set: { v: 2 } }, { session: second });
      await second.commitTransaction();
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
  });

  it('findOneAndUpdate, updateMany and deleteMany take part in the transaction', async () => {
    const db = await prepared('txn_ops', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([{ _id: 1, v: 1 }, { _id: 2, v: 2 }, { _id: 3, v: 3 }]);
    await withSession(async (session) => {
      session.startTransaction();
      const before = await coll.findOneAndUpdate({ _id: 1 }, { $inc: { v: 10 } }, { session });
      assert.deepEqual(before, { _id: 1, v: 1 });
      await coll.updateMany({ v: { $lt: 5 } }, { $set: { small: true } }, { session });
      await coll.deleteMany({ _id: { $gt: 2 } }, { session });
      await session.abortTransaction();
    });
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
      { _id: 3, v: 3 },
    ]);
  });
});

describe('collections created inside a transaction', () => {
  it('an insert into a new collection inside a transaction creates it at commit', async () => {
    const db = await prepared('txn_newcoll', 'existing');
    await withSession((session) =>
      session.withTransaction(async () => {
        await db.collection<Doc>('existing').insertOne({ _id: 1 }, { session });
        await db.collection<Doc>('created').insertOne({ _id: 'first' }, { session });
      }),
    );
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    assert.deepEqual(names, ['created', 'existing']);
    assert.deepEqual(await db.collection<Doc>('created').find().toArray(), [{ _id: 'first' }]);
  });

  it('aborting the transaction also undoes the collection it created', async () => {
    const db = await prepared('txn_newcoll_abort', 'existing');
    await withSession(async (session) => {
      session.startTransaction();
      await db.collection<Doc>('existing').insertOne({ _id: 1 }, { session });
      await db.collection<Doc>('ghost').insertOne({ _id: 'never' }, { session });
      await session.abortTransaction();
    });
    const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    assert.deepEqual(names, ['existing']);
  });

  it('snapshot read concern and majority write concern are accepted', async () => {
    const db = await prepared('txn_rc', 'c');
    const coll = db.collection<Doc>('c');
    await withSession(async (session) => {
      session.startTransaction({ readConcern: { level: 'snapshot' }, writeConcern: { w: 'majority' } });
      await coll.insertOne({ _id: 1 }, { session });
      assert.equal(await coll.countDocuments({}, { session }), 1);
      await session.commitTransaction();
    });
    assert.equal(await coll.countDocuments(), 1);
  });
});

describe('more transaction details', () => {
  it('two transactions inserting the same _id: the second gets WriteConflict (112), not 11000', async () => {
    const db = await prepared('txn_insert_race', 'c');
    const coll = db.collection<Doc>('c');
    const first = ctx.client.startSession();
    const second = ctx.client.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      await coll.insertOne({ _id: 'lock', owner: 'first' }, { session: first });
      await expectServerError(coll.insertOne({ _id: 'lock', owner: 'second' }, { session: second }), {
        code: 112,
        codeName: 'WriteConflict',
        label: 'TransientTransactionError',
      });
      await second.abortTransaction();
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.deepEqual(await coll.find().toArray(), [{ _id: 'lock', owner: 'first' }]);
  });

  it('a cursor opened in a transaction pages with getMore inside it and sees its snapshot', async () => {
    const db = await prepared('txn_cursor', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertMany(Array.from({ length: 12 }, (_, i) => ({ _id: i })));
    await withSession(async (session) => {
      session.startTransaction();
      await coll.insertOne({ _id: 100 }, { session });
      const cursor = coll.find({}, { session, batchSize: 5 }).sort({ _id: 1 });
      assert.equal((await cursor.next())?._id, 0);
      await coll.insertOne({ _id: 200 });
      const rest = await cursor.toArray();
      assert.deepEqual(rest.map((d) => d._id), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100]);
      await session.commitTransaction();
    });
    assert.equal(await coll.countDocuments(), 14);
  });

  it('a delete and a re-insert of the same _id in one transaction commit together', async () => {
    const db = await prepared('txn_reinsert', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 'old' });
    await withSession((session) =>
      session.withTransaction(async () => {
        await coll.deleteOne({ _id: 1 }, { session });
        await coll.insertOne({ _id: 1, v: 'new' }, { session });
      }),
    );
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, v: 'new' }]);
  });
});

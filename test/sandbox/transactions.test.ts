// Conformance: multi-document transactions through driver sessions — commit, abort, isolation
// from other sessions, snapshot reads, write conflicts (112 + TransientTransactionError), the
// retry loop of withTransaction, errors that abort the transaction, writes waiting for a
// transaction's document lock, unique indexes across transactions, and the transaction protocol
// of raw commands. The last describe tests sandbox-only parts (a startup option and the MVCC
// storage underneath) and skips itself against a real server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Long, MongoClient, MongoServerError } from 'mongodb';
import type { ClientSession, Collection, Db } from 'mongodb';
import { LATEST_VIEW, LockWait } from '../../src/sandbox/doc-versions.js';
import { CommandError } from '../../src/sandbox/errors.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { Storage } from '../../src/sandbox/storage.js';
import { TransactionManager } from '../../src/sandbox/transactions.js';
import { expireDocuments } from '../../src/sandbox/ttl-monitor.js';
import { expectServerError, skipUnlessSandbox, useConformanceServer } from './conformance-helpers.js';
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
    await coll.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
    ]);
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
    await coll.insertMany([
      { _id: 1, v: 'old' },
      { _id: 2, v: 'old' },
    ]);
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
      await expectServerError(coll.findOne({ _id: 1 }, { session: second }), { code: 251, codeName: 'NoSuchTransaction' });
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
    await coll.insertMany([
      { _id: 1, v: 0 },
      { _id: 2, v: 0 },
    ]);
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
    await coll.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
      { _id: 3, v: 3 },
    ]);
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

  it("an explicit createCollection or createIndex in a transaction needs read concern 'local'", async () => {
    const db = await prepared('txn_ddl', 'existing');
    await withSession(async (session) => {
      session.startTransaction({ readConcern: { level: 'snapshot' } });
      await expectServerError(db.createCollection('made', { session }), { code: 263 });
      await session.abortTransaction().catch(() => undefined);
    });
    await withSession(async (session) => {
      session.startTransaction({ readConcern: { level: 'local' } });
      await db.createCollection('made', { session });
      await db.collection('made').createIndex({ k: 1 }, { session, name: 'by_k' });
      await session.commitTransaction();
    });
    const indexes = (await db.collection('made').listIndexes().toArray()).map((i) => i.name as string).sort();
    assert.deepEqual(indexes, ['_id_', 'by_k']);
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
      assert.deepEqual(
        rest.map((d) => d._id),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 100],
      );
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

describe('document locks held by a transaction', () => {
  it('a non-transactional write waits for the transaction holding the document', async () => {
    const db = await prepared('txn_blocking', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, n: 0 });
    await withSession(async (session) => {
      session.startTransaction();
      await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session });
      let done = false;
      const outside = coll.updateOne({ _id: 1 }, { $inc: { n: 10 } }).then((result) => {
        done = true;
        return result;
      });
      await sleep(150);
      assert.equal(done, false, 'the outside write is blocked while the transaction is open');
      await session.commitTransaction();
      assert.equal((await outside).modifiedCount, 1);
    });
    assert.equal((await coll.findOne({ _id: 1 }))?.n, 11, 'both increments applied, in order');
  });

  it('a blocked non-transactional write times out with maxTimeMS (50)', async () => {
    const db = await prepared('txn_blocking_timeout', 'c');
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, n: 0 });
    await withSession(async (session) => {
      session.startTransaction();
      await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session });
      await expectServerError(db.command({ update: 'c', updates: [{ q: { _id: 1 }, u: { $inc: { n: 10 } } }], maxTimeMS: 100 }), { code: 50 });
      await session.abortTransaction();
    });
    assert.equal((await coll.findOne({ _id: 1 }))?.n, 0);
  });
});

describe('unique indexes and transactions', () => {
  it('a key written earlier in the same transaction is a duplicate (11000); one pending in another transaction is a write conflict (112)', async () => {
    const db = await prepared('txn_unique', 'c');
    const coll = db.collection<Doc>('c');
    await coll.createIndex({ email: 1 }, { unique: true });
    const first = ctx.client.startSession();
    const second = ctx.client.startSession();
    try {
      first.startTransaction();
      await coll.insertOne({ _id: 3, email: 'b' }, { session: first });
      await expectServerError(coll.insertOne({ _id: 4, email: 'b' }, { session: first }), { code: 11000 });
      await first.abortTransaction().catch(() => undefined);

      first.startTransaction();
      second.startTransaction();
      await coll.insertOne({ _id: 5, email: 'c' }, { session: first });
      await expectServerError(coll.insertOne({ _id: 6, email: 'c' }, { session: second }), { code: 112, label: 'TransientTransactionError' });
      await second.abortTransaction().catch(() => undefined);
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.deepEqual(
      (await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      [5],
    );
  });

  it('a transaction can free a unique key and reuse it', async () => {
    const db = await prepared('txn_unique_reuse', 'c');
    const coll = db.collection<Doc>('c');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, email: 'x' });
    await withSession((session) =>
      session.withTransaction(async () => {
        await coll.deleteOne({ _id: 1 }, { session });
        await coll.insertOne({ _id: 2, email: 'x' }, { session });
      }),
    );
    assert.deepEqual(await coll.find().toArray(), [{ _id: 2, email: 'x' }]);
  });
});

describe('the transaction protocol of raw commands', () => {
  it('answers NoSuchTransaction (251), TransactionTooOld (225), 263 and 50768 as mongod does', async () => {
    const db = ctx.db('txn_protocol');
    // A client of its own, so that hand-picked txnNumbers meet a fresh server session. The driver
    // leaves txnNumber alone in runCommand, except on commitTransaction/abortTransaction.
    const raw = await new MongoClient(ctx.server.uri).connect();
    const session = raw.startSession();
    const rawDb = raw.db(db.databaseName);
    try {
      const lsid = session.id;
      await expectServerError(raw.db('admin').command({ abortTransaction: 1 }, { session }), { code: 251, label: 'TransientTransactionError' });
      await rawDb.command({ insert: 'protocol', documents: [{ _id: 1 }], lsid, txnNumber: Long.fromNumber(50), autocommit: false, startTransaction: true }, { session });
      await expectServerError(rawDb.command({ insert: 'protocol', documents: [{ _id: 2 }], lsid, txnNumber: Long.fromNumber(49), autocommit: false, startTransaction: true }, { session }), {
        code: 225,
      });
      // Continuing a transaction that never started.
      await expectServerError(rawDb.command({ find: 'protocol', lsid, txnNumber: Long.fromNumber(51), autocommit: false }, { session }), { code: 251 });
      await expectServerError(rawDb.command({ count: 'protocol', lsid, txnNumber: Long.fromNumber(60), autocommit: false, startTransaction: true }, { session }), { code: 263 });
      await expectServerError(rawDb.command({ find: 'protocol', lsid, txnNumber: Long.fromNumber(70) }, { session }), { code: 50768 });
    } finally {
      await session.endSession();
      await raw.close();
    }
    assert.equal(await db.collection<Doc>('protocol').countDocuments(), 0, 'the open transaction died with its session');
  });

  it('a retried retryable upsert is applied once; the next txnNumber applies again', async () => {
    const db = ctx.db('txn_retry_upsert');
    const raw = await ctx.connect();
    const session = raw.startSession();
    const rawDb = raw.db(db.databaseName);
    try {
      const command = { update: 'retry', updates: [{ q: { _id: 1 }, u: { $inc: { n: 1 } }, upsert: true }], lsid: session.id, txnNumber: Long.fromNumber(7) };
      const first = await rawDb.command(command, { session });
      const second = await rawDb.command(command, { session });
      assert.equal(first.n, 1);
      assert.deepEqual(second.n, first.n);
      assert.equal((await db.collection<Doc>('retry').findOne({ _id: 1 }))?.n, 1);
      await rawDb.command({ ...command, txnNumber: Long.fromNumber(8) }, { session });
      assert.equal((await db.collection<Doc>('retry').findOne({ _id: 1 }))?.n, 2);
    } finally {
      await session.endSession();
    }
  });

  it('ending a session discards its open transaction and releases its locks', async () => {
    const db = await prepared('txn_end_session', 'c');
    const coll = db.collection<Doc>('c');
    const session = ctx.client.startSession();
    session.startTransaction();
    await coll.insertOne({ _id: 1 }, { session });
    await ctx.client.db('admin').command({ endSessions: [session.id] });
    await session.endSession().catch(() => undefined);
    // The lock is gone: a plain write goes through at once.
    await coll.insertOne({ _id: 1 });
    assert.equal(await coll.countDocuments(), 1);
  });
});

describe('sandbox internals (skipped against a real server)', () => {
  function storageSetup() {
    const storage = new Storage(() => undefined);
    const manager = new TransactionManager({ storage, lifetimeLimitMs: 60_000, killCursors: () => undefined, killSessionCursors: () => undefined, log: () => undefined });
    const collection = storage.createCollection('db', 'c');
    const session = (n: number) => manager.session({ id: { toString: () => `session-${n}` } });
    return { storage, manager, collection, session };
  }

  it('aborts transactions older than transactionLifetimeLimitSeconds', async (t) => {
    if (skipUnlessSandbox(t, ctx.server, 'transactionLifetimeLimitSeconds is a startup option of the sandbox')) return;
    const sandbox = await startSandbox({ transactionLifetimeLimitSeconds: 0.2 });
    const local = await new MongoClient(sandbox.uri).connect();
    try {
      const coll = local.db('lifetime').collection<Doc>('c');
      const session = local.startSession();
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await sleep(400);
      // The expired transaction released its lock: this write does not wait.
      await coll.insertOne({ _id: 1 });
      await expectServerError(session.commitTransaction(), { code: 251 });
      await session.endSession();
    } finally {
      await local.close();
      await sandbox.stop();
    }
  });

  it('MVCC: serves each transaction its snapshot and prunes versions nobody can see', (t) => {
    if (skipUnlessSandbox(t, ctx.server, 'storage internals')) return;
    const { manager, collection, session } = storageSetup();
    for (let i = 0; i < 1000; i++) collection.insert({ _id: i, v: 0 }, { txn: undefined });
    const reader = manager.begin(session(1), 1);
    for (let i = 0; i < 1000; i++) {
      const current = collection.getById(i, LATEST_VIEW);
      assert.ok(current !== null);
      collection.replace(`n${i}`, current, { _id: i, v: 1 }, { txn: undefined });
    }
    collection.remove('n0', { txn: undefined });
    const view = { snapshot: reader.snapshot, txn: reader };
    assert.equal(collection.getById(5, view)?.v, 0, 'the reader still sees its snapshot');
    assert.equal(collection.getById(0, view)?.v, 0, 'and documents deleted after it');
    assert.equal(collection.count(view), 1000);
    assert.equal(collection.count(LATEST_VIEW), 999);
    assert.ok(collection.history.size >= 1000, 'old versions are kept while the snapshot is open');
    manager.abort(reader, 'done');
    assert.equal(collection.history.size, 0, 'and dropped once it closes');
    assert.equal(collection.chains.has('n0'), false, 'a deletion visible to everyone forgets the document');
    for (const chain of collection.chains.values()) assert.equal(chain.versions.length, 1);
  });

  it('MVCC: keeps pending writes private, commits them at one sequence number, and releases locks', (t) => {
    if (skipUnlessSandbox(t, ctx.server, 'storage internals')) return;
    const { manager, collection, session } = storageSetup();
    collection.insert({ _id: 'a', n: 1 }, { txn: undefined });
    const txn = manager.begin(session(1), 1);
    const view = { snapshot: txn.snapshot, txn };
    collection.replace('sa', collection.getById('a', view) ?? {}, { _id: 'a', n: 2 }, { txn });
    collection.insert({ _id: 'b', n: 1 }, { txn });
    assert.equal(collection.getById('a', LATEST_VIEW)?.n, 1);
    assert.equal(collection.getById('b', LATEST_VIEW), null);
    assert.throws(() => collection.insert({ _id: 'b' }, { txn: undefined }), LockWait, 'a plain insert of the pending _id must wait');
    const other = manager.begin(session(2), 1);
    assert.throws(
      () => collection.replace('sa', { _id: 'a', n: 1 }, { _id: 'a', n: 3 }, { txn: other }),
      (error: unknown) => error instanceof CommandError && error.code === 112,
    );
    manager.commit(txn);
    assert.equal(collection.getById('a', LATEST_VIEW)?.n, 2);
    assert.equal(collection.getById('b', LATEST_VIEW)?.n, 1);
    assert.equal(collection.chains.get('sa')?.lockedBy, undefined);
    const [versionA] = collection.chains.get('sa')?.versions.slice(-1) ?? [];
    const [versionB] = collection.chains.get('sb')?.versions.slice(-1) ?? [];
    assert.equal(versionA?.seq, versionB?.seq, 'one commit sequence number for the whole transaction');
    assert.equal(collection.liveCount, 2);
    manager.abort(other, 'done');
  });

  it('TTL: removes expired documents in a monitor pass', (t) => {
    if (skipUnlessSandbox(t, ctx.server, 'storage internals')) return;
    const { storage, collection } = storageSetup();
    collection.addIndex({ v: 2, key: { at: 1 }, name: 'at_1', expireAfterSeconds: 60 });
    const now = Date.now();
    collection.insert({ _id: 1, at: new Date(now - 120_000) }, { txn: undefined });
    collection.insert({ _id: 2, at: new Date(now) }, { txn: undefined });
    collection.insert({ _id: 3, at: 'not a date' }, { txn: undefined });
    collection.insert({ _id: 4, at: [new Date(now), new Date(now - 61_000)] }, { txn: undefined });
    assert.equal(expireDocuments(storage, now), 2);
    assert.deepEqual(
      [...collection.scan(LATEST_VIEW)].map((d) => d._id),
      [2, 3],
    );
  });
});

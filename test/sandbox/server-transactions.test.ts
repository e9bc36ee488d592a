// Transactions, snapshot isolation and write conflicts through the real driver. These assert
// MongoDB's own behaviour, so they pass against MONGODB_URI as well as against the sandbox.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Long, MongoClient, MongoServerError } from 'mongodb';
import type { Db } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
let client: MongoClient;
let db: Db;
let dbName: string;

before(async () => {
  server = await openTestServer();
  client = await new MongoClient(server.uri).connect();
  dbName = uniqueDbName('txn');
  db = client.db(dbName);
});

after(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
  await server?.close();
});

function isTransient(error: unknown): boolean {
  return error instanceof MongoServerError && error.hasErrorLabel('TransientTransactionError');
}

describe('multi-document transactions', () => {
  it('keeps writes invisible until commit and applies them all at once', async () => {
    const coll = db.collection<{ _id: number; v?: number }>('visibility');
    await coll.insertOne({ _id: 0, v: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await coll.updateOne({ _id: 0 }, { $set: { v: 1 } }, { session });
      assert.equal(await coll.countDocuments({}, { session }), 2, 'the transaction sees its own writes');
      assert.equal(await coll.countDocuments({}), 1, 'others do not see the uncommitted insert');
      assert.deepEqual(await coll.findOne({ _id: 0 }), { _id: 0, v: 0 });
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal(await coll.countDocuments({}), 2);
    assert.deepEqual(await coll.findOne({ _id: 0 }), { _id: 0, v: 1 });
  });

  it('discards writes on abort', async () => {
    const coll = db.collection<{ _id: number }>('abort');
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal(await coll.countDocuments({}), 0);
  });

  it('reads from a snapshot taken at the first operation', async () => {
    const coll = db.collection<{ _id: number; v: number }>('snapshot');
    await coll.insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 1 },
    ]);
    const session = client.startSession();
    try {
      session.startTransaction({ readConcern: { level: 'snapshot' } });
      assert.equal((await coll.findOne({ _id: 1 }, { session }))?.v, 1);
      await coll.updateOne({ _id: 2 }, { $set: { v: 2 } });
      await coll.insertOne({ _id: 3, v: 3 });
      assert.equal((await coll.findOne({ _id: 2 }, { session }))?.v, 1, 'a later commit is not visible');
      assert.equal(await coll.countDocuments({}, { session }), 2);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('answers WriteConflict with TransientTransactionError to the second writer and aborts it', async () => {
    const coll = db.collection<{ _id: number; by?: string }>('conflict');
    await coll.insertOne({ _id: 1 });
    const first = client.startSession();
    const second = client.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      await coll.updateOne({ _id: 1 }, { $set: { by: 'first' } }, { session: first });
      const error = await coll.updateOne({ _id: 1 }, { $set: { by: 'second' } }, { session: second }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError);
      assert.equal(error.code, 112);
      assert.equal(error.codeName, 'WriteConflict');
      assert.ok(isTransient(error));
      const afterAbort = await coll.findOne({ _id: 1 }, { session: second }).catch((e: unknown) => e);
      assert.ok(afterAbort instanceof MongoServerError);
      assert.equal(afterAbort.code, 251, 'the server aborted the conflicting transaction');
      await second.abortTransaction();
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.equal((await coll.findOne({ _id: 1 }))?.by, 'first');
  });

  it('conflicts when the document was committed by someone else after the snapshot', async () => {
    const coll = db.collection<{ _id: number; v: number }>('stale');
    await coll.insertOne({ _id: 1, v: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.findOne({ _id: 1 }, { session });
      await coll.updateOne({ _id: 1 }, { $set: { v: 1 } });
      const error = await coll.updateOne({ _id: 1 }, { $set: { v: 2 } }, { session }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError);
      assert.equal(error.code, 112);
      assert.ok(isTransient(error));
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal((await coll.findOne({ _id: 1 }))?.v, 1);
  });

  it('makes a non-transactional write wait for the transaction holding the document', async () => {
    const coll = db.collection<{ _id: number; n: number }>('blocking');
    await coll.insertOne({ _id: 1, n: 0 });
    const session = client.startSession();
    try {
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
      const result = await outside;
      assert.equal(result.modifiedCount, 1);
    } finally {
      await session.endSession();
    }
    assert.equal((await coll.findOne({ _id: 1 }))?.n, 11, 'both increments applied, in order');
  });

  it('times a blocked non-transactional write out with maxTimeMS', async () => {
    const coll = db.collection<{ _id: number; n: number }>('blocking-timeout');
    await coll.insertOne({ _id: 1, n: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } }, { session });
      const error = await db
        .command({ update: 'blocking-timeout', updates: [{ q: { _id: 1 }, u: { $inc: { n: 10 } } }], maxTimeMS: 100 })
        .catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError, String(error));
      assert.equal(error.code, 50);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal((await coll.findOne({ _id: 1 }))?.n, 0);
  });

  it('enforces unique indexes across committed data, own writes and other transactions', async () => {
    const coll = db.collection<{ _id: number; email: string }>('unique-txn');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, email: 'a' });
    const first = client.startSession();
    const second = client.startSession();
    try {
      first.startTransaction();
      const dupCommitted = await coll.insertOne({ _id: 2, email: 'a' }, { session: first }).catch((e: unknown) => e);
      assert.ok(dupCommitted instanceof MongoServerError);
      assert.equal(dupCommitted.code, 11000);
      await first.abortTransaction().catch(() => undefined);

      first.startTransaction();
      await coll.insertOne({ _id: 3, email: 'b' }, { session: first });
      const dupOwn = await coll.insertOne({ _id: 4, email: 'b' }, { session: first }).catch((e: unknown) => e);
      assert.ok(dupOwn instanceof MongoServerError);
      assert.equal(dupOwn.code, 11000);
      await first.abortTransaction().catch(() => undefined);

      first.startTransaction();
      second.startTransaction();
      await coll.insertOne({ _id: 5, email: 'c' }, { session: first });
      const crossTxn = await coll.insertOne({ _id: 6, email: 'c' }, { session: second }).catch((e: unknown) => e);
      assert.ok(crossTxn instanceof MongoServerError);
      assert.equal(crossTxn.code, 112, 'an uncommitted key of another transaction is a write conflict');
      assert.ok(isTransient(crossTxn));
      await second.abortTransaction().catch(() => undefined);
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    assert.deepEqual(
      (await coll.find({}, { sort: { _id: 1 } }).toArray()).map((d) => d._id),
      [1, 5],
    );
  });

  it('lets a transaction free a unique key and reuse it', async () => {
    const coll = db.collection<{ _id: number; email: string }>('unique-reuse');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, email: 'x' });
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await coll.deleteOne({ _id: 1 }, { session });
        await coll.insertOne({ _id: 2, email: 'x' }, { session });
      });
    } finally {
      await session.endSession();
    }
    assert.deepEqual(await coll.find({}).toArray(), [{ _id: 2, email: 'x' }]);
  });

  it('aborts the transaction after a failed statement (commit answers NoSuchTransaction)', async () => {
    const coll = db.collection<{ _id: number }>('failed-statement');
    await coll.insertOne({ _id: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 2 }, { session });
      await assert.rejects(coll.insertOne({ _id: 1 }, { session }), (e: unknown) => e instanceof MongoServerError && e.code === 11000);
      const error = await session.commitTransaction().catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError);
      assert.equal(error.code, 251);
    } finally {
      await session.endSession();
    }
    assert.equal(await coll.countDocuments({}), 1);
  });

  it('treats a repeated commitTransaction as success', async () => {
    const coll = db.collection<{ _id: number }>('commit-twice');
    const session = client.startSession();
    try {
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await session.commitTransaction();
      // The driver re-sends commitTransaction when asked again (as it does after a network error).
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal(await coll.countDocuments({}), 1);
  });

  it('answers the transaction protocol errors as mongod does', async () => {
    // A client of its own, so that hand-picked txnNumbers meet a fresh server session. The driver
    // leaves txnNumber alone in runCommand, except on commitTransaction/abortTransaction.
    const raw = await new MongoClient(server.uri).connect();
    const session = raw.startSession();
    const rawDb = raw.db(dbName);
    try {
      const lsid = session.id;
      const noTxn = await raw.db('admin').command({ abortTransaction: 1 }, { session }).catch((e: unknown) => e);
      assert.ok(noTxn instanceof MongoServerError);
      assert.equal(noTxn.code, 251);
      assert.ok(noTxn.hasErrorLabel('TransientTransactionError'));

      await rawDb.command({ insert: 'protocol', documents: [{ _id: 1 }], lsid, txnNumber: Long.fromNumber(50), autocommit: false, startTransaction: true }, { session });
      const stale = await rawDb
        .command({ insert: 'protocol', documents: [{ _id: 2 }], lsid, txnNumber: Long.fromNumber(49), autocommit: false, startTransaction: true }, { session })
        .catch((e: unknown) => e);
      assert.ok(stale instanceof MongoServerError);
      assert.equal(stale.code, 225, 'TransactionTooOld');

      const unknownTxn = await rawDb
        .command({ find: 'protocol', lsid, txnNumber: Long.fromNumber(51), autocommit: false }, { session })
        .catch((e: unknown) => e);
      assert.ok(unknownTxn instanceof MongoServerError);
      assert.equal(unknownTxn.code, 251, 'continuing a transaction that never started');

      const notInTxn = await rawDb.command({ count: 'protocol', lsid, txnNumber: Long.fromNumber(60), autocommit: false, startTransaction: true }, { session }).catch((e: unknown) => e);
      assert.ok(notInTxn instanceof MongoServerError);
      assert.equal(notInTxn.code, 263);

      const notRetryable = await rawDb.command({ find: 'protocol', lsid, txnNumber: Long.fromNumber(70) }, { session }).catch((e: unknown) => e);
      assert.ok(notRetryable instanceof MongoServerError);
      assert.equal(notRetryable.code, 50768);
    } finally {
      await session.endSession();
      await raw.close();
    }
    assert.equal(await db.collection('protocol').countDocuments({}), 0, 'the open transaction died with its session');
  });

  it('does not apply a retried retryable write twice', async () => {
    const raw = await new MongoClient(server.uri).connect();
    const session = raw.startSession();
    const db = raw.db(dbName);
    try {
      const lsid = session.id;
      const command = { update: 'retry', updates: [{ q: { _id: 1 }, u: { $inc: { n: 1 } }, upsert: true }], lsid, txnNumber: Long.fromNumber(7) };
      const first = await db.command(command, { session });
      const second = await db.command(command, { session });
      assert.equal(first.n, 1);
      assert.deepEqual(second.n, first.n);
      assert.equal((await db.collection<{ _id: number; n: number }>('retry').findOne({ _id: 1 }))?.n, 1);
      await db.command({ ...command, txnNumber: Long.fromNumber(8) }, { session });
      assert.equal((await db.collection<{ _id: number; n: number }>('retry').findOne({ _id: 1 }))?.n, 2);
    } finally {
      await session.endSession();
      await raw.close();
    }
  });

  it('discards an open transaction when its session ends', async () => {
    const coll = db.collection<{ _id: number }>('end-session');
    const session = client.startSession();
    session.startTransaction();
    await coll.insertOne({ _id: 1 }, { session });
    await client.db('admin').command({ endSessions: [session.id] });
    await session.endSession().catch(() => undefined);
    // The lock is gone: a plain write goes through at once.
    await coll.insertOne({ _id: 1 });
    assert.equal(await coll.countDocuments({}), 1);
  });
});

describe('transaction lifetime (sandbox option)', () => {
  it('aborts transactions older than transactionLifetimeLimitSeconds', async (t) => {
    if (server.sandbox === undefined) {
      t.diagnostic('sandbox-only: transactionLifetimeLimitSeconds is a startup option of the sandbox');
      return;
    }
    const sandbox = await startSandbox({ transactionLifetimeLimitSeconds: 0.2 });
    const local = await new MongoClient(sandbox.uri).connect();
    try {
      const coll = local.db('lifetime').collection<{ _id: number }>('c');
      const session = local.startSession();
      session.startTransaction();
      await coll.insertOne({ _id: 1 }, { session });
      await sleep(400);
      // The expired transaction released its lock: this write does not wait.
      await coll.insertOne({ _id: 1 });
      const error = await session.commitTransaction().catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError);
      assert.equal(error.code, 251);
      await session.endSession();
    } finally {
      await local.close();
      await sandbox.stop();
    }
  });
});

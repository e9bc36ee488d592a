// Conformance: collection.bulkWrite (insert/update/replace/delete batches, ordered and
// unordered) and client.bulkWrite, MongoDB 8.0's bulkWrite command across collections (also
// inside a transaction).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { MongoBulkWriteError, MongoClientBulkWriteError, ObjectId } from 'mongodb';
import type { AnyBulkWriteOperation } from 'mongodb';
import { recordCommands, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

/** client.bulkWrite needs the bulkWrite command: the driver sends it only to wire version 25 (8.0) and up. */
async function skipBelowMongo8(t: TestContext): Promise<boolean> {
  const hello = await ctx.client.db('admin').command({ hello: 1 });
  const wire = Number(hello.maxWireVersion);
  if (wire >= 25) return false;
  t.diagnostic(`the server reports maxWireVersion ${wire} (< 25, MongoDB 8.0): it has no bulkWrite command, so client.bulkWrite() cannot run`);
  t.skip(`client.bulkWrite needs MongoDB 8.0 (maxWireVersion ≥ 25), server has ${wire}`);
  return true;
}

describe('collection.bulkWrite', () => {
  it('applies mixed operations in order and reports every count', async () => {
    const coll = ctx.db('bulk_mixed').collection<Doc>('c');
    await coll.insertMany([
      { _id: 1, g: 'a', v: 1 },
      { _id: 2, g: 'a', v: 2 },
      { _id: 3, g: 'b', v: 3 },
    ]);
    const ops: AnyBulkWriteOperation<Doc>[] = [
      { insertOne: { document: { _id: 4, g: 'b', v: 4 } } },
      { updateOne: { filter: { _id: 1 }, update: { $set: { v: 10 } } } },
      { updateMany: { filter: { g: 'a' }, update: { $inc: { v: 1 } } } },
      { replaceOne: { filter: { _id: 3 }, replacement: { g: 'c', v: 30 } } },
      { deleteOne: { filter: { _id: 4 } } },
      { updateOne: { filter: { _id: 5 }, update: { $set: { g: 'z' } }, upsert: true } },
      { deleteMany: { filter: { g: 'nothing' } } },
      { insertOne: { document: { g: 'auto' } } },
    ];
    const result = await coll.bulkWrite(ops);
    assert.equal(result.isOk(), true);
    assert.equal(result.insertedCount, 2);
    assert.equal(result.matchedCount, 4);
    assert.equal(result.modifiedCount, 4);
    assert.equal(result.deletedCount, 1);
    assert.equal(result.upsertedCount, 1);
    assert.deepEqual(result.upsertedIds, { 5: 5 });
    assert.equal(result.insertedIds[0], 4);
    assert.ok(result.insertedIds[7] instanceof ObjectId);
    assert.deepEqual(
      await coll
        .find({ _id: { $type: 'number' } })
        .sort({ _id: 1 })
        .toArray(),
      [
        { _id: 1, g: 'a', v: 11 },
        { _id: 2, g: 'a', v: 3 },
        { _id: 3, g: 'c', v: 30 },
        { _id: 5, g: 'z' },
      ],
    );
  });

  it('groups consecutive operations of one kind into one command each', async () => {
    const coll = ctx.db('bulk_batches').collection<Doc>('c');
    const recording = recordCommands(ctx.client, ['insert', 'update', 'delete']);
    try {
      await coll.bulkWrite([
        { insertOne: { document: { _id: 1 } } },
        { insertOne: { document: { _id: 2 } } },
        { updateOne: { filter: { _id: 1 }, update: { $set: { a: 1 } } } },
        { updateOne: { filter: { _id: 2 }, update: { $set: { a: 2 } } } },
        { deleteOne: { filter: { _id: 2 } } },
      ]);
    } finally {
      recording.stop();
    }
    assert.deepEqual(recording.names(), ['insert', 'update', 'delete']);
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, a: 1 }]);
  });

  it('ordered: stops at the first write error', async () => {
    const coll = ctx.db('bulk_ordered').collection<Doc>('c');
    await coll.insertOne({ _id: 1 });
    const error = await coll
      .bulkWrite([{ insertOne: { document: { _id: 2 } } }, { insertOne: { document: { _id: 1 } } }, { updateOne: { filter: { _id: 2 }, update: { $set: { after: true } } } }])
      .catch((e: unknown) => e);
    assert.ok(error instanceof MongoBulkWriteError);
    assert.equal(error.code, 11000);
    assert.equal(error.insertedCount, 1);
    assert.equal(error.matchedCount, 0);
    const writeErrors = error.writeErrors as unknown as { index: number; code: number }[];
    assert.deepEqual(
      writeErrors.map((w) => [w.index, w.code]),
      [[1, 11000]],
    );
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [{ _id: 1 }, { _id: 2 }]);
  });

  it('unordered: runs every operation and reports each failure by its index', async () => {
    const coll = ctx.db('bulk_unordered').collection<Doc>('c');
    await coll.createIndex({ email: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, email: 'a@x' });
    const error = await coll
      .bulkWrite(
        [
          { insertOne: { document: { _id: 2, email: 'a@x' } } },
          { insertOne: { document: { _id: 3, email: 'b@x' } } },
          { updateOne: { filter: { _id: 3 }, update: { $set: { email: 'a@x' } } } },
          { deleteOne: { filter: { _id: 1 } } },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    assert.ok(error instanceof MongoBulkWriteError);
    assert.equal(error.insertedCount, 1);
    assert.equal(error.deletedCount, 1);
    const writeErrors = error.writeErrors as unknown as { index: number; code: number }[];
    assert.deepEqual(
      writeErrors.map((w) => [w.index, w.code]).sort((x, y) => (x[0] ?? 0) - (y[0] ?? 0)),
      [
        [0, 11000],
        [2, 11000],
      ],
    );
    assert.deepEqual(await coll.find().toArray(), [{ _id: 3, email: 'b@x' }]);
  });
});

describe('client.bulkWrite', () => {
  it('writes to two collections in one call with per-operation results', async (t) => {
    if (await skipBelowMongo8(t)) return;
    const db = ctx.db('cbulk_ok');
    const users = `${db.databaseName}.users`;
    const logs = `${db.databaseName}.logs`;
    await db.collection<Doc>('users').insertOne({ _id: 1, n: 0 });
    const recording = recordCommands(ctx.client, ['bulkWrite']);
    let result;
    try {
      result = await ctx.client.bulkWrite<Record<string, Doc>>(
        [
          { namespace: users, name: 'insertOne', document: { _id: 2, n: 0 } },
          { namespace: logs, name: 'insertOne', document: { _id: 'l1', msg: 'hi' } },
          { namespace: users, name: 'updateOne', filter: { _id: 1 }, update: { $inc: { n: 5 } } },
          { namespace: users, name: 'updateMany', filter: {}, update: { $set: { seen: true } } },
          { namespace: logs, name: 'replaceOne', filter: { _id: 'l2' }, replacement: { msg: 'up' }, upsert: true },
          { namespace: users, name: 'deleteOne', filter: { _id: 2 } },
        ],
        { verboseResults: true },
      );
    } finally {
      recording.stop();
    }
    assert.deepEqual(recording.names(), ['bulkWrite'], 'one bulkWrite command for both collections');
    assert.equal(recording.started[0]?.databaseName, 'admin');
    assert.equal(result.acknowledged, true);
    assert.equal(result.insertedCount, 2);
    assert.equal(result.matchedCount, 3);
    assert.equal(result.modifiedCount, 3);
    assert.equal(result.upsertedCount, 1);
    assert.equal(result.deletedCount, 1);
    assert.deepEqual(result.insertResults?.get(0), { insertedId: 2 });
    assert.deepEqual(result.insertResults?.get(1), { insertedId: 'l1' });
    assert.equal(result.updateResults?.get(2)?.matchedCount, 1);
    assert.equal(result.updateResults?.get(3)?.modifiedCount, 2);
    const upsert = result.updateResults?.get(4);
    assert.equal(upsert?.didUpsert, true);
    assert.equal(upsert?.upsertedId, 'l2');
    assert.deepEqual(result.deleteResults?.get(5), { deletedCount: 1 });
    assert.deepEqual(await db.collection<Doc>('users').find().toArray(), [{ _id: 1, n: 5, seen: true }]);
    assert.deepEqual(await db.collection<Doc>('logs').find().sort({ _id: 1 }).toArray(), [
      { _id: 'l1', msg: 'hi' },
      { _id: 'l2', msg: 'up' },
    ]);
  });

  it('ordered: stops at a duplicate key and reports it by operation index', async (t) => {
    if (await skipBelowMongo8(t)) return;
    const db = ctx.db('cbulk_err');
    const a = `${db.databaseName}.a`;
    const b = `${db.databaseName}.b`;
    const error = await ctx.client
      .bulkWrite<Record<string, Doc>>([
        { namespace: a, name: 'insertOne', document: { _id: 1 } },
        { namespace: b, name: 'insertOne', document: { _id: 1 } },
        { namespace: a, name: 'insertOne', document: { _id: 1 } },
        { namespace: b, name: 'insertOne', document: { _id: 2 } },
      ])
      .catch((e: unknown) => e);
    assert.ok(error instanceof MongoClientBulkWriteError, `expected MongoClientBulkWriteError, got ${String(error)}`);
    assert.deepEqual([...error.writeErrors.keys()], [2]);
    assert.equal(error.writeErrors.get(2)?.code, 11000);
    assert.equal(error.partialResult?.insertedCount, 2);
    assert.equal(await db.collection<Doc>('a').countDocuments(), 1);
    assert.deepEqual(await db.collection<Doc>('b').find().toArray(), [{ _id: 1 }]);
  });

  it('unordered: continues past errors in either collection', async (t) => {
    if (await skipBelowMongo8(t)) return;
    const db = ctx.db('cbulk_unord');
    const a = `${db.databaseName}.a`;
    const b = `${db.databaseName}.b`;
    await db.collection<Doc>('b').insertOne({ _id: 'x' });
    const error = await ctx.client
      .bulkWrite<Record<string, Doc>>(
        [
          { namespace: b, name: 'insertOne', document: { _id: 'x' } },
          { namespace: a, name: 'insertOne', document: { _id: 1 } },
          { namespace: a, name: 'updateOne', filter: { _id: 1 }, update: { $set: { _id: 2 } } },
          { namespace: b, name: 'deleteMany', filter: {} },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    assert.ok(error instanceof MongoClientBulkWriteError, `expected MongoClientBulkWriteError, got ${String(error)}`);
    assert.deepEqual([...error.writeErrors.keys()].sort(), [0, 2]);
    assert.equal(error.writeErrors.get(0)?.code, 11000);
    assert.equal(error.writeErrors.get(2)?.code, 66);
    assert.equal(error.partialResult?.insertedCount, 1);
    assert.equal(error.partialResult?.deletedCount, 1);
    assert.deepEqual(await db.collection<Doc>('a').find().toArray(), [{ _id: 1 }]);
    assert.equal(await db.collection<Doc>('b').countDocuments(), 0);
  });

  it('runs inside a transaction: invisible until commit, discarded on abort', async (t) => {
    if (await skipBelowMongo8(t)) return;
    const db = ctx.db('cbulk_txn');
    await db.createCollection('txn');
    const ns = `${db.databaseName}.txn`;
    const session = ctx.client.startSession();
    try {
      session.startTransaction();
      await ctx.client.bulkWrite<Record<string, Doc>>(
        [
          { namespace: ns, name: 'insertOne', document: { _id: 1 } },
          { namespace: ns, name: 'insertOne', document: { _id: 2 } },
        ],
        { session },
      );
      assert.equal(await db.collection<Doc>('txn').countDocuments(), 0, 'invisible before commit');
      await session.commitTransaction();
      assert.equal(await db.collection<Doc>('txn').countDocuments(), 2);

      session.startTransaction();
      await ctx.client.bulkWrite<Record<string, Doc>>([{ namespace: ns, name: 'deleteMany', filter: {} }], { session });
      await session.abortTransaction();
      assert.equal(await db.collection<Doc>('txn').countDocuments(), 2, 'discarded on abort');
    } finally {
      await session.endSession();
    }
  });
});

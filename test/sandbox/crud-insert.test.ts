// Conformance: insertOne / insertMany — generated ids, ordered and unordered batches with
// duplicate keys, the MongoBulkWriteError shape, and BSON type fidelity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary, Decimal128, Double, Int32, Long, MongoBulkWriteError, ObjectId, Timestamp } from 'mongodb';
import type { Document } from 'mongodb';
import { expectServerError, recordCommands, useConformanceServer } from './conformance-helpers.js';
import type { Doc, IdValue } from './conformance-helpers.js';

const ctx = useConformanceServer();

function asBulkError(error: unknown): MongoBulkWriteError {
  assert.ok(error instanceof MongoBulkWriteError, `expected a MongoBulkWriteError, got ${String(error)}`);
  return error;
}

describe('insertOne', () => {
  it('generates an ObjectId _id when the document has none', async () => {
    const coll = ctx.db('ins_one').collection<Doc>('c');
    const doc: Document = { name: 'a' };
    const result = await coll.insertOne(doc);
    assert.equal(result.acknowledged, true);
    assert.ok(result.insertedId instanceof ObjectId);
    assert.deepEqual(await coll.findOne({ _id: result.insertedId }), { _id: result.insertedId, name: 'a' });
  });

  it('keeps a caller-supplied _id of any non-array type', async () => {
    const coll = ctx.db('ins_ids').collection<Doc>('c');
    const ids: IdValue[] = ['text', 7, { compound: 1, key: 'x' }, new Date(0)];
    for (const id of ids) {
      const result = await coll.insertOne({ _id: id, v: 1 });
      assert.deepEqual(result.insertedId, id);
    }
    assert.equal(await coll.countDocuments(), ids.length);
    assert.deepEqual(await coll.findOne({ _id: { compound: 1, key: 'x' } }), { _id: { compound: 1, key: 'x' }, v: 1 });
  });

  it('a duplicate _id fails with 11000 and names the key', async () => {
    const coll = ctx.db('ins_dup').collection<Doc>('c');
    await coll.insertOne({ _id: 1, v: 'first' });
    const error = await expectServerError(coll.insertOne({ _id: 1, v: 'second' }), { code: 11000, message: 'E11000 duplicate key error' });
    assert.deepEqual(error.keyPattern, { _id: 1 });
    assert.deepEqual(error.keyValue, { _id: 1 });
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, v: 'first' }]);
  });

  it('an array _id is rejected', async () => {
    const coll = ctx.db('ins_arrayid').collection<Doc>('c');
    // The insert path answers BadValue (2, "can't use an array for _id"); update paths use InvalidIdField (53).
    await expectServerError(coll.insertOne({ _id: [1, 2] }), { code: [2, 53], message: 'array' });
    assert.equal(await coll.countDocuments(), 0);
  });

  it('round-trips BSON types exactly', async () => {
    const coll = ctx.db('ins_types').collection<Doc>('c');
    const when = new Date('2024-02-29T12:34:56.789Z');
    const oid = new ObjectId();
    const original: Document = {
      _id: 1,
      int: 42,
      double: 1.5,
      long: Long.fromString('9007199254740993'),
      decimal: Decimal128.fromString('12345.6789'),
      string: 'héllo',
      bool: false,
      date: when,
      nil: null,
      oid,
      bin: new Binary(Buffer.from([1, 2, 3])),
      ts: new Timestamp({ t: 1700000000, i: 3 }),
      nested: { a: [1, { b: [2, 3] }], empty: {} },
      emptyArray: [],
    };
    await coll.insertOne(original);
    const back = await coll.findOne({ _id: 1 }, { promoteValues: false, promoteLongs: false });
    assert.ok(back);
    assert.ok(back.int instanceof Int32 && back.int.value === 42);
    assert.ok(back.double instanceof Double && back.double.value === 1.5);
    assert.ok(back.long instanceof Long && back.long.toString() === '9007199254740993');
    assert.ok(back.decimal instanceof Decimal128 && back.decimal.toString() === '12345.6789');
    const promoted = await coll.findOne({ _id: 1 });
    assert.deepEqual(promoted, { ...original, long: promoted?.long });
    assert.ok(promoted?.long instanceof Long, 'a long outside the safe-integer range stays a Long');
    assert.equal(promoted.long.toString(), '9007199254740993');
  });
});

describe('insertMany', () => {
  it('inserts every document and reports the generated ids by index', async () => {
    const coll = ctx.db('ins_many').collection<Doc>('c');
    const result = await coll.insertMany([{ n: 0 }, { n: 1 }, { _id: 'given', n: 2 }]);
    assert.equal(result.acknowledged, true);
    assert.equal(result.insertedCount, 3);
    assert.ok(result.insertedIds[0] instanceof ObjectId);
    assert.ok(result.insertedIds[1] instanceof ObjectId);
    assert.equal(result.insertedIds[2], 'given');
    assert.deepEqual(
      (await coll.find().sort({ n: 1 }).toArray()).map((d) => d.n),
      [0, 1, 2],
    );
  });

  it('ordered: stops at the duplicate in the middle', async () => {
    const coll = ctx.db('ins_ordered').collection<Doc>('c');
    let caught: unknown;
    try {
      await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }]);
    } catch (error) {
      caught = error;
    }
    const error = asBulkError(caught);
    assert.equal(error.code, 11000);
    assert.equal(error.insertedCount, 2);
    assert.ok(Array.isArray(error.writeErrors));
    const writeErrors = error.writeErrors as unknown as { index: number; code: number; errmsg?: string }[];
    assert.equal(writeErrors.length, 1);
    assert.equal(writeErrors[0]?.index, 2);
    assert.equal(writeErrors[0]?.code, 11000);
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [{ _id: 1 }, { _id: 2 }]);
  });

  it('unordered: inserts everything else and reports each duplicate by index', async () => {
    const coll = ctx.db('ins_unordered').collection<Doc>('c');
    let caught: unknown;
    try {
      await coll.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 1 }, { _id: 3 }, { _id: 2 }, { _id: 4 }], { ordered: false });
    } catch (error) {
      caught = error;
    }
    const error = asBulkError(caught);
    assert.equal(error.code, 11000);
    assert.equal(error.insertedCount, 4);
    const writeErrors = error.writeErrors as unknown as { index: number; code: number }[];
    assert.deepEqual(
      writeErrors.map((w) => [w.index, w.code]),
      [
        [2, 11000],
        [4, 11000],
      ],
    );
    assert.deepEqual(
      (await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      [1, 2, 3, 4],
    );
  });

  it('a duplicate of an existing document fails the same way', async () => {
    const coll = ctx.db('ins_existing').collection<Doc>('c');
    await coll.insertOne({ _id: 'x' });
    const error = asBulkError(await coll.insertMany([{ _id: 'a' }, { _id: 'x' }, { _id: 'b' }], { ordered: false }).catch((e: unknown) => e));
    assert.equal(error.insertedCount, 2);
    const writeErrors = error.writeErrors as unknown as { index: number; code: number }[];
    assert.deepEqual(
      writeErrors.map((w) => w.index),
      [1],
    );
    assert.equal(await coll.countDocuments(), 3);
  });

  it('the raw insert reply lists write errors with index, code and errmsg', async () => {
    const db = ctx.db('ins_raw');
    const reply = await db.command({ insert: 'c', documents: [{ _id: 1 }, { _id: 1 }, { _id: 2 }], ordered: false });
    assert.equal(reply.ok, 1);
    assert.equal(reply.n, 2);
    const writeErrors = reply.writeErrors as Document[];
    assert.equal(writeErrors.length, 1);
    const [first] = writeErrors;
    assert.equal(first?.index, 1);
    assert.equal(first?.code, 11000);
    assert.match(String(first?.errmsg), /E11000 duplicate key error/);
    assert.deepEqual(first?.keyPattern, { _id: 1 });
    assert.deepEqual(first?.keyValue, { _id: 1 });
  });

  it('a large batch is inserted in full', async () => {
    const coll = ctx.db('ins_large').collection<Doc>('c');
    const docs = Array.from({ length: 2500 }, (_, i) => ({ _id: i, payload: 'x'.repeat(100) }));
    const result = await coll.insertMany(docs);
    assert.equal(result.insertedCount, 2500);
    assert.equal(await coll.countDocuments(), 2500);
  });

  it('with the default retryWrites the driver sends a txnNumber and the write succeeds', async () => {
    const coll = ctx.db('ins_retry').collection<Doc>('c');
    const recording = recordCommands(ctx.client, ['insert']);
    try {
      await coll.insertOne({ _id: 1 });
    } finally {
      recording.stop();
    }
    const started = recording.started[0];
    assert.ok(started, 'an insert was sent');
    assert.ok(started.command.txnNumber !== undefined, 'the server supports retryable writes, so the driver sent txnNumber');
    assert.ok(started.command.lsid !== undefined);
    assert.equal(await coll.countDocuments(), 1);
  });

  it('a raw insert replayed with the same lsid and txnNumber is applied once', async () => {
    const db = ctx.db('ins_replay');
    // A private client: the pooled server session must not carry a hand-picked txnNumber back
    // into the shared client, whose own retryable writes would then be refused as too old.
    const client = await ctx.connect();
    const session = client.startSession();
    try {
      const command = { insert: 'c', documents: [{ v: 'no _id: a second application would add a second document' }], txnNumber: Long.fromNumber(100) };
      const first = await client.db(db.databaseName).command({ ...command }, { session });
      const replay = await client.db(db.databaseName).command({ ...command }, { session });
      assert.equal(first.n, 1);
      assert.equal(replay.n, 1, 'the retry reports the original outcome');
    } finally {
      await session.endSession();
    }
    assert.equal(await db.collection<Doc>('c').countDocuments(), 1);
  });

  it('a raw $inc replayed with the same lsid and txnNumber is applied once', async () => {
    const db = ctx.db('ins_replay_upd');
    await db.collection<Doc>('c').insertOne({ _id: 1, n: 0 });
    const client = await ctx.connect();
    const session = client.startSession();
    try {
      const command = { update: 'c', updates: [{ q: { _id: 1 }, u: { $inc: { n: 1 } } }], txnNumber: Long.fromNumber(7) };
      const first = await client.db(db.databaseName).command({ ...command }, { session });
      const replay = await client.db(db.databaseName).command({ ...command }, { session });
      assert.equal(first.nModified, 1);
      assert.equal(replay.n, 1);
      assert.equal(replay.nModified, 1);
    } finally {
      await session.endSession();
    }
    assert.deepEqual(await db.collection<Doc>('c').findOne({ _id: 1 }), { _id: 1, n: 1 });
  });

  it('a raw findAndModify replayed with the same lsid and txnNumber returns the first result', async () => {
    const db = ctx.db('ins_replay_fam');
    await db.collection<Doc>('c').insertOne({ _id: 1, n: 0 });
    const client = await ctx.connect();
    const session = client.startSession();
    try {
      const command = { findAndModify: 'c', query: { _id: 1 }, update: { $inc: { n: 1 } }, new: true, txnNumber: Long.fromNumber(3) };
      const first = await client.db(db.databaseName).command({ ...command }, { session });
      const replay = await client.db(db.databaseName).command({ ...command }, { session });
      assert.deepEqual(first.value, { _id: 1, n: 1 });
      assert.deepEqual(replay.value, { _id: 1, n: 1 });
    } finally {
      await session.endSession();
    }
    assert.deepEqual(await db.collection<Doc>('c').findOne({ _id: 1 }), { _id: 1, n: 1 });
  });
});

describe('server errors surface as MongoServerError', () => {
  it('an insert into a collection with a bad name is refused with InvalidNamespace (73)', async () => {
    const db = ctx.db('ins_badns');
    await expectServerError(db.command({ insert: 'bad$name', documents: [{ x: 1 }] }), { code: 73, codeName: 'InvalidNamespace' });
  });
});

describe('stored field order', () => {
  it('_id is stored first and the other fields keep their order', async () => {
    const coll = ctx.db('ins_order').collection<Doc>('c');
    await coll.insertOne({ z: 1, a: 2, _id: 'id', m: { y: 1, b: 2 } });
    const doc = await coll.findOne({ _id: 'id' });
    assert.deepEqual(Object.keys(doc ?? {}), ['_id', 'z', 'a', 'm']);
    assert.deepEqual(Object.keys((doc?.m as Document | undefined) ?? {}), ['y', 'b']);
  });
});

describe('read and write concerns', () => {
  it('majority/journaled writes and majority/linearizable/snapshot reads are accepted', async () => {
    const coll = ctx.db('ins_concerns').collection<Doc>('c');
    const result = await coll.insertOne({ _id: 1, v: 'x' }, { writeConcern: { w: 'majority', journal: true, wtimeoutMS: 5000 } });
    assert.equal(result.acknowledged, true);
    assert.deepEqual(await coll.find({}, { readConcern: { level: 'majority' } }).toArray(), [{ _id: 1, v: 'x' }]);
    assert.deepEqual(await coll.find({}, { readConcern: { level: 'linearizable' } }).toArray(), [{ _id: 1, v: 'x' }]);
    assert.deepEqual(await coll.find({}, { readConcern: { level: 'snapshot' } }).toArray(), [{ _id: 1, v: 'x' }]);
    assert.deepEqual(await coll.find({}, { readConcern: { level: 'local' } }).toArray(), [{ _id: 1, v: 'x' }]);
  });

  it('a causally consistent session reads its own writes', async () => {
    const coll = ctx.db('ins_causal').collection<Doc>('c');
    const session = ctx.client.startSession({ causalConsistency: true });
    try {
      await coll.insertOne({ _id: 1 }, { session });
      await coll.updateOne({ _id: 1 }, { $set: { v: 2 } }, { session });
      assert.deepEqual(await coll.findOne({ _id: 1 }, { session, readConcern: { level: 'majority' } }), { _id: 1, v: 2 });
      assert.ok(session.operationTime !== undefined, 'the server reported an operationTime to the session');
    } finally {
      await session.endSession();
    }
  });
});

// Conformance: updateOne / updateMany / replaceOne — update operators, array updates (positional,
// arrayFilters), upserts, pipeline updates, and the errors MongoDB raises for bad updates.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId, Timestamp } from 'mongodb';
import type { Collection, Document } from 'mongodb';
import { expectServerError, untypedUpdate, useConformanceServer } from './conformance-helpers.js';
import type { Doc, IdValue } from './conformance-helpers.js';

const ctx = useConformanceServer();

async function withDocs(prefix: string, docs: readonly Document[]): Promise<Collection<Doc>> {
  const coll = ctx.db(prefix).collection<Doc>('c');
  if (docs.length > 0) await coll.insertMany(docs.map((d) => ({ ...d })));
  return coll;
}

async function one(coll: Collection<Doc>, id: IdValue): Promise<Document | null> {
  return coll.findOne({ _id: id });
}

describe('update results', () => {
  it('updateOne reports matched and modified counts', async () => {
    const coll = await withDocs('upd_result', [
      { _id: 1, a: 1 },
      { _id: 2, a: 1 },
    ]);
    const result = await coll.updateOne({ a: 1 }, { $set: { b: 2 } });
    assert.deepEqual(result, { acknowledged: true, matchedCount: 1, modifiedCount: 1, upsertedCount: 0, upsertedId: null });
    assert.equal(await coll.countDocuments({ b: 2 }), 1, 'only one document changed');
  });

  it('an update that changes nothing matches but does not modify', async () => {
    const coll = await withDocs('upd_noop', [{ _id: 1, a: 1 }]);
    const same = await coll.updateOne({ _id: 1 }, { $set: { a: 1 } });
    assert.equal(same.matchedCount, 1);
    assert.equal(same.modifiedCount, 0);
    const empty = await coll.updateOne({ _id: 1 }, { $set: {} });
    assert.equal(empty.matchedCount, 1, 'an empty $set is accepted since MongoDB 5.0');
    assert.equal(empty.modifiedCount, 0);
    const none = await coll.updateOne({ _id: 99 }, { $set: { a: 2 } });
    assert.equal(none.matchedCount, 0);
    assert.equal(none.modifiedCount, 0);
  });

  it('updateMany changes every matching document', async () => {
    const coll = await withDocs('upd_many', [
      { _id: 1, g: 'x', n: 1 },
      { _id: 2, g: 'x', n: 2 },
      { _id: 3, g: 'y', n: 3 },
    ]);
    const result = await coll.updateMany({ g: 'x' }, { $inc: { n: 10 } });
    assert.equal(result.matchedCount, 2);
    assert.equal(result.modifiedCount, 2);
    assert.deepEqual(
      (await coll.find().sort({ _id: 1 }).toArray()).map((d) => d.n),
      [11, 12, 3],
    );
  });
});

describe('field operators', () => {
  it('$set creates embedded paths and $inc creates missing fields', async () => {
    const coll = await withDocs('upd_set', [{ _id: 1, a: { x: 1 } }]);
    await coll.updateOne({ _id: 1 }, { $set: { 'a.y': 2, 'b.c.d': 3 }, $inc: { counter: 5 } });
    assert.deepEqual(await one(coll, 1), { _id: 1, a: { x: 1, y: 2 }, b: { c: { d: 3 } }, counter: 5 });
  });

  it('$set past the end of an array pads it with nulls', async () => {
    const coll = await withDocs('upd_pad', [{ _id: 1, arr: [1] }]);
    await coll.updateOne({ _id: 1 }, { $set: { 'arr.3': 4 } });
    assert.deepEqual(await one(coll, 1), { _id: 1, arr: [1, null, null, 4] });
  });

  it('$unset removes fields; unsetting a missing field is a no-op', async () => {
    const coll = await withDocs('upd_unset', [{ _id: 1, a: 1, b: { c: 2, d: 3 } }]);
    const result = await coll.updateOne({ _id: 1 }, { $unset: { a: '', 'b.c': 1 } });
    assert.equal(result.modifiedCount, 1);
    assert.deepEqual(await one(coll, 1), { _id: 1, b: { d: 3 } });
    const again = await coll.updateOne({ _id: 1 }, { $unset: { missing: '' } });
    assert.equal(again.modifiedCount, 0);
  });

  it('$rename moves a field, also into an embedded document', async () => {
    const coll = await withDocs('upd_rename', [{ _id: 1, first: 'Ada', nick: 'A' }]);
    await coll.updateOne({ _id: 1 }, { $rename: { first: 'name.first', nick: 'alias', ghost: 'spirit' } });
    assert.deepEqual(await one(coll, 1), { _id: 1, name: { first: 'Ada' }, alias: 'A' });
  });

  it('$min, $max and $mul', async () => {
    const coll = await withDocs('upd_minmax', [{ _id: 1, lo: 10, hi: 10, price: 4, qty: 3 }]);
    await coll.updateOne({ _id: 1 }, { $min: { lo: 5, newLo: 7 }, $max: { hi: 8, newHi: 9 }, $mul: { price: 1.25, qty: 2, absent: 5 } });
    assert.deepEqual(await one(coll, 1), { _id: 1, lo: 5, hi: 10, price: 5, qty: 6, newLo: 7, newHi: 9, absent: 0 });
    await coll.updateOne({ _id: 1 }, { $min: { hi: new Date(0) } });
    assert.equal((await one(coll, 1))?.hi, 10, 'a number is less than a date in BSON order, so $min keeps it');
  });

  it('$currentDate sets a date or a timestamp', async () => {
    const coll = await withDocs('upd_curdate', [{ _id: 1 }]);
    const before = Date.now();
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $currentDate: { at: true, ts: { $type: 'timestamp' }, d: { $type: 'date' } } }));
    const doc = await one(coll, 1);
    assert.ok(doc?.at instanceof Date);
    assert.ok(doc.d instanceof Date);
    assert.ok(doc.ts instanceof Timestamp);
    assert.ok(Math.abs(doc.at.getTime() - before) < 10 * 60_000, 'the date is the server clock, close to ours');
    assert.ok(Math.abs(doc.ts.getHighBits() * 1000 - before) < 10 * 60_000);
  });
});

describe('array operators', () => {
  it('$push appends; with $each, $position, $sort and $slice', async () => {
    const coll = await withDocs('upd_push', [{ _id: 1, a: [3] }]);
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $push: { a: 4, fresh: 'x' } }));
    assert.deepEqual(await one(coll, 1), { _id: 1, a: [3, 4], fresh: ['x'] });
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $push: { a: { $each: [1, 2], $position: 0 } } }));
    assert.deepEqual((await one(coll, 1))?.a, [1, 2, 3, 4]);
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $push: { a: { $each: [9, 0], $sort: -1, $slice: 3 } } }));
    assert.deepEqual((await one(coll, 1))?.a, [9, 4, 3]);
  });

  it('$push on a non-array field is refused', async () => {
    const coll = await withDocs('upd_push_bad', [{ _id: 1, a: 5 }]);
    await expectServerError(coll.updateOne({ _id: 1 }, untypedUpdate({ $push: { a: 6 } })), { code: 2, message: 'must be an array' });
    assert.deepEqual(await one(coll, 1), { _id: 1, a: 5 });
  });

  it('$addToSet adds only missing values, including with $each', async () => {
    const coll = await withDocs('upd_addtoset', [{ _id: 1, tags: ['a', 'b'], objs: [{ k: 1, v: 2 }] }]);
    const dup = await coll.updateOne({ _id: 1 }, { $addToSet: { tags: 'a' } });
    assert.equal(dup.modifiedCount, 0);
    await coll.updateOne({ _id: 1 }, { $addToSet: { tags: { $each: ['b', 'c', 'c', 'd'] } } });
    await coll.updateOne({ _id: 1 }, { $addToSet: { objs: { v: 2, k: 1 } } });
    assert.deepEqual(await one(coll, 1), {
      _id: 1,
      tags: ['a', 'b', 'c', 'd'],
      objs: [
        { k: 1, v: 2 },
        { v: 2, k: 1 },
      ],
    });
  });

  it('$pull removes by value or condition; $pullAll and $pop', async () => {
    const coll = await withDocs('upd_pull', [
      {
        _id: 1,
        n: [1, 5, 6, 7, 5, 2],
        items: [
          { p: 'x', s: 1 },
          { p: 'y', s: 2 },
          { p: 'x', s: 3 },
        ],
        q: [1, 2, 3, 2],
        r: [1, 2, 3],
      },
    ]);
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $pull: { n: { $gte: 6 }, items: { p: 'x' } } }));
    await coll.updateOne({ _id: 1 }, untypedUpdate({ $pull: { n: 5 }, $pullAll: { q: [2, 3] }, $pop: { r: -1 } }));
    assert.deepEqual(await one(coll, 1), { _id: 1, n: [1, 2], items: [{ p: 'y', s: 2 }], q: [1], r: [2, 3] });
    await coll.updateOne({ _id: 1 }, { $pop: { r: 1 } });
    assert.deepEqual((await one(coll, 1))?.r, [2]);
  });

  it('the positional $ updates the first matching element', async () => {
    const coll = await withDocs('upd_positional', [
      { _id: 1, grades: [80, 85, 80] },
      {
        _id: 2,
        items: [
          { sku: 'a', qty: 1 },
          { sku: 'b', qty: 1 },
        ],
      },
    ]);
    await coll.updateOne({ _id: 1, grades: 80 }, { $set: { 'grades.$': 82 } });
    await coll.updateOne({ _id: 2, 'items.sku': 'b' }, { $inc: { 'items.$.qty': 4 } });
    assert.deepEqual((await one(coll, 1))?.grades, [82, 85, 80]);
    assert.deepEqual((await one(coll, 2))?.items, [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 5 },
    ]);
  });

  it('arrayFilters with $[identifier], and $[] for every element', async () => {
    const coll = await withDocs('upd_arrayfilters', [
      { _id: 1, grades: [95, 102, 90, 150] },
      {
        _id: 2,
        marks: [
          { grade: 80, mean: 75 },
          { grade: 85, mean: 90 },
          { grade: 90, mean: 85 },
        ],
      },
    ]);
    const result = await coll.updateOne({ _id: 1 }, { $set: { 'grades.$[big]': 100 } }, { arrayFilters: [{ big: { $gte: 100 } }] });
    assert.equal(result.modifiedCount, 1);
    assert.deepEqual((await one(coll, 1))?.grades, [95, 100, 90, 100]);
    await coll.updateOne({ _id: 2 }, { $inc: { 'marks.$[m].mean': 1 } }, { arrayFilters: [{ 'm.grade': { $gte: 85 } }] });
    await coll.updateOne({ _id: 1 }, { $inc: { 'grades.$[]': -10 } });
    assert.deepEqual((await one(coll, 2))?.marks, [
      { grade: 80, mean: 75 },
      { grade: 85, mean: 91 },
      { grade: 90, mean: 86 },
    ]);
    assert.deepEqual((await one(coll, 1))?.grades, [85, 90, 80, 90]);
  });
});

describe('upsert', () => {
  it('inserts when nothing matches and reports upsertedId', async () => {
    const coll = await withDocs('ups_basic', []);
    const result = await coll.updateOne({ key: 'k' }, { $set: { v: 1 } }, { upsert: true });
    assert.equal(result.matchedCount, 0);
    assert.equal(result.modifiedCount, 0);
    assert.equal(result.upsertedCount, 1);
    assert.ok(result.upsertedId instanceof ObjectId);
    assert.deepEqual(await coll.find().toArray(), [{ _id: result.upsertedId, key: 'k', v: 1 }]);
    const second = await coll.updateOne({ key: 'k' }, { $set: { v: 2 } }, { upsert: true });
    assert.equal(second.matchedCount, 1);
    assert.equal(second.upsertedId, null);
    assert.equal(await coll.countDocuments(), 1);
  });

  it('copies the equality conditions of the filter into the new document', async () => {
    const coll = await withDocs('ups_equality', []);
    const result = await coll.updateOne({ a: 1, 'b.c': 2, d: { $gt: 5 }, e: { $eq: 3 }, $and: [{ f: 4 }] }, { $set: { g: 5 } }, { upsert: true });
    const doc = await one(coll, result.upsertedId);
    assert.deepEqual(doc, { _id: result.upsertedId, a: 1, b: { c: 2 }, e: 3, f: 4, g: 5 });
  });

  it('$setOnInsert applies only when the upsert inserts', async () => {
    const coll = await withDocs('ups_soi', []);
    await coll.updateOne({ _id: 'x' }, { $set: { seen: 1 }, $setOnInsert: { created: 'first' } }, { upsert: true });
    await coll.updateOne({ _id: 'x' }, { $set: { seen: 2 }, $setOnInsert: { created: 'second' } }, { upsert: true });
    assert.deepEqual(await one(coll, 'x'), { _id: 'x', seen: 2, created: 'first' });
  });

  it("an upsert takes its _id from $setOnInsert or $set when the filter names none; against the filter's _id it is refused", async () => {
    const coll = await withDocs('ups_soi_id', []);
    const fromSetOnInsert = await coll.updateOne({ email: 'a' }, { $setOnInsert: { _id: 'fixed' }, $set: { n: 1 } }, { upsert: true });
    assert.equal(fromSetOnInsert.upsertedId, 'fixed');
    const fromSet = await coll.updateOne({ email: 'b' }, { $set: { _id: 'b-id', n: 2 } }, { upsert: true });
    assert.equal(fromSet.upsertedId, 'b-id');
    assert.deepEqual(await coll.find().sort({ n: 1 }).toArray(), [
      { _id: 'fixed', email: 'a', n: 1 },
      { _id: 'b-id', email: 'b', n: 2 },
    ]);
    // Matched later: $setOnInsert is not applied, so its _id changes nothing.
    const matched = await coll.updateOne({ email: 'a' }, { $setOnInsert: { _id: 'other' }, $set: { n: 3 } }, { upsert: true });
    assert.equal(matched.modifiedCount, 1);
    await assert.rejects(coll.updateOne({ _id: 'q', email: 'c' }, { $setOnInsert: { _id: 'other' } }, { upsert: true }), (error: { code?: number }) => error.code === 66);
    assert.equal(await coll.countDocuments(), 2);
  });

  it('an _id in the filter becomes the upserted _id; updateMany upserts one document', async () => {
    const coll = await withDocs('ups_id', []);
    const one1 = await coll.updateOne({ _id: 42 }, { $inc: { n: 1 } }, { upsert: true });
    assert.equal(one1.upsertedId, 42);
    const many = await coll.updateMany({ group: 'g' }, { $inc: { n: 1 } }, { upsert: true });
    assert.equal(many.upsertedCount, 1);
    assert.ok(many.upsertedId instanceof ObjectId);
    assert.deepEqual(await one(coll, 42), { _id: 42, n: 1 });
    assert.equal(await coll.countDocuments({ group: 'g', n: 1 }), 1);
  });
});

describe('replaceOne', () => {
  it('replaces the whole document and keeps its _id', async () => {
    const coll = await withDocs('rep_basic', [{ _id: 1, a: 1, b: 2 }]);
    const result = await coll.replaceOne({ a: 1 }, { c: 3 });
    assert.equal(result.matchedCount, 1);
    assert.equal(result.modifiedCount, 1);
    assert.deepEqual(await one(coll, 1), { _id: 1, c: 3 });
  });

  it('upserts with the replacement, taking _id from the filter', async () => {
    const coll = await withDocs('rep_upsert', []);
    const result = await coll.replaceOne({ _id: 'new', ignored: true }, { v: 1 }, { upsert: true });
    assert.equal(result.upsertedId, 'new');
    assert.deepEqual(await coll.find().toArray(), [{ _id: 'new', v: 1 }], 'a replacement upsert copies only _id from the filter');
  });

  it('a replacement that changes _id fails with ImmutableField (66)', async () => {
    const coll = await withDocs('rep_id', [{ _id: 1, a: 1 }]);
    await expectServerError(coll.replaceOne({ _id: 1 }, { _id: 2, a: 2 }), { code: 66, message: '_id' });
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, a: 1 }]);
  });
});

describe('pipeline updates', () => {
  it('computes new values from the old document', async () => {
    const coll = await withDocs('pipe_add', [{ _id: 1, x: 1, y: 2, drop: true }]);
    const result = await coll.updateOne({ _id: 1 }, [{ $set: { x: { $add: ['$x', 1] }, sum: { $add: ['$x', '$y'] } } }, { $unset: 'drop' }]);
    assert.equal(result.modifiedCount, 1);
    assert.deepEqual(await one(coll, 1), { _id: 1, x: 2, y: 2, sum: 3 });
  });

  it('$$NOW is a date, the same for every document of one command', async () => {
    const coll = await withDocs('pipe_now', [{ _id: 1 }, { _id: 2 }, { _id: 3 }]);
    const before = Date.now();
    await coll.updateMany({}, [{ $set: { at: '$$NOW' } }]);
    const docs = await coll.find().toArray();
    const times = docs.map((d) => (d.at instanceof Date ? d.at.getTime() : Number.NaN));
    assert.ok(
      times.every((t) => !Number.isNaN(t)),
      'every document got a Date',
    );
    assert.equal(new Set(times).size, 1, '$$NOW is fixed for the whole command');
    assert.ok(Math.abs((times[0] ?? 0) - before) < 10 * 60_000);
  });

  it('can use $cond and $ifNull on fields that may be missing', async () => {
    const coll = await withDocs('pipe_cond', [{ _id: 1, n: 5 }, { _id: 2 }]);
    await coll.updateMany({}, [{ $set: { n: { $ifNull: ['$n', 0] } } }, { $set: { big: { $cond: [{ $gte: ['$n', 3] }, true, false] } } }]);
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, n: 5, big: true },
      { _id: 2, n: 0, big: false },
    ]);
  });
});

describe('update errors', () => {
  it('modifying _id fails with ImmutableField (66)', async () => {
    const coll = await withDocs('upd_immutable', [{ _id: 1, a: 1 }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { _id: 2 } }), { code: 66, message: '_id' });
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, a: 1 }]);
  });

  it('$inc on a non-numeric field fails with TypeMismatch (14)', async () => {
    const coll = await withDocs('upd_incbad', [{ _id: 1, a: 'text' }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $inc: { a: 1 } }), { code: 14 });
    await expectServerError(coll.updateOne({ _id: 1 }, untypedUpdate({ $inc: { b: 'one' } })), { code: 14 });
  });

  it('two operators on the same path conflict (40)', async () => {
    const coll = await withDocs('upd_conflict', [{ _id: 1, a: 1 }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { a: 2 }, $inc: { a: 1 } }), { code: 40, message: 'conflict' });
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { 'b.c': 1, b: 2 } }), { code: 40 });
  });

  it('setting a field under a scalar fails with PathNotViable (28)', async () => {
    const coll = await withDocs('upd_pathnotviable', [{ _id: 1, a: 5 }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { 'a.b': 1 } }), { code: 28 });
    assert.deepEqual(await one(coll, 1), { _id: 1, a: 5 });
  });

  it('a failing updateMany stops at the failing document; earlier changes stay', async () => {
    const coll = await withDocs('upd_partial', [
      { _id: 1, n: 1 },
      { _id: 2, n: 'x' },
      { _id: 3, n: 3 },
    ]);
    await expectServerError(coll.updateMany({}, { $inc: { n: 1 } }), { code: 14 });
    const doc1 = await one(coll, 1);
    const doc2 = await one(coll, 2);
    assert.deepEqual(doc2, { _id: 2, n: 'x' }, 'the failing document is untouched');
    assert.ok(doc1?.n === 1 || doc1?.n === 2, 'an update without a transaction is not atomic across documents');
  });
});

describe('field order and numeric types', () => {
  it('updates keep existing fields in place and add new fields in lexicographic order', async () => {
    const coll = await withDocs('upd_order', [{ _id: 1, m: 1, b: 2 }]);
    await coll.updateOne({ _id: 1 }, { $set: { z: 1, b: 20, a: 3, y: 2 } });
    const doc = await one(coll, 1);
    assert.deepEqual(Object.keys(doc ?? {}), ['_id', 'm', 'b', 'a', 'y', 'z'], 'since MongoDB 5.0 new fields are added in lexicographic order');
    assert.equal(doc?.b, 20);
  });

  it('a replacement keeps _id first and the replacement order after it', async () => {
    const coll = await withDocs('upd_order_replace', [{ _id: 1, a: 1 }]);
    await coll.replaceOne({ _id: 1 }, { z: 1, a: 2, m: 3 });
    assert.deepEqual(Object.keys((await one(coll, 1)) ?? {}), ['_id', 'z', 'a', 'm']);
  });

  it('$inc keeps 32-bit integers, widens to 64-bit on overflow, and to double with a fraction', async () => {
    const coll = await withDocs('upd_numeric', [{ _id: 1, small: 1, edge: 2147483647, frac: 1 }]);
    await coll.updateOne({ _id: 1 }, { $inc: { small: 1, edge: 1, frac: 0.5 } });
    assert.deepEqual(await one(coll, 1), { _id: 1, small: 2, edge: 2147483648, frac: 1.5 });
    assert.equal(await coll.countDocuments({ small: { $type: 'int' } }), 1);
    assert.equal(await coll.countDocuments({ edge: { $type: 'long' } }), 1);
    assert.equal(await coll.countDocuments({ frac: { $type: 'double' } }), 1);
  });

  it('the raw update command reports n, nModified and upserted entries by statement index', async () => {
    const coll = await withDocs('upd_raw', [
      { _id: 1, v: 1 },
      { _id: 2, v: 1 },
    ]);
    const reply = await ctx.client.db(coll.dbName).command({
      update: 'c',
      updates: [
        { q: { v: 1 }, u: { $set: { w: 1 } }, multi: true },
        { q: { _id: 'up' }, u: { $set: { w: 2 } }, upsert: true },
        { q: { _id: 1 }, u: { $set: { w: 1 } } },
      ],
    });
    assert.equal(reply.ok, 1);
    assert.equal(reply.n, 4, 'matched 2 + upserted 1 + matched 1');
    assert.equal(reply.nModified, 2);
    assert.deepEqual(reply.upserted, [{ index: 1, _id: 'up' }]);
  });
});

describe('more update details', () => {
  it('$unset on an array element leaves a null in its place', async () => {
    const coll = await withDocs('upd_unset_elem', [{ _id: 1, arr: [1, 2, 3] }]);
    await coll.updateOne({ _id: 1 }, { $unset: { 'arr.1': '' } });
    assert.deepEqual(await one(coll, 1), { _id: 1, arr: [1, null, 3] });
  });

  it('$set of _id to its current value is allowed and changes nothing', async () => {
    const coll = await withDocs('upd_same_id', [{ _id: 1, a: 1 }]);
    const result = await coll.updateOne({ _id: 1 }, { $set: { _id: 1, a: 2 } });
    assert.equal(result.modifiedCount, 1);
    assert.deepEqual(await one(coll, 1), { _id: 1, a: 2 });
  });

  it('$pop and $pull on a missing field do nothing', async () => {
    const coll = await withDocs('upd_pop_missing', [{ _id: 1 }]);
    const result = await coll.updateOne({ _id: 1 }, untypedUpdate({ $pop: { nothing: 1 }, $pull: { none: 1 } }));
    assert.equal(result.matchedCount, 1);
    assert.equal(result.modifiedCount, 0);
    assert.deepEqual(await one(coll, 1), { _id: 1 });
  });

  it('updateMany with upsert and an operator filter inserts only the equality parts', async () => {
    const coll = await withDocs('upd_upsert_ops', []);
    const result = await coll.updateMany({ kind: 'x', n: { $gte: 3 }, tags: { $in: ['a', 'b'] } }, { $set: { done: true } }, { upsert: true });
    assert.equal(result.upsertedCount, 1);
    const doc = await coll.findOne({});
    assert.deepEqual(doc, { _id: doc?._id, kind: 'x', done: true });
  });
});

describe('array update errors', () => {
  it('$[] on a path that does not exist fails with BadValue (2)', async () => {
    const coll = await withDocs('upd_allpos_missing', [{ _id: 1, other: 1 }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { 'list.$[]': 0 } }), { code: 2, message: 'must exist' });
    assert.deepEqual(await one(coll, 1), { _id: 1, other: 1 });
  });

  it('an array filter whose identifier the update does not use fails with FailedToParse (9)', async () => {
    const coll = await withDocs('upd_unused_filter', [{ _id: 1, a: [1, 2] }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { a: [3] } }, { arrayFilters: [{ x: 1 }] }), { code: 9, message: "'x'" });
    assert.deepEqual(await one(coll, 1), { _id: 1, a: [1, 2] });
  });

  it('the positional $ without a matching array condition in the filter fails with BadValue (2)', async () => {
    const coll = await withDocs('upd_positional_nomatch', [{ _id: 1, a: [1, 2] }]);
    await expectServerError(coll.updateOne({ _id: 1 }, { $set: { 'a.$': 5 } }), { code: 2, message: 'positional operator did not find the match' });
    assert.deepEqual(await one(coll, 1), { _id: 1, a: [1, 2] });
  });
});

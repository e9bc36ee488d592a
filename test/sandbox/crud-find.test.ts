// Conformance: find — query operators, dotted paths and array matching, projection, sort, skip,
// limit, cursor batching (getMore / killCursors), counting and distinct.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal128, Double, Long, ObjectId } from 'mongodb';
import type { Collection, Document } from 'mongodb';
import { batchOf, expectServerError, recordCommands, sortedValues, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

const inventory: Document[] = [
  { _id: 1, item: 'journal', qty: 25, tags: ['blank', 'red'], size: { h: 14, w: 21, uom: 'cm' }, status: 'A' },
  { _id: 2, item: 'notebook', qty: 50, tags: ['red', 'blank'], size: { h: 8.5, w: 11, uom: 'in' }, status: 'A' },
  { _id: 3, item: 'paper', qty: 100, tags: ['red', 'blank', 'plain'], size: { h: 8.5, w: 11, uom: 'in' }, status: 'D' },
  { _id: 4, item: 'planner', qty: 75, tags: ['blank', 'red'], size: { h: 22.85, w: 30, uom: 'cm' }, status: 'D' },
  { _id: 5, item: 'postcard', qty: 45, tags: ['blue'], size: { h: 10, w: 15.25, uom: 'cm' }, status: 'A' },
  { _id: 6, item: 'Paperclip', qty: 0, tags: [], status: 'B', note: null },
];

const scores: Document[] = [
  {
    _id: 1,
    results: [
      { product: 'abc', score: 10 },
      { product: 'xyz', score: 5 },
    ],
  },
  {
    _id: 2,
    results: [
      { product: 'abc', score: 8 },
      { product: 'xyz', score: 7 },
    ],
  },
  {
    _id: 3,
    results: [
      { product: 'abc', score: 7 },
      { product: 'xyz', score: 8 },
    ],
  },
  {
    _id: 4,
    results: [
      { product: 'abc', score: 7 },
      { product: 'def', score: 8 },
    ],
  },
];

async function seeded(prefix: string, docs: readonly Document[] = inventory): Promise<Collection<Doc>> {
  const coll = ctx.db(prefix).collection<Doc>('c');
  await coll.insertMany(docs.map((d) => ({ ...d })));
  return coll;
}

async function ids(coll: Collection<Doc>, filter: Document): Promise<unknown[]> {
  return (await coll.find(filter).sort({ _id: 1 }).toArray()).map((d) => d._id);
}

describe('query operators', () => {
  it('comparison operators $gt $gte $lt $lte $ne $eq', async () => {
    const coll = await seeded('find_cmp');
    assert.deepEqual(await ids(coll, { qty: { $gt: 45 } }), [2, 3, 4]);
    assert.deepEqual(await ids(coll, { qty: { $gte: 45, $lt: 100 } }), [2, 4, 5]);
    assert.deepEqual(await ids(coll, { qty: { $lte: 25 } }), [1, 6]);
    assert.deepEqual(await ids(coll, { status: { $ne: 'A' } }), [3, 4, 6]);
    assert.deepEqual(await ids(coll, { status: { $eq: 'D' } }), [3, 4]);
    assert.deepEqual(await ids(coll, { 'size.h': { $gt: 9 } }), [1, 4, 5]);
  });

  it('$in and $nin, including regexes and array fields', async () => {
    const coll = await seeded('find_in');
    assert.deepEqual(await ids(coll, { status: { $in: ['A', 'B'] } }), [1, 2, 5, 6]);
    assert.deepEqual(await ids(coll, { tags: { $in: ['blue', 'plain'] } }), [3, 5]);
    assert.deepEqual(await ids(coll, { item: { $in: [/^p/, 'journal'] } }), [1, 3, 4, 5]);
    assert.deepEqual(await ids(coll, { status: { $nin: ['A', 'D'] } }), [6]);
    assert.deepEqual(await ids(coll, { tags: { $nin: ['red'] } }), [5, 6]);
  });

  it('$regex with options and regex literals', async () => {
    const coll = await seeded('find_regex');
    assert.deepEqual(await ids(coll, { item: { $regex: '^pa' } }), [3]);
    assert.deepEqual(await ids(coll, { item: { $regex: '^pa', $options: 'i' } }), [3, 6]);
    assert.deepEqual(await ids(coll, { item: /card$/ }), [5]);
    assert.deepEqual(await ids(coll, { tags: /^bl/ }), [1, 2, 3, 4, 5], 'a regex matches any array element');
  });

  it('$exists and null: null matches both null and missing fields', async () => {
    const coll = await seeded('find_exists');
    assert.deepEqual(await ids(coll, { note: { $exists: true } }), [6]);
    assert.deepEqual(await ids(coll, { size: { $exists: false } }), [6]);
    assert.deepEqual(await ids(coll, { note: null }), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(await ids(coll, { note: { $type: 'null' } }), [6]);
    assert.deepEqual(await ids(coll, { size: null }), [6]);
  });

  it('dotted paths into embedded documents; whole-document equality is exact and ordered', async () => {
    const coll = await seeded('find_dotted');
    assert.deepEqual(await ids(coll, { 'size.uom': 'in' }), [2, 3]);
    assert.deepEqual(await ids(coll, { size: { h: 14, w: 21, uom: 'cm' } }), [1]);
    assert.deepEqual(await ids(coll, { size: { w: 21, h: 14, uom: 'cm' } }), [], 'field order matters for embedded-document equality');
    assert.deepEqual(await ids(coll, { size: { h: 14, w: 21 } }), [], 'embedded-document equality needs every field');
  });

  it('array matching: element, exact array, position, $all, $size', async () => {
    const coll = await seeded('find_arrays');
    assert.deepEqual(await ids(coll, { tags: 'red' }), [1, 2, 3, 4]);
    assert.deepEqual(await ids(coll, { tags: ['red', 'blank'] }), [2], 'an array literal matches the exact array in order');
    assert.deepEqual(await ids(coll, { tags: { $all: ['red', 'blank'] } }), [1, 2, 3, 4]);
    assert.deepEqual(await ids(coll, { 'tags.0': 'red' }), [2, 3]);
    assert.deepEqual(await ids(coll, { tags: { $size: 3 } }), [3]);
    assert.deepEqual(await ids(coll, { tags: { $size: 0 } }), [6]);
    assert.deepEqual(await ids(coll, { tags: [] }), [6]);
  });

  it('$elemMatch requires one element to satisfy every condition', async () => {
    const coll = await seeded('find_elem', scores);
    assert.deepEqual(await ids(coll, { results: { $elemMatch: { product: 'xyz', score: { $gte: 8 } } } }), [3]);
    assert.deepEqual(await ids(coll, { 'results.product': 'xyz', 'results.score': { $gte: 8 } }), [1, 2, 3], 'without $elemMatch the conditions may be met by different elements');
    assert.deepEqual(await ids(coll, { 'results.score': { $gt: 8, $lt: 10 } }), [1], 'range conditions on an array path may use different elements');
    assert.deepEqual(await ids(coll, { 'results.1.product': 'def' }), [4]);
  });

  it('$and $or $nor $not', async () => {
    const coll = await seeded('find_logic');
    assert.deepEqual(await ids(coll, { $or: [{ qty: { $lt: 30 } }, { status: 'D' }] }), [1, 3, 4, 6]);
    assert.deepEqual(await ids(coll, { $and: [{ status: 'A' }, { qty: { $gt: 40 } }] }), [2, 5]);
    assert.deepEqual(await ids(coll, { $nor: [{ status: 'A' }, { qty: 0 }] }), [3, 4]);
    assert.deepEqual(await ids(coll, { qty: { $not: { $gt: 45 } } }), [1, 5, 6]);
    assert.deepEqual(await ids(coll, { item: { $not: /^p/ } }), [1, 2, 6]);
  });

  it('$expr compares fields of the same document', async () => {
    const coll = await seeded('find_expr');
    assert.deepEqual(await ids(coll, { $expr: { $gt: ['$size.w', { $multiply: ['$size.h', 1.5] }] } }), [5]);
    assert.deepEqual(await ids(coll, { $expr: { $eq: ['$qty', 0] } }), [6]);
  });

  it('$type, $mod, and numeric equality across int, long, double and decimal', async () => {
    const coll = ctx.db('find_types').collection<Doc>('c');
    await coll.insertMany([
      { _id: 'int', v: 1 },
      { _id: 'double', v: new Double(1.0) },
      { _id: 'long', v: Long.fromNumber(1) },
      { _id: 'decimal', v: Decimal128.fromString('1') },
      { _id: 'string', v: '1' },
      { _id: 'frac', v: 2.5 },
      { _id: 'array', v: [1, 'x'] },
    ]);
    assert.deepEqual(await ids(coll, { v: 1 }), ['array', 'decimal', 'double', 'int', 'long']);
    assert.deepEqual(await ids(coll, { v: { $type: 'int' } }), ['array', 'int']);
    assert.deepEqual(await ids(coll, { v: { $type: 'long' } }), ['long']);
    assert.deepEqual(await ids(coll, { v: { $type: 'double' } }), ['double', 'frac']);
    assert.deepEqual(await ids(coll, { v: { $type: 'decimal' } }), ['decimal']);
    assert.deepEqual(await ids(coll, { v: { $type: 'string' } }), ['array', 'string']);
    assert.deepEqual(await ids(coll, { v: { $type: 'array' } }), ['array']);
    assert.deepEqual(await ids(coll, { v: { $type: 'number' } }), ['array', 'decimal', 'double', 'frac', 'int', 'long']);
    assert.deepEqual(await ids(coll, { v: { $mod: [2, 0] } }), ['frac'], '$mod truncates 2.5 to 2');
    assert.deepEqual(await ids(coll, { v: { $mod: [2, 1] } }), ['array', 'decimal', 'double', 'int', 'long']);
  });

  it('findOne returns null when nothing matches, and a missing collection finds nothing', async () => {
    const coll = await seeded('find_none');
    assert.equal(await coll.findOne({ qty: -1 }), null);
    assert.deepEqual(await ctx.client.db(coll.dbName).collection<Doc>('does_not_exist').find({}).toArray(), []);
  });
});

describe('projection', () => {
  it('inclusion keeps _id unless excluded', async () => {
    const coll = await seeded('proj_incl');
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { item: 1, qty: 1 } }), { _id: 1, item: 'journal', qty: 25 });
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { item: 1, _id: 0 } }), { item: 'journal' });
  });

  it('keeps the stored field order whatever order the projection names them in, and reads numeric flags of any type', async () => {
    const coll = await seeded('proj_order');
    const kept = await coll.findOne({ _id: 1 }, { projection: { status: 1, item: true, missing: 1 } });
    assert.deepEqual(Object.keys(kept ?? {}), ['_id', 'item', 'status']);
    const dropped = await coll.findOne({ _id: 1 }, { projection: { qty: Long.fromNumber(0), status: new Double(0), _id: false } });
    assert.deepEqual(Object.keys(dropped ?? {}), ['item', 'tags', 'size']);
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { _id: 1 } }), { _id: 1 });
  });

  it('exclusion removes only the named fields', async () => {
    const coll = await seeded('proj_excl');
    assert.deepEqual(await coll.findOne({ _id: 5 }, { projection: { tags: 0, size: 0, status: 0 } }), { _id: 5, item: 'postcard', qty: 45 });
    assert.deepEqual(await coll.findOne({ _id: 5 }, { projection: { _id: 0, size: 0, tags: 0 } }), { item: 'postcard', qty: 45, status: 'A' });
  });

  it('dotted paths, $slice and $elemMatch in projections', async () => {
    const coll = await seeded('proj_dotted');
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { 'size.uom': 1 } }), { _id: 1, size: { uom: 'cm' } });
    assert.deepEqual(await coll.findOne({ _id: 1 }, { projection: { 'size.uom': 0, tags: 0, item: 0, qty: 0, status: 0 } }), { _id: 1, size: { h: 14, w: 21 } });
    assert.deepEqual(await coll.findOne({ _id: 3 }, { projection: { tags: { $slice: 2 }, _id: 0, item: 1 } }), { item: 'paper', tags: ['red', 'blank'] });
    assert.deepEqual(await coll.findOne({ _id: 3 }, { projection: { tags: { $slice: -1 }, _id: 0, item: 1 } }), { item: 'paper', tags: ['plain'] });
    const elem = await seeded('proj_elem', scores);
    assert.deepEqual(await elem.findOne({ _id: 3 }, { projection: { results: { $elemMatch: { score: { $gt: 7 } } } } }), {
      _id: 3,
      results: [{ product: 'xyz', score: 8 }],
    });
  });

  it('the positional $ projection returns the first matching element', async () => {
    const coll = await seeded('proj_positional', scores);
    assert.deepEqual(await coll.findOne({ _id: 2, 'results.score': { $gte: 7 } }, { projection: { 'results.$': 1 } }), {
      _id: 2,
      results: [{ product: 'abc', score: 8 }],
    });
  });

  it('mixing inclusion and exclusion is an error', async () => {
    const coll = await seeded('proj_mixed');
    await expectServerError(coll.findOne({}, { projection: { item: 1, qty: 0 } }), { code: [31253, 31254], message: /projection/ });
  });
});

describe('sort, skip, limit', () => {
  it('sorts on several keys in the given directions', async () => {
    const coll = await seeded('sort_multi');
    const docs = await coll
      .find({}, { projection: { status: 1, qty: 1 } })
      .sort({ status: 1, qty: -1 })
      .toArray();
    assert.deepEqual(
      docs.map((d) => d._id),
      [2, 5, 1, 6, 3, 4],
    );
  });

  it('sorts on a dotted path, documents missing the path first', async () => {
    const coll = await seeded('sort_dotted');
    const docs = await coll.find().sort({ 'size.h': 1, _id: 1 }).toArray();
    assert.deepEqual(
      docs.map((d) => d._id),
      [6, 2, 3, 5, 1, 4],
    );
  });

  it('sorts an array field by its smallest element ascending and largest descending', async () => {
    const coll = ctx.db('sort_arrays').collection<Doc>('c');
    await coll.insertMany([
      { _id: 'a', v: [5, 1] },
      { _id: 'b', v: 3 },
      { _id: 'c', v: [2, 9] },
    ]);
    assert.deepEqual(
      (await coll.find().sort({ v: 1 }).toArray()).map((d) => d._id),
      ['a', 'c', 'b'],
    );
    assert.deepEqual(
      (await coll.find().sort({ v: -1 }).toArray()).map((d) => d._id),
      ['c', 'a', 'b'],
    );
  });

  it('orders values of different types by the BSON comparison order', async () => {
    const coll = ctx.db('sort_types').collection<Doc>('c');
    await coll.insertMany([
      { _id: 'bool', v: true },
      { _id: 'string', v: 'abc' },
      { _id: 'object', v: { x: 1 } },
      { _id: 'number', v: 42 },
      { _id: 'null', v: null },
      { _id: 'date', v: new Date(0) },
      { _id: 'array', v: [] },
    ]);
    const order = (await coll.find().sort({ v: 1 }).toArray()).map((d) => d._id);
    assert.deepEqual(order, ['array', 'null', 'number', 'string', 'object', 'bool', 'date'], 'an empty array sorts before null');
  });

  it('skip and limit page through a sorted result', async () => {
    const coll = await seeded('sort_page');
    assert.deepEqual(
      (await coll.find().sort({ qty: 1 }).skip(1).limit(2).toArray()).map((d) => d._id),
      [1, 5],
    );
    assert.deepEqual(
      (await coll.find().sort({ qty: 1 }).skip(5).limit(10).toArray()).map((d) => d._id),
      [3],
    );
    assert.deepEqual(await coll.find().skip(100).toArray(), []);
  });
});

describe('cursors', () => {
  it('batchSize splits the result into a find batch and getMore batches', async () => {
    const coll = ctx.db('cur_batches').collection<Doc>('c');
    await coll.insertMany(Array.from({ length: 25 }, (_, i) => ({ _id: i })));
    const recording = recordCommands(ctx.client, ['find', 'getMore']);
    let docs: Document[];
    try {
      docs = await coll.find().sort({ _id: 1 }).batchSize(10).toArray();
    } finally {
      recording.stop();
    }
    assert.deepEqual(
      docs.map((d) => d._id),
      Array.from({ length: 25 }, (_, i) => i),
    );
    assert.deepEqual(recording.names(), ['find', 'getMore', 'getMore']);
    assert.deepEqual(
      recording.succeeded.map((e) => batchOf(e.reply).length),
      [10, 10, 5],
    );
    const lastCursor = (recording.succeeded.at(-1)?.reply as Document | undefined)?.cursor as Document | undefined;
    assert.equal(Number(lastCursor?.id), 0, 'the exhausted cursor reports id 0');
  });

  it('a cursor over 10,000 documents with batchSize 7 returns every document in order', async () => {
    const coll = ctx.db('cur_large').collection<Doc>('c');
    const total = 10_000;
    await coll.insertMany(Array.from({ length: total }, (_, i) => ({ _id: i, r: (i * 7919) % total })));
    const recording = recordCommands(ctx.client, ['getMore']);
    let seen = 0;
    let inOrder = true;
    try {
      for await (const doc of coll
        .find({}, { projection: { _id: 1 } })
        .sort({ _id: 1 })
        .batchSize(7)) {
        if (doc._id !== seen) inOrder = false;
        seen += 1;
      }
    } finally {
      recording.stop();
    }
    assert.equal(seen, total);
    assert.ok(inOrder, 'documents arrive in _id order');
    assert.equal(recording.started.length, Math.ceil(total / 7) - 1);
  });

  it('limit with batchSize closes the cursor once the limit is reached', async () => {
    const coll = ctx.db('cur_limit').collection<Doc>('c');
    await coll.insertMany(Array.from({ length: 30 }, (_, i) => ({ _id: i })));
    const docs = await coll.find().sort({ _id: -1 }).limit(12).batchSize(5).toArray();
    assert.deepEqual(
      docs.map((d) => d._id),
      Array.from({ length: 12 }, (_, i) => 29 - i),
    );
  });

  it('killCursors kills an open cursor; a later getMore fails with CursorNotFound (43)', async () => {
    const db = ctx.db('cur_kill');
    await db.collection<Doc>('c').insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
    const session = ctx.client.startSession();
    try {
      const found = await db.command({ find: 'c', sort: { _id: 1 }, batchSize: 2 }, { session, promoteLongs: false });
      assert.equal(batchOf(found).length, 2);
      const cursorId = (found.cursor as Document).id;
      assert.ok(cursorId instanceof Long && !cursorId.isZero(), 'the cursor stays open');
      const more = await db.command({ getMore: cursorId, collection: 'c', batchSize: 3 }, { session });
      assert.deepEqual(
        batchOf(more).map((d) => d._id),
        [2, 3, 4],
      );
      const killed = await db.command({ killCursors: 'c', cursors: [cursorId] }, { session, promoteLongs: false });
      assert.deepEqual((killed.cursorsKilled as Long[]).map(String), [String(cursorId)]);
      assert.deepEqual(killed.cursorsNotFound, []);
      assert.deepEqual(killed.cursorsAlive, []);
      assert.deepEqual(killed.cursorsUnknown, []);
      await expectServerError(db.command({ getMore: cursorId, collection: 'c' }, { session }), { code: 43, codeName: 'CursorNotFound' });
      const again = await db.command({ killCursors: 'c', cursors: [cursorId] }, { session, promoteLongs: false });
      assert.deepEqual((again.cursorsNotFound as Long[]).map(String), [String(cursorId)]);
    } finally {
      await session.endSession();
    }
  });

  it('closing a driver cursor early kills it on the server', async () => {
    const db = ctx.db('cur_close');
    await db.collection<Doc>('c').insertMany(Array.from({ length: 10 }, (_, i) => ({ _id: i })));
    const session = ctx.client.startSession();
    const recording = recordCommands(ctx.client, ['killCursors']);
    try {
      const cursor = db.collection<Doc>('c').find({}, { session, batchSize: 3 }).sort({ _id: 1 });
      assert.equal((await cursor.next())?._id, 0);
      const cursorId = cursor.id;
      assert.ok(cursorId !== undefined && Number(cursorId) !== 0);
      await cursor.close();
      assert.deepEqual(recording.names(), ['killCursors']);
      await expectServerError(db.command({ getMore: cursorId, collection: 'c' }, { session }), { code: 43, codeName: 'CursorNotFound' });
    } finally {
      recording.stop();
      await session.endSession();
    }
  });
});

describe('counting and distinct', () => {
  it('countDocuments honours filter, skip and limit; estimatedDocumentCount counts all', async () => {
    const coll = await seeded('count_docs');
    assert.equal(await coll.countDocuments(), 6);
    assert.equal(await coll.countDocuments({ status: 'A' }), 3);
    assert.equal(await coll.countDocuments({ status: 'A' }, { skip: 1 }), 2);
    assert.equal(await coll.countDocuments({}, { limit: 4 }), 4);
    assert.equal(await coll.estimatedDocumentCount(), 6);
    assert.equal(await ctx.client.db(coll.dbName).collection<Doc>('missing').countDocuments(), 0);
    assert.equal(await ctx.client.db(coll.dbName).collection<Doc>('missing').estimatedDocumentCount(), 0);
  });

  it('the count command answers n with query, skip and limit', async () => {
    const coll = await seeded('count_cmd');
    const db = ctx.client.db(coll.dbName);
    const all = await db.command({ count: 'c' });
    assert.equal(all.ok, 1);
    assert.equal(all.n, 6);
    const filtered = await db.command({ count: 'c', query: { qty: { $gte: 50 } } });
    assert.equal(filtered.n, 3);
    assert.equal((await db.command({ count: 'c', query: { qty: { $gte: 50 } }, skip: 1, limit: 1 })).n, 1);
    assert.equal((await db.command({ count: 'missing' })).n, 0);
  });

  it('distinct returns each value once and flattens arrays', async () => {
    const coll = await seeded('distinct_values');
    assert.deepEqual(sortedValues(await coll.distinct('status')), ['A', 'B', 'D']);
    assert.deepEqual(sortedValues(await coll.distinct('tags')), ['blank', 'blue', 'plain', 'red']);
    assert.deepEqual(sortedValues(await coll.distinct('size.uom')), ['cm', 'in']);
    assert.deepEqual(sortedValues(await coll.distinct('tags', { status: 'D' })), ['blank', 'plain', 'red']);
    assert.deepEqual(await coll.distinct('nothing'), []);
  });

  it('distinct walks arrays of embedded documents and keeps distinct types apart', async () => {
    const coll = await seeded('distinct_nested', scores);
    assert.deepEqual(sortedValues(await coll.distinct('results.product')), ['abc', 'def', 'xyz']);
    const mixed = ctx.db('distinct_mixed').collection<Doc>('c');
    await mixed.insertMany([{ v: 1 }, { v: '1' }, { v: 1 }, { v: [1, 2] }, { v: null }]);
    const values = await mixed.distinct('v');
    assert.equal(values.length, 4);
    assert.deepEqual(sortedValues(values), sortedValues([1, '1', 2, null]));
  });
});

describe('comparison details', () => {
  it('strings sort and compare by binary code point, not by locale', async () => {
    const coll = ctx.db('cmp_strings').collection<Doc>('c');
    await coll.insertMany([{ _id: 'b' }, { _id: 'B' }, { _id: 'a' }, { _id: 'A' }, { _id: 'é' }, { _id: 'z' }]);
    assert.deepEqual(
      (await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      ['A', 'B', 'a', 'b', 'z', 'é'],
    );
    assert.deepEqual(await ids(coll, { _id: { $lt: 'a' } }), ['A', 'B']);
  });

  it('numbers of different BSON types sort together by value', async () => {
    const coll = ctx.db('cmp_numbers').collection<Doc>('c');
    await coll.insertMany([
      { _id: 'int2', v: 2 },
      { _id: 'double1.5', v: 1.5 },
      { _id: 'long3', v: Long.fromNumber(3) },
      { _id: 'dec2.5', v: Decimal128.fromString('2.5') },
      { _id: 'neg', v: -10 },
    ]);
    assert.deepEqual(
      (await coll.find().sort({ v: 1 }).toArray()).map((d) => d._id),
      ['neg', 'double1.5', 'int2', 'dec2.5', 'long3'],
    );
    assert.deepEqual(await ids(coll, { v: { $gt: 2, $lte: 3 } }), ['dec2.5', 'long3']);
  });

  it('$in with null matches missing fields; $ne: null excludes them', async () => {
    const coll = await seeded('cmp_null');
    assert.deepEqual(await ids(coll, { size: { $in: [null] } }), [6]);
    assert.deepEqual(await ids(coll, { note: { $ne: null } }), []);
    assert.deepEqual(await ids(coll, { size: { $ne: null } }), [1, 2, 3, 4, 5]);
    assert.deepEqual(await ids(coll, { 'tags.0': { $exists: true } }), [1, 2, 3, 4, 5]);
  });

  it('dates and ObjectIds compare chronologically', async () => {
    const coll = ctx.db('cmp_dates').collection<Doc>('c');
    const early = ObjectId.createFromTime(1_600_000_000);
    const late = ObjectId.createFromTime(1_700_000_000);
    await coll.insertMany([
      { _id: late, at: new Date('2024-01-02T00:00:00Z') },
      { _id: early, at: new Date('2020-01-01T00:00:00Z') },
    ]);
    assert.deepEqual(await ids(coll, { at: { $gte: new Date('2021-01-01T00:00:00Z') } }), [late]);
    assert.deepEqual(await ids(coll, { _id: { $lt: ObjectId.createFromTime(1_650_000_000) } }), [early]);
    assert.deepEqual(
      (await coll.find().sort({ at: -1 }).toArray()).map((d) => d._id),
      [late, early],
    );
  });

  it('a hint naming no index is refused with BadValue (2)', async () => {
    const coll = await seeded('cmp_hint');
    await expectServerError(coll.find({}, { hint: 'no_such_index' }).toArray(), { code: 2, codeName: 'BadValue', message: 'hint' });
    await coll.createIndex({ qty: 1 });
    assert.equal((await coll.find({ qty: { $gt: 40 } }, { hint: 'qty_1' }).toArray()).length, 4);
    assert.equal((await coll.find({}, { hint: { $natural: 1 } }).toArray()).length, 6);
  });
});

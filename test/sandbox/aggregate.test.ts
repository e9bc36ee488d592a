// Conformance: the aggregate command — the common stages, $lookup, $out and $merge, expression
// operators, and cursor batching of aggregation results.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Int32, Long } from 'mongodb';
import type { Collection, Db, Document } from 'mongodb';
import { batchOf, expectServerError, recordCommands, sortedValues, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

const sales: Document[] = [
  { _id: 1, item: 'abc', price: 10, qty: 2, date: new Date('2024-03-01T08:00:00Z'), tags: ['x', 'y'] },
  { _id: 2, item: 'jkl', price: 20, qty: 1, date: new Date('2024-03-01T09:00:00Z'), tags: ['y'] },
  { _id: 3, item: 'xyz', price: 5, qty: 10, date: new Date('2024-03-15T09:00:00Z'), tags: [] },
  { _id: 4, item: 'xyz', price: 5, qty: 20, date: new Date('2024-04-04T11:21:39Z') },
  { _id: 5, item: 'abc', price: 10, qty: 10, date: new Date('2024-04-04T21:23:13Z'), tags: ['z'] },
];

async function seededDb(prefix: string): Promise<{ db: Db; sales: Collection<Doc> }> {
  const db = ctx.db(prefix);
  const coll = db.collection<Doc>('sales');
  await coll.insertMany(sales.map((s) => ({ ...s })));
  return { db, sales: coll };
}

describe('pipeline stages', () => {
  it('$match, $group with accumulators, $sort', async () => {
    const { sales: coll } = await seededDb('agg_group');
    const rows = await coll
      .aggregate([
        { $match: { price: { $gte: 5 } } },
        { $sort: { _id: 1 } },
        {
          $group: {
            _id: '$item',
            total: { $sum: { $multiply: ['$price', '$qty'] } },
            count: { $sum: 1 },
            avgQty: { $avg: '$qty' },
            maxQty: { $max: '$qty' },
            minQty: { $min: '$qty' },
            ids: { $push: '$_id' },
            prices: { $addToSet: '$price' },
            first: { $first: '$_id' },
            last: { $last: '$_id' },
          },
        },
        { $sort: { total: -1 } },
      ])
      .toArray();
    assert.deepEqual(rows, [
      { _id: 'xyz', total: 150, count: 2, avgQty: 15, maxQty: 20, minQty: 10, ids: [3, 4], prices: [5], first: 3, last: 4 },
      { _id: 'abc', total: 120, count: 2, avgQty: 6, maxQty: 10, minQty: 2, ids: [1, 5], prices: [10], first: 1, last: 5 },
      { _id: 'jkl', total: 20, count: 1, avgQty: 1, maxQty: 1, minQty: 1, ids: [2], prices: [20], first: 2, last: 2 },
    ]);
  });

  it('$group by null and by a compound key; $sum ignores non-numbers, $avg of nothing is null', async () => {
    const { sales: coll } = await seededDb('agg_group_null');
    const [all] = await coll.aggregate([{ $group: { _id: null, qty: { $sum: '$qty' }, n: { $sum: 1 }, nothing: { $avg: '$missing' }, text: { $sum: '$item' } } }]).toArray();
    assert.deepEqual(all, { _id: null, qty: 43, n: 5, nothing: null, text: 0 });
    assert.deepEqual(await coll.aggregate([{ $match: { item: 'none' } }, { $group: { _id: null, n: { $sum: 1 } } }]).toArray(), [], 'no input, no groups');
    const byMonth = await coll.aggregate([{ $group: { _id: { item: '$item', month: { $month: '$date' } }, qty: { $sum: '$qty' } } }, { $sort: { '_id.month': 1, '_id.item': 1 } }]).toArray();
    assert.deepEqual(byMonth, [
      { _id: { item: 'abc', month: 3 }, qty: 2 },
      { _id: { item: 'jkl', month: 3 }, qty: 1 },
      { _id: { item: 'xyz', month: 3 }, qty: 10 },
      { _id: { item: 'abc', month: 4 }, qty: 10 },
      { _id: { item: 'xyz', month: 4 }, qty: 20 },
    ]);
  });

  it('$project computes fields; $addFields and $set add to the document', async () => {
    const { sales: coll } = await seededDb('agg_project');
    const projected = await coll
      .aggregate([
        { $match: { _id: { $in: [1, 4] } } },
        { $sort: { _id: 1 } },
        {
          $project: {
            _id: 0,
            label: { $concat: [{ $toUpper: '$item' }, '-', { $toString: '$qty' }] },
            amount: { $multiply: ['$price', '$qty'] },
            day: { $dateToString: { format: '%Y-%m-%d', date: '$date' } },
          },
        },
      ])
      .toArray();
    assert.deepEqual(projected, [
      { label: 'ABC-2', amount: 20, day: '2024-03-01' },
      { label: 'XYZ-20', amount: 100, day: '2024-04-04' },
    ]);
    const added = await coll
      .aggregate([{ $match: { _id: 2 } }, { $addFields: { amount: { $multiply: ['$price', '$qty'] } } }, { $set: { 'extra.flag': true } }, { $unset: ['date', 'tags'] }])
      .toArray();
    assert.deepEqual(added, [{ _id: 2, item: 'jkl', price: 20, qty: 1, amount: 20, extra: { flag: true } }]);
  });

  it('$unwind with includeArrayIndex and preserveNullAndEmptyArrays', async () => {
    const { sales: coll } = await seededDb('agg_unwind');
    const plain = await coll.aggregate([{ $sort: { _id: 1 } }, { $unwind: '$tags' }, { $project: { tags: 1 } }]).toArray();
    assert.deepEqual(plain, [
      { _id: 1, tags: 'x' },
      { _id: 1, tags: 'y' },
      { _id: 2, tags: 'y' },
      { _id: 5, tags: 'z' },
    ]);
    const kept = await coll.aggregate([{ $sort: { _id: 1 } }, { $unwind: { path: '$tags', includeArrayIndex: 'i', preserveNullAndEmptyArrays: true } }, { $project: { tags: 1, i: 1 } }]).toArray();
    assert.deepEqual(kept, [
      { _id: 1, tags: 'x', i: 0 },
      { _id: 1, tags: 'y', i: 1 },
      { _id: 2, tags: 'y', i: 0 },
      { _id: 3, i: null },
      { _id: 4, i: null },
      { _id: 5, tags: 'z', i: 0 },
    ]);
  });

  it('$count, $skip and $limit; $count over nothing yields no document', async () => {
    const { db, sales: coll } = await seededDb('agg_count');
    assert.deepEqual(await coll.aggregate([{ $match: { item: 'xyz' } }, { $count: 'n' }]).toArray(), [{ n: 2 }]);
    assert.deepEqual(await coll.aggregate([{ $match: { item: 'none' } }, { $count: 'n' }]).toArray(), []);
    assert.deepEqual(
      await db
        .collection<Doc>('missing')
        .aggregate([{ $count: 'n' }])
        .toArray(),
      [],
    );
    const page = await coll.aggregate([{ $sort: { _id: -1 } }, { $skip: 1 }, { $limit: 2 }, { $project: { _id: 1 } }]).toArray();
    assert.deepEqual(page, [{ _id: 4 }, { _id: 3 }]);
  });

  it('$replaceRoot, $facet and $bucket', async () => {
    const { sales: coll } = await seededDb('agg_facet');
    const roots = await coll.aggregate([{ $match: { _id: 1 } }, { $replaceRoot: { newRoot: { item: '$item', q: '$qty' } } }]).toArray();
    assert.deepEqual(roots, [{ item: 'abc', q: 2 }]);
    const [facets] = await coll
      .aggregate([
        {
          $facet: {
            cheap: [{ $match: { price: { $lt: 10 } } }, { $count: 'n' }],
            buckets: [{ $bucket: { groupBy: '$qty', boundaries: [0, 5, 15, 100], default: 'other', output: { n: { $sum: 1 } } } }],
          },
        },
      ])
      .toArray();
    assert.deepEqual(facets, {
      cheap: [{ n: 2 }],
      buckets: [
        { _id: 0, n: 2 },
        { _id: 5, n: 2 },
        { _id: 15, n: 1 },
      ],
    });
  });

  it("$bucketAuto on _id: equal buckets in BSON type order, each to the next one's min, with $type of what they hold", async () => {
    // What ctx.batches' `concurrency` splits a walk with (src/runner/batch-ranges.ts).
    const coll = ctx.db('agg_bucket_auto').collection<Doc>('mixed');
    await coll.insertMany([...['e', 'a', 'c', 'b', 'd'].map((_id) => ({ _id })), ...[7, 2, 9, 0, 4, 1, 8, 3, 6, 5].map((_id) => ({ _id }))]);
    const buckets = await coll
      .aggregate([{ $project: { _id: 1 } }, { $bucketAuto: { groupBy: '$_id', buckets: 3, output: { count: { $sum: 1 }, types: { $addToSet: { $type: '$_id' } } } } }], { allowDiskUse: true })
      .toArray();
    assert.deepEqual(buckets, [
      { _id: { min: 0, max: 5 }, count: 5, types: ['int'] },
      { _id: { min: 5, max: 'a' }, count: 5, types: ['int'] },
      { _id: { min: 'a', max: 'e' }, count: 5, types: ['string'] },
    ]);
    // More buckets than documents: one bucket each.
    const few = await coll.aggregate([{ $match: { _id: { $type: 'string' } } }, { $bucketAuto: { groupBy: '$_id', buckets: 16 } }]).toArray();
    assert.deepEqual(
      few.map((b) => b._id as unknown),
      [
        { min: 'a', max: 'b' },
        { min: 'b', max: 'c' },
        { min: 'c', max: 'd' },
        { min: 'd', max: 'e' },
        { min: 'e', max: 'e' },
      ],
    );
  });

  it('array expressions: $size, $filter, $map, $reduce, $in', async () => {
    const { sales: coll } = await seededDb('agg_arrays');
    const rows = await coll
      .aggregate([
        { $match: { _id: 1 } },
        {
          $project: {
            _id: 0,
            n: { $size: '$tags' },
            notX: { $filter: { input: '$tags', as: 't', cond: { $ne: ['$$t', 'x'] } } },
            upper: { $map: { input: '$tags', in: { $toUpper: '$$this' } } },
            joined: { $reduce: { input: '$tags', initialValue: '', in: { $concat: ['$$value', '$$this'] } } },
            hasY: { $in: ['y', '$tags'] },
            kind: { $switch: { branches: [{ case: { $gt: ['$qty', 5] }, then: 'big' }], default: 'small' } },
            cond: { $cond: { if: { $eq: ['$item', 'abc'] }, then: 1, else: 0 } },
          },
        },
      ])
      .toArray();
    assert.deepEqual(rows, [{ n: 2, notX: ['y'], upper: ['X', 'Y'], joined: 'xy', hasY: true, kind: 'small', cond: 1 }]);
  });
});

describe('$lookup', () => {
  async function withOrders(prefix: string): Promise<Db> {
    const db = ctx.db(prefix);
    await db.collection<Doc>('orders').insertMany([{ _id: 1, item: 'almonds', qty: 2 }, { _id: 2, item: 'pecans', qty: 1 }, { _id: 3, item: ['almonds', 'cashews'], qty: 5 }, { _id: 4 }]);
    await db
      .collection<Doc>('inventory')
      .insertMany([{ _id: 10, sku: 'almonds', instock: 120 }, { _id: 11, sku: 'bread', instock: 80 }, { _id: 12, sku: 'cashews', instock: 60 }, { _id: 13, sku: 'pecans', instock: 70 }, { _id: 14 }]);
    return db;
  }

  it('joins on localField/foreignField, also from an array field and on missing fields', async () => {
    const db = await withOrders('agg_lookup');
    const rows = await db
      .collection<Doc>('orders')
      .aggregate([{ $sort: { _id: 1 } }, { $lookup: { from: 'inventory', localField: 'item', foreignField: 'sku', as: 'stock' } }, { $project: { skus: '$stock._id' } }])
      .toArray();
    assert.deepEqual(
      rows.map((r) => ({ _id: r._id as unknown, skus: sortedValues(r.skus as unknown[]) })),
      [
        { _id: 1, skus: [10] },
        { _id: 2, skus: [13] },
        { _id: 3, skus: [10, 12] },
        { _id: 4, skus: [14] },
      ],
      'a missing localField matches foreign documents missing the foreignField',
    );
  });

  it('joins with a pipeline and let variables', async () => {
    const db = await withOrders('agg_lookup_pipe');
    const rows = await db
      .collection<Doc>('orders')
      .aggregate([
        { $match: { _id: { $in: [1, 2] } } },
        { $sort: { _id: 1 } },
        {
          $lookup: {
            from: 'inventory',
            let: { wanted: '$item', q: '$qty' },
            pipeline: [{ $match: { $expr: { $and: [{ $eq: ['$sku', '$$wanted'] }, { $gte: ['$instock', { $add: ['$$q', 98] }] }] } } }, { $project: { _id: 0, instock: 1 } }],
            as: 'enough',
          },
        },
        { $project: { enough: 1 } },
      ])
      .toArray();
    assert.deepEqual(rows, [
      { _id: 1, enough: [{ instock: 120 }] },
      { _id: 2, enough: [] },
    ]);
  });

  it('a lookup into a missing collection yields empty arrays', async () => {
    const db = await withOrders('agg_lookup_missing');
    const rows = await db
      .collection<Doc>('orders')
      .aggregate([{ $match: { _id: 1 } }, { $lookup: { from: 'nowhere', localField: 'item', foreignField: 'sku', as: 'none' } }])
      .toArray();
    assert.deepEqual(rows, [{ _id: 1, item: 'almonds', qty: 2, none: [] }]);
  });
});

describe('$out and $merge', () => {
  it('$out writes the results to a new collection and returns no documents', async () => {
    const { db, sales: coll } = await seededDb('agg_out');
    const returned = await coll.aggregate([{ $group: { _id: '$item', qty: { $sum: '$qty' } } }, { $out: 'totals' }]).toArray();
    assert.deepEqual(returned, []);
    assert.deepEqual(await db.collection<Doc>('totals').find().sort({ _id: 1 }).toArray(), [
      { _id: 'abc', qty: 12 },
      { _id: 'jkl', qty: 1 },
      { _id: 'xyz', qty: 30 },
    ]);
  });

  it('$out replaces the whole target collection', async () => {
    const { db, sales: coll } = await seededDb('agg_out_replace');
    await db.collection<Doc>('target').insertMany([{ _id: 'old1' }, { _id: 'old2' }]);
    await coll.aggregate([{ $match: { item: 'jkl' } }, { $project: { item: 1 } }, { $out: 'target' }]).toArray();
    assert.deepEqual(await db.collection<Doc>('target').find().toArray(), [{ _id: 2, item: 'jkl' }]);
  });

  it('$merge merges matched documents and inserts the rest', async () => {
    const { db, sales: coll } = await seededDb('agg_merge');
    await db.collection<Doc>('summary').insertMany([
      { _id: 'abc', note: 'keep me', qty: 0 },
      { _id: 'old', qty: 99 },
    ]);
    const returned = await coll.aggregate([{ $group: { _id: '$item', qty: { $sum: '$qty' } } }, { $merge: { into: 'summary' } }]).toArray();
    assert.deepEqual(returned, []);
    assert.deepEqual(await db.collection<Doc>('summary').find().sort({ _id: 1 }).toArray(), [
      { _id: 'abc', note: 'keep me', qty: 12 },
      { _id: 'jkl', qty: 1 },
      { _id: 'old', qty: 99 },
      { _id: 'xyz', qty: 30 },
    ]);
  });

  it('$merge with whenMatched replace/keepExisting and whenNotMatched discard', async () => {
    const { db, sales: coll } = await seededDb('agg_merge_modes');
    await db.collection<Doc>('r').insertOne({ _id: 'abc', note: 'gone after replace' });
    await coll.aggregate([{ $group: { _id: '$item', qty: { $sum: '$qty' } } }, { $merge: { into: 'r', whenMatched: 'replace', whenNotMatched: 'discard' } }]).toArray();
    assert.deepEqual(await db.collection<Doc>('r').find().toArray(), [{ _id: 'abc', qty: 12 }]);
    await db.collection<Doc>('k').insertOne({ _id: 'abc', note: 'kept' });
    await coll.aggregate([{ $group: { _id: '$item', qty: { $sum: '$qty' } } }, { $merge: { into: 'k', whenMatched: 'keepExisting', whenNotMatched: 'insert' } }]).toArray();
    assert.deepEqual(await db.collection<Doc>('k').find().sort({ _id: 1 }).toArray(), [
      { _id: 'abc', note: 'kept' },
      { _id: 'jkl', qty: 1 },
      { _id: 'xyz', qty: 30 },
    ]);
  });
});

describe('aggregation cursors', () => {
  it('batches results with batchSize and getMore', async () => {
    const coll = ctx.db('agg_cursor').collection<Doc>('c');
    await coll.insertMany(Array.from({ length: 23 }, (_, i) => ({ _id: i, even: i % 2 === 0 })));
    const recording = recordCommands(ctx.client, ['aggregate', 'getMore']);
    let docs: Document[];
    try {
      docs = await coll.aggregate([{ $sort: { _id: 1 } }, { $project: { _id: 1 } }], { batchSize: 5 }).toArray();
    } finally {
      recording.stop();
    }
    assert.deepEqual(
      docs.map((d) => d._id),
      Array.from({ length: 23 }, (_, i) => i),
    );
    assert.deepEqual(recording.names(), ['aggregate', 'getMore', 'getMore', 'getMore', 'getMore']);
    assert.deepEqual(
      recording.succeeded.map((e) => batchOf(e.reply).length),
      [5, 5, 5, 5, 3],
    );
  });

  it('the raw aggregate command with cursor: { batchSize: 0 } returns an open cursor and no documents', async () => {
    const db = ctx.db('agg_cursor_zero');
    await db.collection<Doc>('c').insertMany(Array.from({ length: 4 }, (_, i) => ({ _id: i })));
    const session = ctx.client.startSession();
    try {
      const reply = await db.command({ aggregate: 'c', pipeline: [{ $sort: { _id: 1 } }], cursor: { batchSize: 0 } }, { session, promoteLongs: false });
      assert.deepEqual(batchOf(reply), []);
      const cursor = reply.cursor as Document;
      assert.equal(cursor.ns, `${db.databaseName}.c`);
      const more = await db.command({ getMore: cursor.id, collection: 'c' }, { session });
      assert.deepEqual(
        batchOf(more).map((d) => d._id),
        [0, 1, 2, 3],
      );
    } finally {
      await session.endSession();
    }
  });
});

describe('more aggregation details', () => {
  it('$$ROOT captures whole documents and $$REMOVE drops a field conditionally', async () => {
    const { sales: coll } = await seededDb('agg_vars');
    const [group] = await coll.aggregate([{ $match: { item: 'xyz' } }, { $sort: { _id: 1 } }, { $group: { _id: '$item', docs: { $push: '$$ROOT' } } }]).toArray();
    assert.deepEqual(group, { _id: 'xyz', docs: [sales[2], sales[3]] });
    const rows = await coll.aggregate([{ $sort: { _id: 1 } }, { $project: { _id: 1, bulk: { $cond: [{ $gte: ['$qty', 10] }, true, '$$REMOVE'] } } }]).toArray();
    assert.deepEqual(rows, [{ _id: 1 }, { _id: 2 }, { _id: 3, bulk: true }, { _id: 4, bulk: true }, { _id: 5, bulk: true }]);
  });

  it('$out keeps the indexes of the collection it replaces', async () => {
    const { db, sales: coll } = await seededDb('agg_out_indexes');
    await db.collection<Doc>('report').createIndex({ item: 1 }, { name: 'by_item' });
    await db.collection<Doc>('report').insertOne({ _id: 'stale' });
    await coll.aggregate([{ $match: { qty: { $gte: 10 } } }, { $project: { item: 1 } }, { $out: 'report' }]).toArray();
    assert.deepEqual(
      (await db.collection<Doc>('report').find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      [3, 4, 5],
    );
    assert.deepEqual((await db.collection<Doc>('report').listIndexes().toArray()).map((i) => i.name).sort(), ['_id_', 'by_item']);
  });

  it('$merge on a field needs a unique index on it (51183), and then merges by that field', async () => {
    const { db, sales: coll } = await seededDb('agg_merge_on');
    await db.collection<Doc>('byItem').insertOne({ item: 'abc', note: 'existing' });
    const pipeline = [{ $group: { _id: null, item: { $first: 'abc' }, total: { $sum: '$qty' } } }, { $project: { _id: 0 } }];
    await expectServerError(coll.aggregate([...pipeline, { $merge: { into: 'byItem', on: 'item' } }]).toArray(), { code: 51183 });
    await db.collection<Doc>('byItem').createIndex({ item: 1 }, { unique: true });
    await coll.aggregate([...pipeline, { $merge: { into: 'byItem', on: 'item', whenMatched: 'merge' } }]).toArray();
    const docs = await db
      .collection<Doc>('byItem')
      .find({}, { projection: { _id: 0 } })
      .toArray();
    assert.deepEqual(docs, [{ item: 'abc', note: 'existing', total: 43 }]);
  });

  it('$sum keeps 32-bit integers and widens to a 64-bit long on overflow', async () => {
    const coll = ctx.db('agg_sum_types').collection<Doc>('c');
    await coll.insertMany([
      { v: 2147483647, w: 1 },
      { v: 1, w: 2 },
    ]);
    const [row] = await coll.aggregate([{ $group: { _id: null, big: { $sum: '$v' }, small: { $sum: '$w' } } }], { promoteValues: false }).toArray();
    assert.ok(row?.small instanceof Int32 && row.small.value === 3, `a sum of small ints is an int, got ${String(row?.small)}`);
    assert.ok(row?.big instanceof Long && row.big.toNumber() === 2147483648, `an overflowing int sum is a long, got ${String(row?.big?.constructor?.name)} ${String(row?.big)}`);
  });

  it('$sortByCount and $group with $sum: 1 count occurrences', async () => {
    const { sales: coll } = await seededDb('agg_sortbycount');
    const rows = await coll.aggregate([{ $unwind: '$tags' }, { $sortByCount: '$tags' }, { $sort: { count: -1, _id: 1 } }]).toArray();
    assert.deepEqual(rows, [
      { _id: 'y', count: 2 },
      { _id: 'x', count: 1 },
      { _id: 'z', count: 1 },
    ]);
  });
});

describe('expression coverage', () => {
  it('$addFields on a dotted path through an array sets the field in every element', async () => {
    const coll = ctx.db('agg_addfields_array').collection<Doc>('c');
    await coll.insertOne({ _id: 1, a: [{ b: 1 }, { b: 2 }] });
    const rows = await coll.aggregate([{ $addFields: { 'a.c': 5 } }]).toArray();
    assert.deepEqual(rows, [
      {
        _id: 1,
        a: [
          { b: 1, c: 5 },
          { b: 2, c: 5 },
        ],
      },
    ]);
  });

  it('string and conversion expressions', async () => {
    const coll = ctx.db('agg_string_exprs').collection<Doc>('c');
    await coll.insertOne({ _id: 1, s: 'Hello World' });
    const [row] = await coll
      .aggregate([
        {
          $project: {
            _id: 0,
            lower: { $toLower: '$s' },
            sub: { $substrCP: ['$s', 0, 5] },
            split: { $split: ['$s', ' '] },
            len: { $strLenCP: '$s' },
            at: { $indexOfCP: ['$s', 'World'] },
            trimmed: { $trim: { input: '  x ' } },
            matches: { $regexMatch: { input: '$s', regex: /wor/i } },
            oid: { $toString: { $toObjectId: '5ab9cbfa31c2ab715d42129e' } },
            epoch: { $toDate: 0 },
            bad: { $convert: { input: 'x', to: 'int', onError: -1 } },
          },
        },
      ])
      .toArray();
    assert.deepEqual(row, {
      lower: 'hello world',
      sub: 'Hello',
      split: ['Hello', 'World'],
      len: 11,
      at: 6,
      trimmed: 'x',
      matches: true,
      oid: '5ab9cbfa31c2ab715d42129e',
      epoch: new Date(0),
      bad: -1,
    });
  });

  it('$getField, and $top / $topN accumulators', async () => {
    const coll = ctx.db('agg_top').collection<Doc>('c');
    await coll.insertMany([
      { _id: 1, g: 'a', score: 5, o: { x: 1 } },
      { _id: 2, g: 'a', score: 9, o: { x: 2 } },
      { _id: 3, g: 'a', score: 7, o: { x: 3 } },
    ]);
    const fields = await coll.aggregate([{ $match: { _id: 1 } }, { $project: { _id: 0, x: { $getField: { field: 'x', input: '$o' } }, score: { $getField: 'score' } } }]).toArray();
    assert.deepEqual(fields, [{ x: 1, score: 5 }]);
    const [top] = await coll
      .aggregate([{ $group: { _id: '$g', best: { $top: { sortBy: { score: -1 }, output: '$_id' } }, best2: { $topN: { n: 2, sortBy: { score: -1 }, output: '$_id' } } } }])
      .toArray();
    assert.deepEqual(top, { _id: 'a', best: 2, best2: [2, 3] });
  });

  it('$setWindowFields computes running totals', async () => {
    const coll = ctx.db('agg_window').collection<Doc>('c');
    await coll.insertMany([
      { _id: 1, v: 10 },
      { _id: 2, v: 20 },
      { _id: 3, v: 30 },
    ]);
    const rows = await coll
      .aggregate([
        { $setWindowFields: { sortBy: { _id: 1 }, output: { running: { $sum: '$v', window: { documents: ['unbounded', 'current'] } }, n: { $count: {} } } } },
        { $project: { running: 1, n: 1 } },
      ])
      .toArray();
    assert.deepEqual(rows, [
      { _id: 1, running: 10, n: 3 },
      { _id: 2, running: 30, n: 3 },
      { _id: 3, running: 60, n: 3 },
    ]);
  });
});

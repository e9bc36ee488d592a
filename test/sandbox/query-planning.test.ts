// Conformance: the query planner. explain names the index MongoDB would use (IXSCAN with the
// index name, under FETCH, without a blocking SORT when the index provides the order) or a
// COLLSCAN when no index fits; and every planned query returns exactly what a collection scan
// (`hint: { $natural: 1 }`) returns: same documents, and for sorts the same order, ties included.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Double, Int32, Long, ObjectId } from 'mongodb';
import type { Collection, Document } from 'mongodb';

import { useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';
import { assertCollectionScan, assertIndexPlan, assertSameAsScan, summarize } from './plan-helpers.js';

const ctx = useConformanceServer();
const isSandbox = (): boolean => ctx.server.sandbox !== undefined;

function coll(prefix: string): Collection<Doc> {
  return ctx.db(prefix).collection<Doc>('c');
}

const BASE = new Date('2026-01-01T00:00:00Z').getTime();
const OIDS = Array.from({ length: 50 }, (_, i) => new ObjectId(`65${String(i).padStart(22, '0')}`));

/** 400 documents with every shape the planner must get right. */
function sampleDocuments(): Document[] {
  const docs: Document[] = [];
  for (let i = 0; i < 400; i++) {
    const doc: Document = { _id: i, n: i % 3 === 0 ? new Int32(i % 50) : i % 3 === 1 ? Long.fromNumber(i % 50) : new Double(i % 50) };
    doc.s = `k${i % 37}`;
    doc.g = i % 5;
    doc.h = i % 7;
    doc.d = new Date(BASE + (i % 40) * 86_400_000);
    doc.o = OIDS[i % 50];
    if (i % 4 !== 0) doc.sub = { x: i % 11, y: i % 2 === 0 ? 'even' : 'odd' };
    if (i % 6 === 0) doc.tags = [`t${i % 5}`, `t${(i + 1) % 5}`];
    else if (i % 6 === 1) doc.tags = `t${i % 5}`;
    else if (i % 6 === 2) doc.tags = [];
    if (i % 9 === 0) doc.opt = null;
    else if (i % 9 === 1) doc.opt = i;
    // mixed BSON types in one field: numbers, strings, null, missing, dates, booleans, ObjectIds
    const kinds = [i % 10, `m${i % 10}`, null, undefined, new Date(BASE + (i % 10)), i % 2 === 0, OIDS[i % 10]];
    const kind = kinds[i % kinds.length];
    if (kind !== undefined) doc.m = kind;
    docs.push(doc);
  }
  return docs;
}

async function loaded(prefix: string, indexes: Array<[Document, Document?]>): Promise<Collection<Doc>> {
  const c = coll(prefix);
  await c.insertMany(sampleDocuments());
  for (const [key, options] of indexes) await c.createIndex(key, options ?? {});
  return c;
}

async function explainFind(c: Collection<Doc>, filter: Document, options: { sort?: Document; limit?: number; skip?: number } = {}): Promise<Document> {
  let cursor = c.find(filter);
  if (options.sort !== undefined) cursor = cursor.sort(options.sort);
  if (options.skip !== undefined) cursor = cursor.skip(options.skip);
  if (options.limit !== undefined) cursor = cursor.limit(options.limit);
  return cursor.explain('queryPlanner');
}

describe('planning through the _id index', () => {
  it('equality, $in and ranges use _id_; ranges with sort and limit need no SORT stage', async () => {
    const c = await loaded('qp_id', []);
    assertIndexPlan(await explainFind(c, { _id: 17 }), '_id_');
    assertIndexPlan(await explainFind(c, { _id: { $in: [3, 1, 399, 1000] } }), '_id_');
    assertIndexPlan(await explainFind(c, { _id: { $gt: 100 } }, { sort: { _id: 1 }, limit: 20 }), '_id_', { direction: 'forward', sorted: true });
    assertIndexPlan(await explainFind(c, { _id: { $gte: 10, $lt: 50 } }, { sort: { _id: -1 } }), '_id_', { direction: 'backward', sorted: true });
    assertIndexPlan(await explainFind(c, {}, { sort: { _id: -1 }, limit: 5 }), '_id_', { direction: 'backward', sorted: true });
    await assertSameAsScan(c, { _id: 17 });
    await assertSameAsScan(c, { _id: { $in: [3, 1, 399, 1000, 3] } });
    await assertSameAsScan(c, { _id: { $gt: 100 } }, { sort: { _id: 1 }, limit: 20 });
    await assertSameAsScan(c, { _id: { $gte: 10, $lt: 50 } }, { sort: { _id: -1 } });
    await assertSameAsScan(c, { _id: { $gt: 390 } }, { sort: { _id: 1 }, skip: 3 });
    await assertSameAsScan(c, { _id: { $gt: 5, $lt: 3 } });
    await assertSameAsScan(c, { _id: { $lte: 20 }, g: 2 }, { sort: { _id: -1 }, limit: 3 });
  });

  it('a filter no index fits scans the collection', async () => {
    const c = await loaded('qp_scan', [[{ s: 1 }]]);
    assertCollectionScan(await explainFind(c, { h: 3 }));
    assertCollectionScan(await explainFind(c, { s: { $ne: 'k1' } }));
    await assertSameAsScan(c, { h: 3 });
  });
});

describe('planning through secondary indexes', () => {
  it('equality and $in on a single-field index, numbers of every type equal', async () => {
    const c = await loaded('qp_eq', [[{ n: 1 }], [{ s: 1 }]]);
    assertIndexPlan(await explainFind(c, { s: 'k5' }), 's_1');
    assertIndexPlan(await explainFind(c, { n: { $in: [1, 7, 48] } }), 'n_1');
    for (const value of [7, new Long(7), new Double(7), new Int32(7)]) {
      const found = await assertSameAsScan(c, { n: value });
      assert.equal(found.length, 8);
    }
    await assertSameAsScan(c, { s: 'k5' });
    await assertSameAsScan(c, { s: { $in: ['k1', 'k2', 'nope'] }, g: { $gt: 1 } });
    await assertSameAsScan(c, { n: { $in: [] } });
  });

  it('ranges and their combinations, ascending and descending indexes, with type bracketing', async () => {
    const c = await loaded('qp_range', [[{ n: -1 }], [{ d: 1 }], [{ o: 1 }], [{ m: 1 }]]);
    assertIndexPlan(await explainFind(c, { n: { $gt: 40 } }), 'n_-1');
    assertIndexPlan(await explainFind(c, { n: { $gte: 5, $lt: 9 } }), 'n_-1');
    assertIndexPlan(await explainFind(c, { d: { $lt: new Date(BASE + 3 * 86_400_000) } }), 'd_1');
    for (const filter of [
      { n: { $gt: 40 } },
      { n: { $gte: 5, $lt: 9 } },
      { n: { $lte: 2 } },
      { n: { $gt: 10, $lte: 10 } },
      { n: { $gt: 'a' } },
      { d: { $lt: new Date(BASE + 3 * 86_400_000) } },
      { d: { $gte: new Date(BASE + 38 * 86_400_000) } },
      { o: { $gt: OIDS[45] } },
      { m: { $gte: 5 } },
      { m: { $lt: 'm3' } },
      { m: { $gt: new Date(BASE + 4) } },
      { m: { $gte: false } },
      { m: null },
      { m: { $in: [null, 3, 'm4', /^m[12]$/] } },
    ]) {
      await assertSameAsScan(c, filter);
    }
  });

  it('sorts an index provides, with limits, ties in natural order, mixed BSON types', async () => {
    const c = await loaded('qp_sort', [[{ m: 1 }], [{ g: -1 }], [{ s: 1, n: -1 }]]);
    assertIndexPlan(await explainFind(c, {}, { sort: { m: 1 }, limit: 10 }), 'm_1', { direction: 'forward', sorted: true });
    assertIndexPlan(await explainFind(c, {}, { sort: { m: -1 }, limit: 10 }), 'm_1', { direction: 'backward', sorted: true });
    assertIndexPlan(await explainFind(c, { g: { $gte: 2 } }, { sort: { g: 1 } }), 'g_-1', { direction: 'backward', sorted: true });
    assertIndexPlan(await explainFind(c, { s: 'k3' }, { sort: { n: 1 } }), 's_1_n_-1', { direction: 'backward', sorted: true });
    const exact = isSandbox();
    await assertSameAsScan(c, {}, { sort: { m: 1 } }, exact);
    await assertSameAsScan(c, {}, { sort: { m: -1 } }, exact);
    await assertSameAsScan(c, {}, { sort: { m: 1 }, limit: 30 }, exact);
    await assertSameAsScan(c, {}, { sort: { m: -1 }, skip: 5, limit: 30 }, exact);
    await assertSameAsScan(c, { g: { $gte: 2 } }, { sort: { g: 1 } }, exact);
    await assertSameAsScan(c, { g: { $in: [1, 3] } }, { sort: { g: -1 }, limit: 50 }, exact);
    await assertSameAsScan(c, { s: 'k3' }, { sort: { n: 1 } }, exact);
    await assertSameAsScan(c, { s: { $in: ['k3', 'k4'] } }, { sort: { n: -1 } }, exact);
    await assertSameAsScan(c, { s: { $gt: 'k30' } }, { sort: { s: 1, n: -1 } }, exact);
    await assertSameAsScan(c, { s: { $gt: 'k30' } }, { sort: { s: -1, n: 1 }, limit: 7 }, exact);
    await assertSameAsScan(c, { g: 1 }, { sort: { h: 1 } }, exact);
  });

  it('compound indexes: equality prefix, prefix plus range, sort after an equality prefix', async () => {
    const c = await loaded('qp_compound', [[{ g: 1, h: -1, s: 1 }]]);
    assertIndexPlan(await explainFind(c, { g: 2 }), 'g_1_h_-1_s_1');
    assertIndexPlan(await explainFind(c, { g: 2, h: { $lt: 3 } }), 'g_1_h_-1_s_1');
    assertIndexPlan(await explainFind(c, { g: 2, h: 5 }, { sort: { s: -1 } }), 'g_1_h_-1_s_1', { sorted: true });
    assertCollectionScan(await explainFind(c, { h: 5 }));
    const exact = isSandbox();
    await assertSameAsScan(c, { g: 2 });
    await assertSameAsScan(c, { g: { $in: [1, 4] }, h: { $in: [0, 6] } });
    await assertSameAsScan(c, { g: 2, h: { $lt: 3 } });
    await assertSameAsScan(c, { g: { $gte: 3 }, h: { $gt: 4 }, s: { $gte: 'k2' } });
    await assertSameAsScan(c, { g: 2, h: 5 }, { sort: { s: -1 } }, exact);
    await assertSameAsScan(c, { g: 2 }, { sort: { h: -1 } }, exact);
    await assertSameAsScan(c, { g: 2 }, { sort: { h: 1, s: -1 }, limit: 9 }, exact);
  });

  it('multikey arrays, dotted paths into sub-documents, null and missing', async () => {
    const c = await loaded('qp_multikey', [[{ tags: 1 }], [{ 'sub.x': 1 }], [{ opt: 1 }]]);
    assertIndexPlan(await explainFind(c, { tags: 't2' }), 'tags_1');
    assertIndexPlan(await explainFind(c, { 'sub.x': { $gte: 9 } }), 'sub.x_1');
    assertIndexPlan(await explainFind(c, { opt: null }), 'opt_1');
    for (const filter of [
      { tags: 't2' },
      { tags: { $in: ['t1', 't4'] } },
      { tags: { $gt: 't1', $lt: 't3' } },
      { tags: { $gte: 't3' }, $and: [{ tags: { $lte: 't0' } }] },
      { tags: null },
      { tags: [] },
      { tags: ['t0', 't1'] },
      { 'sub.x': { $gte: 9 } },
      { 'sub.x': 3, 'sub.y': 'odd' },
      { 'sub.x': null },
      { opt: null },
      { opt: { $in: [null, 10] } },
      { opt: { $gt: 300 } },
    ]) {
      await assertSameAsScan(c, filter);
    }
    await assertSameAsScan(c, { 'sub.x': { $gt: 2 } }, { sort: { 'sub.x': 1 } }, isSandbox());
    await assertSameAsScan(c, {}, { sort: { tags: 1 } }, isSandbox());
  });

  it('unique, sparse and partial indexes are used only where they hold every match', async () => {
    const c = await loaded('qp_options', [
      [{ opt: 1 }, { sparse: true }],
      [{ g: 1 }, { partialFilterExpression: { h: { $gt: 2 } } }],
      [{ s: 1, _id: 1 }, { unique: true }],
    ]);
    assertIndexPlan(await explainFind(c, { opt: { $gt: 100 } }), 'opt_1');
    const nullPlan = summarize(await explainFind(c, { opt: null }));
    assert.notEqual(nullPlan.ixscan?.indexName, 'opt_1', 'a sparse index cannot answer a null query');
    assertIndexPlan(await explainFind(c, { g: 3, h: { $gt: 4 } }), 'g_1');
    const notImplied = summarize(await explainFind(c, { g: 3 }));
    assert.notEqual(notImplied.ixscan?.indexName, 'g_1', 'the partial filter is not implied');
    assertIndexPlan(await explainFind(c, { s: 'k2' }), 's_1__id_1');
    for (const filter of [{ opt: { $gt: 100 } }, { opt: null }, { opt: { $exists: true } }, { g: 3, h: { $gt: 4 } }, { g: 3, h: 3 }, { g: 3 }, { s: 'k2', _id: { $lt: 100 } }]) {
      await assertSameAsScan(c, filter);
    }
  });

  it('an index created after the data, and documents whose keys move', async () => {
    const c = coll('qp_late');
    await c.insertMany(sampleDocuments());
    await c.createIndex({ g: 1 });
    await c.createIndex({ n: 1 });
    await c.updateMany({ g: 1 }, { $set: { g: 9 } });
    await c.updateMany({ n: { $lt: 5 } }, { $inc: { n: 100 } });
    await c.deleteMany({ g: 2, h: { $lt: 3 } });
    await c.insertOne({ _id: 1000, g: 1, n: -1 });
    assertIndexPlan(await explainFind(c, { g: 9 }), 'g_1');
    for (const filter of [{ g: 1 }, { g: 9 }, { g: 2 }, { n: { $gte: 100 } }, { n: { $lt: 5 } }]) await assertSameAsScan(c, filter);
    await assertSameAsScan(c, {}, { sort: { n: 1 } }, isSandbox());
    assert.equal(await c.countDocuments({ g: 1 }), 1);
    assert.equal(await c.countDocuments({ n: { $gte: 100 } }), (await c.find({ n: { $gte: 100 } }, { hint: { $natural: 1 } }).toArray()).length);
    assert.equal(await c.countDocuments({ n: { $lt: 5 } }), 1);
  });
});

describe('cursors and snapshots over index plans', () => {
  it('getMore after deletes and updates: no document twice, deleted ones not returned', async () => {
    const c = await loaded('qp_cursor', [[{ g: 1 }]]);
    const cursor = c.find({ g: { $gte: 0 } }, { batchSize: 10 }).sort({ g: 1 });
    const seen: Document[] = [];
    for (let i = 0; i < 10; i++) seen.push((await cursor.next()) as Document);
    await c.deleteMany({ g: 4 });
    await c.updateMany({ g: 3 }, { $set: { moved: true } });
    for await (const document of cursor) seen.push(document);
    const ids = seen.map((d) => d._id as number);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    assert.ok(!seen.slice(10).some((d) => d.g === 4), 'documents deleted before they were read are not returned');
    assert.deepEqual(
      seen.map((d) => d.g),
      [...seen.map((d) => d.g as number)].sort((a, b) => a - b),
    );
    assert.equal(seen.length, 400 - 80 + seen.slice(0, 10).filter((d) => d.g === 4).length);
  });

  it('a transaction reads its snapshot through the index, and its own writes', async () => {
    const c = await loaded('qp_txn', [[{ g: 1 }]]);
    const session = ctx.client.startSession();
    try {
      session.startTransaction();
      assert.equal((await c.find({ g: 1 }, { session }).toArray()).length, 80);
      await c.updateMany({ g: 1 }, { $set: { g: 7 } });
      await c.updateOne({ _id: 2 }, { $set: { g: 1 } }, { session });
      const inside = await c.find({ g: 1 }, { session }).sort({ g: 1 }).toArray();
      assert.equal(inside.length, 81);
      assert.equal((await c.find({ g: 7 }, { session }).toArray()).length, 0);
      assert.equal(await c.countDocuments({ g: 7 }), 80);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    assert.equal(await c.countDocuments({ g: 1 }), 0);
    await assertSameAsScan(c, { g: 7 });
  });
});

describe('index plans and DDL', () => {
  it('a cursor walking an index that is dropped before its getMore stops with QueryPlanKilled', async (t) => {
    if (!isSandbox()) {
      t.skip('sandbox-only: MongoDB kills the cursor the same way, but when depends on its yields');
      return;
    }
    const c = await loaded('qp_drop', [[{ g: 1 }]]);
    const cursor = c.find({ g: { $gte: 0 } }, { batchSize: 5 });
    await cursor.next();
    await c.dropIndex('g_1');
    await assert.rejects(cursor.toArray(), (error: Error & { code?: number }) => error.code === 175);
  });
});

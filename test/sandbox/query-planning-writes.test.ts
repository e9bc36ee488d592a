// Conformance: writes and the other read commands through the query planner. Every operation
// runs on two collections holding the same documents, one with secondary indexes and one without,
// and must leave the same documents and answer the same results; explain shows the index used.
// Index rows follow documents whose keys move (updates that push a key ahead of the scan, deletes,
// upserts, transactions).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EJSON } from 'bson';
import type { Collection, Document } from 'mongodb';
import { useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';
import { assertIndexPlan, assertSameAsScan, summarize } from './plan-helpers.js';

const ctx = useConformanceServer();

function documents(): Doc[] {
  return Array.from({ length: 300 }, (_, i) => ({
    _id: i,
    g: i % 6,
    n: i % 40,
    s: `k${i % 13}`,
    tags: i % 3 === 0 ? [`t${i % 4}`, `t${(i + 2) % 4}`] : `t${i % 4}`,
    sub: { x: i % 9 },
  }));
}

const INDEXES: Document[] = [{ g: 1 }, { n: -1 }, { s: 1, n: 1 }, { tags: 1 }, { 'sub.x': 1 }];

async function twins(prefix: string): Promise<[Collection<Doc>, Collection<Doc>]> {
  const db = ctx.db(prefix);
  const indexed = db.collection<Doc>('indexed');
  const plain = db.collection<Doc>('plain');
  await indexed.insertMany(documents());
  await plain.insertMany(documents());
  for (const key of INDEXES) await indexed.createIndex(key);
  return [indexed, plain];
}

function text(value: unknown): string {
  return EJSON.stringify(value as Document, { relaxed: false });
}

/** Runs `op` on both collections and asserts the same answer. */
async function same<T>(pair: [Collection<Doc>, Collection<Doc>], op: (c: Collection<Doc>) => Promise<T>): Promise<T> {
  const [indexed, plain] = pair;
  const a = await op(indexed);
  const b = await op(plain);
  assert.equal(text({ v: a }), text({ v: b }));
  return a;
}

async function assertSameContents(pair: [Collection<Doc>, Collection<Doc>]): Promise<void> {
  const [indexed, plain] = pair;
  const a = await indexed
    .find({}, { hint: { $natural: 1 } })
    .sort({ _id: 1 })
    .toArray();
  const b = await plain.find({}).sort({ _id: 1 }).toArray();
  assert.deepEqual(a.map(text), b.map(text));
  // and the indexes still find every document where it now is
  for (const filter of [{ g: { $gte: 0 } }, { n: { $lt: 100 } }, { s: { $gte: '' } }, { tags: { $gte: '' } }, { 'sub.x': { $gte: 0 } }]) {
    await assertSameAsScan(indexed, filter);
  }
}

describe('writes through index plans', () => {
  it('updateMany that moves keys within and past the range keeps results and index rows right', async () => {
    const pair = await twins('qpw_update');
    assertIndexPlan(await pair[0].find({ n: { $gte: 10, $lt: 20 } }).explain('queryPlanner'), 'n_-1');
    await same(pair, async (c) => (await c.updateMany({ n: { $gte: 10, $lt: 20 } }, { $inc: { n: 5 } })).modifiedCount);
    await same(pair, async (c) => (await c.updateMany({ g: { $in: [1, 2] } }, { $inc: { g: 10 } })).modifiedCount);
    await same(pair, async (c) => (await c.updateMany({ s: 'k3', n: { $gt: 5 } }, { $set: { s: 'k30' } })).modifiedCount);
    await same(pair, async (c) => (await c.updateMany({ tags: 't1' }, [{ $set: { tags: { $concatArrays: [{ $cond: [{ $isArray: '$tags' }, '$tags', ['$tags']] }, ['t9']] } } }])).modifiedCount);
    await same(pair, async (c) => (await c.updateOne({ 'sub.x': 4 }, { $set: { 'sub.x': 40 } })).modifiedCount);
    await same(pair, async (c) => (await c.updateOne({ g: 99, _id: 1000 }, { $set: { n: 7 } }, { upsert: true })).upsertedCount);
    await same(pair, async (c) => (await c.replaceOne({ _id: 5 }, { g: 5, n: 39, s: 'k0', tags: [], sub: { x: 1 } })).modifiedCount);
    await assertSameContents(pair);
  });

  it('deleteMany, deleteOne, findOneAndUpdate, findOneAndDelete and findOneAndReplace through indexes', async () => {
    const pair = await twins('qpw_delete');
    const explain = await pair[0].db.command({ explain: { delete: 'indexed', deletes: [{ q: { tags: 't1' }, limit: 0 }] }, verbosity: 'queryPlanner' });
    assertIndexPlan(explain, 'tags_1');
    await same(pair, async (c) => (await c.deleteMany({ tags: 't1' })).deletedCount);
    await same(pair, async (c) => (await c.deleteOne({ g: 3, n: { $gt: 20 } })).deletedCount);
    await same(pair, (c) => c.findOneAndUpdate({ g: { $gt: 3 } }, { $inc: { g: 1 } }, { sort: { g: -1, _id: 1 }, returnDocument: 'after' }));
    await same(pair, (c) => c.findOneAndUpdate({ n: { $lt: 3 } }, { $set: { n: 33 } }, { sort: { n: 1, _id: -1 } }));
    await same(pair, (c) => c.findOneAndDelete({ 'sub.x': 5 }, { sort: { _id: -1 } }));
    await same(pair, (c) => c.findOneAndReplace({ s: 'k7' }, { s: 'k7', g: 0, n: 0 }, { sort: { n: -1, _id: 1 } }));
    await same(pair, (c) => c.findOneAndUpdate({ s: 'nope', _id: 1001 }, { $set: { n: 1 } }, { upsert: true, returnDocument: 'after', projection: { _id: 0 } }));
    await assertSameContents(pair);
  });
});

describe('reads through index plans', () => {
  it('count, countDocuments, distinct and aggregate answer as a scan does', async () => {
    const pair = await twins('qpw_reads');
    const [indexed] = pair;
    const countExplain = await indexed.db.command({ explain: { count: 'indexed', query: { g: 2 } }, verbosity: 'queryPlanner' });
    assertIndexPlan(countExplain, 'g_1');
    const distinctExplain = await indexed.db.command({ explain: { distinct: 'indexed', key: 's', query: { n: { $gt: 30 } } }, verbosity: 'queryPlanner' });
    assert.ok(summarize(distinctExplain).ixscan, 'distinct uses an index');
    const aggregateExplain = await indexed.aggregate([{ $match: { g: 4 } }, { $sort: { n: -1 } }]).explain('queryPlanner');
    assert.ok(summarize(aggregateExplain).ixscan, `aggregate's $match uses an index: ${JSON.stringify(aggregateExplain).slice(0, 200)}`);
    for (const filter of [{ g: 2 }, { n: { $gt: 30 } }, { s: 'k1', n: { $lte: 20 } }, { tags: { $in: ['t0', 't3'] } }, { 'sub.x': { $ne: 3 } }]) {
      await same(pair, (c) => c.countDocuments(filter));
      await same(pair, async (c) => (await c.db.command({ count: c.collectionName, query: filter })).n as number);
      await same(pair, (c) => c.distinct('s', filter));
      await same(pair, (c) => c.distinct('tags', filter));
    }
    await same(pair, (c) => c.aggregate([{ $match: { g: { $gte: 2 } } }, { $sort: { n: -1, _id: 1 } }, { $limit: 17 }]).toArray());
    await same(pair, (c) => c.aggregate([{ $sort: { n: 1, _id: 1 } }, { $limit: 5 }, { $project: { n: 1 } }]).toArray());
    await same(pair, (c) => c.aggregate([{ $match: { tags: 't2' } }, { $group: { _id: '$g', total: { $sum: '$n' } } }, { $sort: { _id: 1 } }]).toArray());
    await same(pair, (c) => c.aggregate([{ $match: { s: { $in: ['k1', 'k2'] } } }, { $count: 'n' }]).toArray());
  });

  it('a transaction writes through index plans and sees its own moved keys; others see them after commit', async () => {
    const pair = await twins('qpw_txn');
    const [indexed] = pair;
    const session = ctx.client.startSession();
    try {
      await session.withTransaction(async () => {
        const moved = await indexed.updateMany({ g: 5 }, { $set: { g: 50 } }, { session });
        assert.equal(moved.modifiedCount, 50);
        assert.equal((await indexed.find({ g: 50 }, { session }).toArray()).length, 50);
        assert.equal(await indexed.countDocuments({ g: 5 }, { session }), 0);
        assert.equal(await indexed.countDocuments({ g: 50 }), 0, 'invisible outside before commit');
        assert.equal(await indexed.countDocuments({ g: 5 }), 50);
        await indexed.deleteMany({ g: 50, n: { $lt: 10 } }, { session });
      });
    } finally {
      await session.endSession();
    }
    await pair[1].updateMany({ g: 5 }, { $set: { g: 50 } });
    await pair[1].deleteMany({ g: 50, n: { $lt: 10 } });
    await assertSameContents(pair);
  });
});

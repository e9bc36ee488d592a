// Conformance: deleteOne / deleteMany and findOneAndUpdate / findOneAndReplace /
// findOneAndDelete (the findAndModify command): which document, which version is returned,
// upserts, sort, projection and the result metadata.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ObjectId } from 'mongodb';
import type { Collection, Document } from 'mongodb';
import { expectServerError, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

const players: Document[] = [
  { _id: 1, name: 'ann', team: 'red', score: 10 },
  { _id: 2, name: 'bob', team: 'red', score: 30 },
  { _id: 3, name: 'cat', team: 'blue', score: 20 },
  { _id: 4, name: 'dan', team: 'blue', score: 5 },
];

async function seeded(prefix: string): Promise<Collection<Doc>> {
  const coll = ctx.db(prefix).collection<Doc>('c');
  await coll.insertMany(players.map((p) => ({ ...p })));
  return coll;
}

describe('delete', () => {
  it('deleteOne removes a single matching document', async () => {
    const coll = await seeded('del_one');
    const result = await coll.deleteOne({ team: 'red' });
    assert.deepEqual(result, { acknowledged: true, deletedCount: 1 });
    assert.equal(await coll.countDocuments({ team: 'red' }), 1);
    assert.equal((await coll.deleteOne({ team: 'green' })).deletedCount, 0);
  });

  it('deleteMany removes every match; an empty filter empties the collection', async () => {
    const coll = await seeded('del_many');
    assert.equal((await coll.deleteMany({ score: { $lt: 25 } })).deletedCount, 3);
    assert.deepEqual(await coll.find().toArray(), [players[1]]);
    assert.equal((await coll.deleteMany({})).deletedCount, 1);
    assert.equal(await coll.countDocuments(), 0);
    assert.deepEqual(await ctx.client.db(coll.dbName).listCollections({ name: 'c' }, { nameOnly: true }).toArray(), [{ name: 'c', type: 'collection' }], 'the emptied collection still exists');
  });

  it('the raw delete command honours limit 0 and 1 per statement', async () => {
    const coll = await seeded('del_raw');
    const db = ctx.client.db(coll.dbName);
    const reply = await db.command({
      delete: 'c',
      deletes: [
        { q: { team: 'blue' }, limit: 1 },
        { q: { team: 'red' }, limit: 0 },
      ],
    });
    assert.equal(reply.ok, 1);
    assert.equal(reply.n, 3);
    assert.equal(await coll.countDocuments({ team: 'blue' }), 1);
    assert.equal(await coll.countDocuments({ team: 'red' }), 0);
  });
});

describe('findOneAndUpdate', () => {
  it('returns the document before the update by default, after with returnDocument: after', async () => {
    const coll = await seeded('fam_return');
    const before = await coll.findOneAndUpdate({ _id: 1 }, { $inc: { score: 1 } });
    assert.deepEqual(before, players[0]);
    const after = await coll.findOneAndUpdate({ _id: 1 }, { $inc: { score: 1 } }, { returnDocument: 'after' });
    assert.deepEqual(after, { ...players[0], score: 12 });
  });

  it('sort chooses the document and projection shapes the result', async () => {
    const coll = await seeded('fam_sort');
    const top = await coll.findOneAndUpdate({ team: 'blue' }, { $set: { mvp: true } }, { sort: { score: -1 }, projection: { name: 1, mvp: 1, _id: 0 }, returnDocument: 'after' });
    assert.deepEqual(top, { name: 'cat', mvp: true });
    const lowest = await coll.findOneAndUpdate({}, { $set: { last: true } }, { sort: { score: 1 } });
    assert.equal(lowest?.name, 'dan');
    assert.deepEqual(
      await coll
        .find({ $or: [{ mvp: true }, { last: true }] })
        .sort({ _id: 1 })
        .toArray()
        .then((d) => d.map((x) => x._id)),
      [3, 4],
    );
  });

  it('returns null when nothing matches; with metadata the lastErrorObject says so', async () => {
    const coll = await seeded('fam_nomatch');
    assert.equal(await coll.findOneAndUpdate({ _id: 99 }, { $set: { x: 1 } }), null);
    const meta = await coll.findOneAndUpdate({ _id: 99 }, { $set: { x: 1 } }, { includeResultMetadata: true });
    assert.equal(meta.ok, 1);
    assert.equal(meta.value, null);
    assert.deepEqual(meta.lastErrorObject, { n: 0, updatedExisting: false });
  });

  it('reports updatedExisting in the metadata of a successful update', async () => {
    const coll = await seeded('fam_meta');
    const meta = await coll.findOneAndUpdate({ _id: 2 }, { $set: { x: 1 } }, { includeResultMetadata: true, returnDocument: 'after' });
    assert.deepEqual(meta.value, { ...players[1], x: 1 });
    assert.deepEqual(meta.lastErrorObject, { n: 1, updatedExisting: true });
  });

  it('upsert inserts; the new document is returned only with returnDocument: after', async () => {
    const coll = await seeded('fam_upsert');
    const before = await coll.findOneAndUpdate({ name: 'eve' }, { $set: { score: 1 } }, { upsert: true });
    assert.equal(before, null, 'there was no document before');
    const eve = await coll.findOne({ name: 'eve' });
    assert.ok(eve?._id instanceof ObjectId);
    const after = await coll.findOneAndUpdate({ name: 'fay', team: 'red' }, { $setOnInsert: { score: 0 } }, { upsert: true, returnDocument: 'after' });
    assert.ok(after?._id instanceof ObjectId);
    assert.deepEqual(after, { _id: after._id, name: 'fay', team: 'red', score: 0 });
    const meta = await coll.findOneAndUpdate({ _id: 'gus' }, { $set: { score: 2 } }, { upsert: true, includeResultMetadata: true });
    assert.deepEqual(meta.lastErrorObject, { n: 1, updatedExisting: false, upserted: 'gus' });
    assert.equal(meta.value, null);
  });

  it('accepts pipeline updates and arrayFilters', async () => {
    const coll = await seeded('fam_pipeline');
    const doubled = await coll.findOneAndUpdate({ _id: 3 }, [{ $set: { score: { $multiply: ['$score', 2] } } }], { returnDocument: 'after' });
    assert.equal(doubled?.score, 40);
    await coll.updateOne({ _id: 4 }, { $set: { hist: [1, 7, 9] } });
    const filtered = await coll.findOneAndUpdate({ _id: 4 }, { $set: { 'hist.$[h]': 0 } }, { arrayFilters: [{ h: { $gt: 5 } }], returnDocument: 'after' });
    assert.deepEqual(filtered?.hist, [1, 0, 0]);
  });

  it('changing _id fails with ImmutableField (66) as a command error', async () => {
    const coll = await seeded('fam_immutable');
    await expectServerError(coll.findOneAndUpdate({ _id: 1 }, { $set: { _id: 100 } }), { code: 66, codeName: 'ImmutableField' });
    assert.deepEqual(await coll.findOne({ _id: 1 }), players[0]);
  });
});

describe('findOneAndReplace and findOneAndDelete', () => {
  it('findOneAndReplace returns before or after and keeps _id', async () => {
    const coll = await seeded('far_basic');
    const before = await coll.findOneAndReplace({ name: 'ann' }, { name: 'ann2' });
    assert.deepEqual(before, players[0]);
    assert.deepEqual(await coll.findOne({ _id: 1 }), { _id: 1, name: 'ann2' });
    const after = await coll.findOneAndReplace({ _id: 2 }, { solo: true }, { returnDocument: 'after' });
    assert.deepEqual(after, { _id: 2, solo: true });
  });

  it('findOneAndReplace upserts and sorts', async () => {
    const coll = await seeded('far_upsert');
    const created = await coll.findOneAndReplace({ _id: 'new' }, { v: 1 }, { upsert: true, returnDocument: 'after' });
    assert.deepEqual(created, { _id: 'new', v: 1 });
    const replaced = await coll.findOneAndReplace({ team: 'red' }, { team: 'red', replaced: true }, { sort: { score: -1 } });
    assert.equal(replaced?._id, 2);
    assert.deepEqual(await coll.findOne({ _id: 2 }), { _id: 2, team: 'red', replaced: true });
  });

  it('findOneAndDelete removes and returns the first document in sort order', async () => {
    const coll = await seeded('fad_basic');
    const removed = await coll.findOneAndDelete({ team: 'blue' }, { sort: { score: 1 } });
    assert.deepEqual(removed, players[3]);
    const projected = await coll.findOneAndDelete({}, { sort: { score: -1 }, projection: { name: 1 } });
    assert.deepEqual(projected, { _id: 2, name: 'bob' });
    assert.deepEqual(
      (await coll.find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      [1, 3],
    );
    assert.equal(await coll.findOneAndDelete({ _id: 42 }), null);
  });

  it('the raw findAndModify command answers value and lastErrorObject', async () => {
    const coll = await seeded('fam_raw');
    const db = ctx.client.db(coll.dbName);
    const removed = await db.command({ findAndModify: 'c', query: { _id: 4 }, remove: true });
    assert.equal(removed.ok, 1);
    assert.deepEqual(removed.value, players[3]);
    assert.deepEqual(removed.lastErrorObject, { n: 1 });
    const updated = await db.command({ findAndModify: 'c', query: { _id: 1 }, update: { $set: { s: 1 } }, new: true, fields: { s: 1 } });
    assert.deepEqual(updated.value, { _id: 1, s: 1 });
    assert.deepEqual(updated.lastErrorObject, { n: 1, updatedExisting: true });
  });
});

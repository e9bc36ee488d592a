// Conformance: createIndex / listIndexes / dropIndex(es) and unique-index enforcement (error
// 11000 with keyPattern and keyValue) on every kind of write (bulk writes and renamed
// collections included), with sparse and partial indexes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Decimal128, Double, Long, MongoBulkWriteError, MongoClientBulkWriteError } from 'mongodb';
import type { Collection } from 'mongodb';
import { expectServerError, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

function coll(prefix: string): Collection<Doc> {
  return ctx.db(prefix).collection<Doc>('c');
}

async function indexNames(c: Collection<Doc>): Promise<string[]> {
  return (await c.listIndexes().toArray()).map((i) => String(i.name)).sort();
}

describe('creating and listing indexes', () => {
  it('createIndex derives the name from the key pattern', async () => {
    const c = coll('idx_name');
    assert.equal(await c.createIndex({ a: 1, b: -1 }), 'a_1_b_-1');
    assert.equal(await c.createIndex({ 'x.y': 1 }), 'x.y_1');
    assert.equal(await c.createIndex({ t: 'text' }), 't_text');
    assert.equal(await c.createIndex({ h: 'hashed' }), 'h_hashed');
    assert.equal(await c.createIndex({ n: 1 }, { name: 'custom' }), 'custom');
  });

  it('listIndexes shows _id_ and the options of created indexes', async () => {
    const c = coll('idx_list');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.createIndex({ nick: 1 }, { unique: true, sparse: true });
    await c.createIndex({ score: -1 }, { partialFilterExpression: { score: { $gt: 5 } }, name: 'partial_score' });
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 3600 });
    const indexes = await c.listIndexes().toArray();
    const byName = new Map(indexes.map((i) => [String(i.name), i]));
    assert.deepEqual([...byName.keys()].sort(), ['_id_', 'at_1', 'email_1', 'nick_1', 'partial_score']);
    const id = byName.get('_id_');
    assert.deepEqual(id?.key, { _id: 1 });
    assert.equal(id?.v, 2);
    assert.equal(id?.unique, undefined, 'the _id index is unique without saying so');
    assert.ok(
      indexes.every((i) => i.v === 2),
      'every index is version 2',
    );
    assert.deepEqual(byName.get('email_1')?.key, { email: 1 });
    assert.equal(byName.get('email_1')?.unique, true);
    assert.equal(byName.get('nick_1')?.unique, true);
    assert.equal(byName.get('nick_1')?.sparse, true);
    assert.deepEqual(byName.get('partial_score')?.partialFilterExpression, { score: { $gt: 5 } });
    assert.deepEqual(byName.get('partial_score')?.key, { score: -1 });
    assert.equal(byName.get('at_1')?.expireAfterSeconds, 3600);
  });

  it('listIndexes returns exactly the stored specs, in creation order', async () => {
    const c = coll('idx_exact');
    await c.createIndex({ a: 1, b: -1 });
    await c.createIndex({ at: 1 }, { expireAfterSeconds: 3600, name: 'ttl' });
    await c.createIndex({ s: 1 }, { sparse: true, unique: true });
    await c.createIndex({ p: 1 }, { partialFilterExpression: { p: { $exists: true } } });
    assert.deepEqual(await c.listIndexes().toArray(), [
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { a: 1, b: -1 }, name: 'a_1_b_-1' },
      { v: 2, key: { at: 1 }, name: 'ttl', expireAfterSeconds: 3600 },
      { v: 2, key: { s: 1 }, name: 's_1', unique: true, sparse: true },
      { v: 2, key: { p: 1 }, name: 'p_1', partialFilterExpression: { p: { $exists: true } } },
    ]);
  });

  it('createIndex on a missing collection creates the collection', async () => {
    const c = coll('idx_creates');
    await c.createIndex({ a: 1 });
    const names = (await ctx.client.db(c.dbName).listCollections({}, { nameOnly: true }).toArray()).map((x) => x.name);
    assert.deepEqual(names, ['c']);
    assert.deepEqual(await indexNames(c), ['_id_', 'a_1']);
  });

  it('the createIndexes reply counts indexes; the same spec again is a no-op', async () => {
    const c = coll('idx_idem');
    const db = ctx.client.db(c.dbName);
    await c.insertOne({ a: 1 });
    const first = await db.command({
      createIndexes: 'c',
      indexes: [
        { key: { a: 1 }, name: 'a_1' },
        { key: { b: 1 }, name: 'b_1' },
      ],
    });
    assert.equal(first.ok, 1);
    assert.equal(first.numIndexesBefore, 1);
    assert.equal(first.numIndexesAfter, 3);
    const again = await db.command({ createIndexes: 'c', indexes: [{ key: { a: 1 }, name: 'a_1' }] });
    assert.equal(again.ok, 1);
    assert.equal(again.numIndexesBefore, 3);
    assert.equal(again.numIndexesAfter, 3);
    assert.equal(again.note, 'all indexes already exist');
    assert.equal(await c.createIndex({ a: 1 }), 'a_1');
    assert.deepEqual(await indexNames(c), ['_id_', 'a_1', 'b_1']);
  });

  it('the same name with other options (85) or other keys (86), or the same keys under another name (85), is refused', async () => {
    const c = coll('idx_conflict');
    await c.createIndex({ a: 1 });
    await expectServerError(c.createIndex({ a: 1 }, { unique: true }), { code: 85 });
    await expectServerError(c.createIndex({ b: 1 }, { name: 'a_1' }), { code: 86 });
    await expectServerError(c.createIndex({ a: 1 }, { name: 'other_name' }), { code: 85, codeName: 'IndexOptionsConflict' });
    assert.deepEqual(await indexNames(c), ['_id_', 'a_1']);
  });
});

describe('unique indexes', () => {
  it('an insert that duplicates a unique key fails with 11000, keyPattern and keyValue', async () => {
    const c = coll('uniq_insert');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ _id: 1, email: 'a@x' });
    const error = await expectServerError(c.insertOne({ _id: 2, email: 'a@x' }), { code: 11000 });
    assert.ok(error.message.includes(`E11000 duplicate key error collection: ${c.dbName}.c index: email_1 dup key:`), `the message names collection and index: ${error.message}`);
    assert.deepEqual(error.keyPattern, { email: 1 });
    assert.deepEqual(error.keyValue, { email: 'a@x' });
    assert.equal(await c.countDocuments(), 1);
  });

  it('an update into a duplicate fails and leaves the document unchanged', async () => {
    const c = coll('uniq_update');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, email: 'a@x' },
      { _id: 2, email: 'b@x' },
    ]);
    const error = await expectServerError(c.updateOne({ _id: 2 }, { $set: { email: 'a@x' } }), { code: 11000 });
    assert.deepEqual(error.keyValue, { email: 'a@x' });
    assert.deepEqual(await c.findOne({ _id: 2 }), { _id: 2, email: 'b@x' });
    const replaced = await expectServerError(c.replaceOne({ _id: 2 }, { email: 'a@x' }), { code: 11000 });
    assert.deepEqual(replaced.keyValue, { email: 'a@x' });
  });

  it('an upsert that would insert a duplicate fails', async () => {
    const c = coll('uniq_upsert');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ _id: 1, email: 'a@x', v: 1 });
    const error = await expectServerError(c.updateOne({ v: 2 }, { $set: { email: 'a@x' } }, { upsert: true }), { code: 11000 });
    assert.deepEqual(error.keyPattern, { email: 1 });
    assert.deepEqual(error.keyValue, { email: 'a@x' });
    assert.equal(await c.countDocuments(), 1);
  });

  it('findOneAndUpdate into a duplicate fails with DuplicateKey and the key', async () => {
    const c = coll('uniq_fam');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertMany([
      { _id: 1, email: 'a@x' },
      { _id: 2, email: 'b@x' },
    ]);
    const error = await expectServerError(c.findOneAndUpdate({ _id: 2 }, { $set: { email: 'a@x' } }), { code: 11000, codeName: 'DuplicateKey' });
    assert.deepEqual(error.keyPattern, { email: 1 });
    assert.deepEqual(error.keyValue, { email: 'a@x' });
    await expectServerError(c.findOneAndUpdate({ _id: 3 }, { $set: { email: 'b@x' } }, { upsert: true }), { code: 11000 });
    assert.equal(await c.countDocuments(), 2);
  });

  it('a compound unique index constrains the combination', async () => {
    const c = coll('uniq_compound');
    assert.equal(await c.createIndex({ tenant: 1, slug: -1 }, { unique: true }), 'tenant_1_slug_-1');
    await c.insertMany([
      { tenant: 't1', slug: 'home' },
      { tenant: 't2', slug: 'home' },
      { tenant: 't1', slug: 'about' },
    ]);
    const error = await expectServerError(c.insertOne({ tenant: 't1', slug: 'home' }), { code: 11000, message: 'index: tenant_1_slug_-1 dup key: { ' });
    assert.deepEqual(error.keyPattern, { tenant: 1, slug: -1 });
    assert.deepEqual(error.keyValue, { tenant: 't1', slug: 'home' });
  });

  it('a non-sparse unique index treats a missing field as null: only one may be missing', async () => {
    const c = coll('uniq_missing');
    await c.createIndex({ code: 1 }, { unique: true });
    await c.insertOne({ _id: 1 });
    const error = await expectServerError(c.insertOne({ _id: 2 }), { code: 11000 });
    assert.deepEqual(error.keyValue, { code: null });
    await expectServerError(c.insertOne({ _id: 3, code: null }), { code: 11000 });
  });

  it('a sparse unique index allows many documents without the field', async () => {
    const c = coll('uniq_sparse');
    await c.createIndex({ code: 1 }, { unique: true, sparse: true });
    await c.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3, code: 'x' }]);
    await expectServerError(c.insertOne({ _id: 4, code: 'x' }), { code: 11000 });
    assert.equal(await c.countDocuments(), 3);
  });

  it('a partial unique index only constrains documents matching its filter', async () => {
    const c = coll('uniq_partial');
    await c.createIndex({ user: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await c.insertMany([
      { user: 'u', active: false },
      { user: 'u', active: false },
      { user: 'u', active: true },
    ]);
    await expectServerError(c.insertOne({ user: 'u', active: true }), { code: 11000 });
    await c.insertOne({ user: 'v', active: true });
    await expectServerError(c.updateOne({ user: 'v' }, { $set: { user: 'u' } }), { code: 11000 });
    const entering = await expectServerError(c.updateOne({ user: 'u', active: false }, { $set: { active: true } }), { code: 11000 });
    assert.deepEqual(entering.keyValue, { user: 'u' }, 'an update that brings a document under the filter is checked too');
    assert.equal(await c.countDocuments({ user: 'u' }), 3);
  });

  it('a unique index on an array field indexes each element', async () => {
    const c = coll('uniq_multikey');
    await c.createIndex({ tags: 1 }, { unique: true });
    await c.insertOne({ _id: 1, tags: ['a', 'b', 'b'] });
    const error = await expectServerError(c.insertOne({ _id: 2, tags: ['c', 'b'] }), { code: 11000 });
    assert.deepEqual(error.keyValue, { tags: 'b' });
    await c.insertOne({ _id: 3, tags: ['c', 'd'] });
    assert.equal(await c.countDocuments(), 2);
  });

  it('a unique index on an embedded path compares the embedded value', async () => {
    const c = coll('uniq_dotted');
    await c.createIndex({ 'profile.handle': 1 }, { unique: true });
    await c.insertOne({ profile: { handle: 'ada' } });
    const error = await expectServerError(c.insertOne({ profile: { handle: 'ada', other: 1 } }), { code: 11000 });
    assert.deepEqual(error.keyPattern, { 'profile.handle': 1 });
    assert.deepEqual(error.keyValue, { 'profile.handle': 'ada' });
  });

  it('creating a unique index over existing duplicates fails with 11000 and creates nothing', async () => {
    const c = coll('uniq_build');
    await c.insertMany([{ k: 1 }, { k: 2 }, { k: 1 }]);
    await expectServerError(c.createIndex({ k: 1 }, { unique: true }), { code: 11000 });
    assert.deepEqual(await indexNames(c), ['_id_']);
    await c.insertOne({ k: 1 });
    assert.equal(await c.countDocuments({ k: 1 }), 3, 'no unique constraint was left behind');
  });

  it('unique numeric keys compare by value across number types', async () => {
    const c = coll('uniq_numbers');
    await c.createIndex({ n: 1 }, { unique: true });
    await c.insertOne({ n: 1 });
    await expectServerError(c.insertOne({ n: new Double(1) }), { code: 11000 });
    await expectServerError(c.insertOne({ n: Long.fromNumber(1) }), { code: 11000 });
    await expectServerError(c.insertOne({ n: Decimal128.fromString('1.0') }), { code: 11000 });
    await c.insertOne({ n: '1' });
    assert.equal(await c.countDocuments(), 2);
  });

  it('_id is unique across number types too: 1 and 1.0 collide on _id_', async () => {
    const c = coll('uniq_id_numbers');
    await c.insertOne({ _id: 1 });
    const error = await expectServerError(c.insertOne({ _id: new Double(1) }), { code: 11000, message: 'index: _id_ dup key: { ' });
    assert.deepEqual(error.keyValue, { _id: 1 });
  });

  it('bulk writes are checked statement by statement', async () => {
    const c = coll('uniq_bulk');
    await c.createIndex({ email: 1 }, { unique: true });
    const error = await c
      .bulkWrite([{ insertOne: { document: { _id: 4, email: 'c' } } }, { insertOne: { document: { _id: 5, email: 'c' } } }, { insertOne: { document: { _id: 6, email: 'd' } } }], { ordered: false })
      .catch((e: unknown) => e);
    assert.ok(error instanceof MongoBulkWriteError, String(error));
    assert.equal(error.result.insertedCount, 2);
    const writeErrors = error.writeErrors as unknown as { index: number; code: number }[];
    assert.deepEqual(
      writeErrors.map((w) => [w.index, w.code]),
      [[1, 11000]],
    );
    assert.deepEqual(
      (await c.find().sort({ _id: 1 }).toArray()).map((d) => d._id),
      [4, 6],
    );
  });

  it('client.bulkWrite (MongoDB 8.0) enforces unique indexes too', async (t) => {
    const hello = await ctx.client.db('admin').command({ hello: 1 });
    if (Number(hello.maxWireVersion) < 25) return t.skip('client.bulkWrite needs MongoDB 8.0 (maxWireVersion ≥ 25)');
    const c = coll('uniq_client_bulk');
    await c.createIndex({ email: 1 }, { unique: true });
    await c.insertOne({ _id: 1, email: 'd' });
    const error = await ctx.client.bulkWrite<Record<string, Doc>>([{ name: 'insertOne', namespace: `${c.dbName}.c`, document: { _id: 7, email: 'd' } }]).catch((e: unknown) => e);
    assert.ok(error instanceof MongoClientBulkWriteError, String(error));
    assert.equal(error.writeErrors.get(0)?.code, 11000);
    assert.equal(await c.countDocuments(), 1);
  });

  it('a unique index moves with renameCollection and keeps constraining writes', async () => {
    const db = ctx.db('uniq_rename');
    const before = db.collection<Doc>('before-rename');
    await before.createIndex({ k: 1 }, { unique: true });
    await before.insertOne({ _id: 1, k: 1 });
    await db.renameCollection('before-rename', 'after-rename');
    await expectServerError(db.collection<Doc>('after-rename').insertOne({ _id: 2, k: 1 }), {
      code: 11000,
      message: `collection: ${db.databaseName}.after-rename index: k_1`,
    });
  });
});

describe('dropping indexes', () => {
  it('dropIndex by name and by key pattern (driver and raw command)', async () => {
    const c = coll('drop_idx');
    await c.createIndex({ a: 1 });
    await c.createIndex({ b: 1 }, { name: 'b_custom' });
    await c.createIndex({ z: 1 });
    await c.dropIndex('a_1');
    await c.dropIndex({ z: 1 } as never);
    assert.deepEqual(await indexNames(c), ['_id_', 'b_custom']);
    const reply = await ctx.client.db(c.dbName).command({ dropIndexes: 'c', index: { b: 1 } });
    assert.equal(reply.ok, 1);
    assert.equal(reply.nIndexesWas, 2);
    assert.deepEqual(await indexNames(c), ['_id_']);
  });

  it("dropIndexes('*') drops every index except _id_", async () => {
    const c = coll('drop_all');
    await c.createIndexes([{ key: { a: 1 } }, { key: { b: 1 }, unique: true }]);
    assert.equal(await c.dropIndexes(), true);
    assert.deepEqual(await indexNames(c), ['_id_']);
    await c.insertMany([{ b: 1 }, { b: 1 }]);
  });

  it('dropping _id_ fails with InvalidOptions (72)', async () => {
    const c = coll('drop_id');
    await c.insertOne({ x: 1 });
    await expectServerError(c.dropIndex('_id_'), { code: 72, codeName: 'InvalidOptions' });
    assert.deepEqual(await indexNames(c), ['_id_']);
  });

  it('dropping an index that does not exist fails with IndexNotFound (27)', async () => {
    const c = coll('drop_missing');
    await c.insertOne({ x: 1 });
    await expectServerError(c.dropIndex('nope_1'), { code: 27, codeName: 'IndexNotFound' });
  });

  it('dropIndexes on a missing collection fails with NamespaceNotFound (26), which the driver maps to false', async () => {
    const db = ctx.db('drop_nocoll');
    await db.collection<Doc>('present').insertOne({ x: 1 });
    await expectServerError(db.command({ dropIndexes: 'never-created', index: '*' }), { code: 26, codeName: 'NamespaceNotFound' });
    assert.equal(await db.collection<Doc>('never-created').dropIndexes(), false);
  });

  it('listIndexes on a missing collection fails with NamespaceNotFound (26)', async () => {
    const db = ctx.db('list_missing');
    await db.collection<Doc>('present').insertOne({ x: 1 });
    await expectServerError(db.command({ listIndexes: 'absent' }), { code: 26, codeName: 'NamespaceNotFound' });
  });

  it('a dropped unique index no longer constrains writes', async () => {
    const c = coll('drop_unique');
    await c.createIndex({ k: 1 }, { unique: true });
    await c.insertOne({ k: 1 });
    await c.dropIndex('k_1');
    await c.insertOne({ k: 1 });
    assert.equal(await c.countDocuments({ k: 1 }), 2);
  });
});

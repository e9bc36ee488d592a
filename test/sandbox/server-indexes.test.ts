// Unique indexes on every write path, and the index commands' replies, through the real driver.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoBulkWriteError, MongoClient, MongoServerError } from 'mongodb';
import type { Db } from 'mongodb';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
let client: MongoClient;
let db: Db;

before(async () => {
  server = await openTestServer();
  client = await new MongoClient(server.uri).connect();
  db = client.db(uniqueDbName('idx'));
});

after(async () => {
  await db?.dropDatabase().catch(() => undefined);
  await client?.close();
  await server?.close();
});

function assertDuplicate(error: unknown, index: string, keyValue: Record<string, unknown>): void {
  const e = error as MongoServerError & { keyValue?: unknown; keyPattern?: unknown };
  assert.equal(e.code, 11000, String(error));
  assert.match(e.message, new RegExp(`E11000 duplicate key error collection: ${db.databaseName}\\.\\w+ index: ${index} dup key: \\{ `));
  assert.deepEqual(e.keyValue, keyValue);
}

describe('unique indexes', () => {
  it('are enforced on insert, update, upsert, replace, findAndModify and bulk writes', async () => {
    const users = db.collection<{ _id: number; email?: string; n?: number }>('users');
    await users.createIndex({ email: 1 }, { unique: true });
    await users.insertMany([
      { _id: 1, email: 'a' },
      { _id: 2, email: 'b' },
    ]);
    assertDuplicate(await users.insertOne({ _id: 3, email: 'a' }).catch((e: unknown) => e), 'email_1', { email: 'a' });
    assertDuplicate(await users.updateOne({ _id: 2 }, { $set: { email: 'a' } }).catch((e: unknown) => e), 'email_1', { email: 'a' });
    assertDuplicate(await users.updateOne({ _id: 9 }, { $set: { email: 'b' } }, { upsert: true }).catch((e: unknown) => e), 'email_1', { email: 'b' });
    assertDuplicate(await users.replaceOne({ _id: 1 }, { email: 'b' }).catch((e: unknown) => e), 'email_1', { email: 'b' });
    assertDuplicate(await users.findOneAndUpdate({ _id: 1 }, { $set: { email: 'b' } }).catch((e: unknown) => e), 'email_1', { email: 'b' });
    const bulk = await users
      .bulkWrite(
        [{ insertOne: { document: { _id: 4, email: 'c' } } }, { insertOne: { document: { _id: 5, email: 'c' } } }, { insertOne: { document: { _id: 6, email: 'd' } } }],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    assert.ok(bulk instanceof MongoBulkWriteError);
    assert.equal(bulk.result.insertedCount, 2);
    assert.equal(bulk.writeErrors instanceof Array ? bulk.writeErrors[0]?.index : undefined, 1);
    const clientBulk = await client
      .bulkWrite<Record<string, { _id: number; email: string }>>([{ name: 'insertOne', namespace: `${db.databaseName}.users`, document: { _id: 7, email: 'd' } }])
      .catch((e: unknown) => e);
    assert.ok(clientBulk instanceof Error && 'writeErrors' in clientBulk);
    assert.equal((clientBulk.writeErrors as Map<number, { code: number }>).get(0)?.code, 11000);
    assert.deepEqual((await users.find({}, { sort: { _id: 1 } }).toArray()).map((u) => u._id), [1, 2, 4, 6]);
    assert.equal((await users.findOne({ _id: 2 }))?.email, 'b', 'failed writes changed nothing');
  });

  it('treat a missing field as null unless sparse, and honour partialFilterExpression', async () => {
    const plain = db.collection<{ _id: number; code?: string | null }>('plain');
    await plain.createIndex({ code: 1 }, { unique: true });
    await plain.insertOne({ _id: 1 });
    assertDuplicate(await plain.insertOne({ _id: 2 }).catch((e: unknown) => e), 'code_1', { code: null });
    assertDuplicate(await plain.insertOne({ _id: 3, code: null }).catch((e: unknown) => e), 'code_1', { code: null });

    const sparse = db.collection<{ _id: number; code?: string }>('sparse');
    await sparse.createIndex({ code: 1 }, { unique: true, sparse: true });
    await sparse.insertMany([{ _id: 1 }, { _id: 2 }, { _id: 3, code: 'x' }]);
    assertDuplicate(await sparse.insertOne({ _id: 4, code: 'x' }).catch((e: unknown) => e), 'code_1', { code: 'x' });

    const partial = db.collection<{ _id: number; email: string; active: boolean }>('partial');
    await partial.createIndex({ email: 1 }, { unique: true, partialFilterExpression: { active: true } });
    await partial.insertMany([
      { _id: 1, email: 'a', active: false },
      { _id: 2, email: 'a', active: false },
      { _id: 3, email: 'a', active: true },
    ]);
    assertDuplicate(await partial.insertOne({ _id: 4, email: 'a', active: true }).catch((e: unknown) => e), 'email_1', { email: 'a' });
    assertDuplicate(await partial.updateOne({ _id: 1 }, { $set: { active: true } }).catch((e: unknown) => e), 'email_1', { email: 'a' });
  });

  it('are compound and multikey', async () => {
    const coll = db.collection<{ _id: number; a: number; b: string | string[] }>('compound');
    await coll.createIndex({ a: 1, b: -1 }, { unique: true });
    await coll.insertMany([
      { _id: 1, a: 1, b: 'x' },
      { _id: 2, a: 1, b: 'y' },
      { _id: 3, a: 2, b: 'x' },
    ]);
    const error = await coll.insertOne({ _id: 4, a: 1, b: 'x' }).catch((e: unknown) => e);
    assertDuplicate(error, 'a_1_b_-1', { a: 1, b: 'x' });
    assert.deepEqual((error as { keyPattern: unknown }).keyPattern, { a: 1, b: -1 });
    const tags = db.collection<{ _id: number; tags: string[] }>('multikey');
    await tags.createIndex({ tags: 1 }, { unique: true });
    await tags.insertOne({ _id: 1, tags: ['a', 'b', 'b'] });
    assertDuplicate(await tags.insertOne({ _id: 2, tags: ['c', 'b'] }).catch((e: unknown) => e), 'tags_1', { tags: 'b' });
  });

  it('cannot be built over existing duplicates', async () => {
    const coll = db.collection<{ _id: number; k: number }>('prebuilt');
    await coll.insertMany([
      { _id: 1, k: 1 },
      { _id: 2, k: 1 },
    ]);
    const error = await coll.createIndex({ k: 1 }, { unique: true }).catch((e: unknown) => e);
    assert.ok(error instanceof MongoServerError);
    assert.equal(error.code, 11000);
    assert.deepEqual((await coll.listIndexes().toArray()).map((index) => index.name), ['_id_']);
  });

  it('keep _id unique, including 1 and 1.0', async () => {
    const coll = db.collection<{ _id: number }>('ids');
    await coll.insertOne({ _id: 1 });
    assertDuplicate(await coll.insertOne({ _id: 1.0 }).catch((e: unknown) => e), '_id_', { _id: 1 });
  });

  it('survive renameCollection', async () => {
    const coll = db.collection<{ _id: number; k: number }>('before-rename');
    await coll.createIndex({ k: 1 }, { unique: true });
    await coll.insertOne({ _id: 1, k: 1 });
    const renamed = await coll.rename('after-rename') as unknown as typeof coll;
    const error = await renamed.insertOne({ _id: 2, k: 1 }).catch((e: unknown) => e);
    assert.equal((error as MongoServerError).code, 11000);
    assert.match((error as MongoServerError).message, /collection: \S+\.after-rename index: k_1/);
  });
});

describe('index commands', () => {
  it('name indexes like mongod and report what was created', async () => {
    const coll = db.collection('listed');
    const name = await coll.createIndex({ a: 1, b: -1 });
    assert.equal(name, 'a_1_b_-1');
    await coll.createIndex({ at: 1 }, { expireAfterSeconds: 3600, name: 'ttl' });
    await coll.createIndex({ s: 1 }, { sparse: true, unique: true });
    await coll.createIndex({ p: 1 }, { partialFilterExpression: { p: { $exists: true } } });
    const indexes = await coll.listIndexes().toArray();
    assert.deepEqual(indexes, [
      { v: 2, key: { _id: 1 }, name: '_id_' },
      { v: 2, key: { a: 1, b: -1 }, name: 'a_1_b_-1' },
      { v: 2, key: { at: 1 }, name: 'ttl', expireAfterSeconds: 3600 },
      { v: 2, key: { s: 1 }, name: 's_1', unique: true, sparse: true },
      { v: 2, key: { p: 1 }, name: 'p_1', partialFilterExpression: { p: { $exists: true } } },
    ]);
  });

  it('treat an identical createIndexes as a no-op and refuse conflicting ones', async () => {
    const coll = db.collection('conflicts');
    await coll.createIndex({ a: 1 });
    const again = await db.command({ createIndexes: 'conflicts', indexes: [{ key: { a: 1 }, name: 'a_1' }] });
    assert.equal(again.numIndexesBefore, 2);
    assert.equal(again.numIndexesAfter, 2);
    assert.equal(again.note, 'all indexes already exist');
    const sameKeyOtherName = await coll.createIndex({ a: 1 }, { name: 'other' }).catch((e: unknown) => e);
    assert.equal((sameKeyOtherName as MongoServerError).code, 85);
    const sameNameOtherKey = await coll.createIndex({ b: 1 }, { name: 'a_1' }).catch((e: unknown) => e);
    assert.equal((sameNameOtherKey as MongoServerError).code, 86);
    const sameNameOtherOptions = await coll.createIndex({ a: 1 }, { name: 'a_1', unique: true }).catch((e: unknown) => e);
    assert.equal((sameNameOtherOptions as MongoServerError).code, 85);
  });

  it('drop by name, by key pattern and all at once', async () => {
    const coll = db.collection('dropping');
    await coll.createIndexes([{ key: { a: 1 } }, { key: { b: 1 } }, { key: { c: 1 } }]);
    await coll.dropIndex('a_1');
    await coll.dropIndex({ b: 1 } as never);
    const missing = await coll.dropIndex('nope').catch((e: unknown) => e);
    assert.equal((missing as MongoServerError).code, 27);
    const idIndex = await coll.dropIndex('_id_').catch((e: unknown) => e);
    assert.equal((idIndex as MongoServerError).code, 72);
    assert.deepEqual((await coll.listIndexes().toArray()).map((index) => index.name), ['_id_', 'c_1']);
    await coll.createIndex({ d: 1 });
    await coll.dropIndexes();
    assert.deepEqual((await coll.listIndexes().toArray()).map((index) => index.name), ['_id_']);
    assert.equal(await db.collection('never-created').dropIndexes(), false, 'the driver maps NamespaceNotFound to false');
    const noCollection = await db.command({ dropIndexes: 'never-created', index: '*' }).catch((e: unknown) => e);
    assert.equal((noCollection as MongoServerError).code, 26);
  });
});

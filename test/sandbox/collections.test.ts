// Conformance: collection and database commands — create, listCollections, drop, dropDatabase,
// renameCollection, collMod — and document validation, as MongoDB 7/8 answers them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Binary } from 'mongodb';
import type { Document } from 'mongodb';
import { expectServerError, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

const personSchema = {
  $jsonSchema: {
    bsonType: 'object',
    required: ['name', 'age'],
    properties: {
      name: { bsonType: 'string' },
      age: { bsonType: 'int', minimum: 0 },
    },
  },
} as const;

async function collectionNames(db: ReturnType<typeof ctx.db>): Promise<string[]> {
  const infos = await db.listCollections({}, { nameOnly: true }).toArray();
  return infos.map((info) => info.name).sort();
}

describe('create and listCollections', () => {
  it('create makes an empty collection that listCollections describes', async () => {
    const db = ctx.db('coll_create');
    await db.createCollection('people');
    const infos = await db.listCollections().toArray();
    assert.equal(infos.length, 1);
    const info = infos[0] as Document;
    assert.equal(info.name, 'people');
    assert.equal(info.type, 'collection');
    assert.deepEqual(info.options, {});
    const details = info.info as Document;
    assert.equal(details.readOnly, false);
    assert.ok(details.uuid instanceof Binary, 'info.uuid is a BSON binary');
    assert.equal((details.uuid as Binary).sub_type, 4, 'info.uuid is a UUID (subtype 4)');
    assert.deepEqual(info.idIndex, { v: 2, key: { _id: 1 }, name: '_id_' });
    assert.equal(await db.collection<Doc>('people').countDocuments(), 0);
  });

  it('create of an existing collection with the same options succeeds, with other options fails with 48', async () => {
    const db = ctx.db('coll_dup');
    await db.createCollection('c');
    const again = await db.command({ create: 'c' });
    assert.equal(again.ok, 1, 'MongoDB 7+ makes an identical create idempotent');
    await expectServerError(db.command({ create: 'c', validator: { a: { $exists: true } } }), {
      code: 48,
      codeName: 'NamespaceExists',
    });
    await db.collection<Doc>('implicit').insertOne({ a: 1 });
    await expectServerError(db.createCollection('implicit', { validator: { a: { $type: 'int' } } }), {
      code: 48,
      codeName: 'NamespaceExists',
    });
  });

  it('create rejects a collection name containing $ with InvalidNamespace (73)', async () => {
    const db = ctx.db('coll_badname');
    await expectServerError(db.command({ create: 'bad$name' }), { code: 73, codeName: 'InvalidNamespace' });
  });

  it('an insert creates the collection implicitly', async () => {
    const db = ctx.db('coll_implicit');
    assert.deepEqual(await collectionNames(db), []);
    await db.collection<Doc>('auto').insertOne({ a: 1 });
    assert.deepEqual(await collectionNames(db), ['auto']);
  });

  it('listCollections with nameOnly returns only name and type', async () => {
    const db = ctx.db('coll_nameonly');
    await db.createCollection('a', { validator: { x: { $type: 'string' } } });
    await db.createCollection('b');
    const reply = await db.command({ listCollections: 1, nameOnly: true });
    const batch = (reply.cursor as Document).firstBatch as Document[];
    assert.deepEqual(
      batch.sort((x, y) => String(x.name).localeCompare(String(y.name))),
      [
        { name: 'a', type: 'collection' },
        { name: 'b', type: 'collection' },
      ],
    );
  });

  it('listCollections filters by name and by options', async () => {
    const db = ctx.db('coll_filter');
    await db.createCollection('alpha');
    await db.createCollection('beta', { validator: { x: { $exists: true } } });
    await db.createCollection('gamma');
    assert.deepEqual(
      (await db.listCollections({ name: 'beta' }).toArray()).map((c) => c.name),
      ['beta'],
    );
    assert.deepEqual((await db.listCollections({ name: { $in: ['alpha', 'gamma', 'missing'] } }).toArray()).map((c) => c.name).sort(), ['alpha', 'gamma']);
    assert.deepEqual(
      (await db.listCollections({ 'options.validator': { $exists: true } }).toArray()).map((c) => c.name),
      ['beta'],
    );
    assert.deepEqual(await db.listCollections({ name: 'missing' }).toArray(), []);
  });

  it('create with a validator stores it in listCollections options', async () => {
    const db = ctx.db('coll_validator_opts');
    await db.createCollection('people', { validator: personSchema, validationAction: 'error', validationLevel: 'strict' });
    const [info] = await db.listCollections({ name: 'people' }).toArray();
    const options = (info as Document | undefined)?.options as Document | undefined;
    assert.deepEqual(options?.validator, personSchema);
    assert.equal(options?.validationAction, 'error');
    assert.equal(options?.validationLevel, 'strict');
  });
});

describe('drop and dropDatabase', () => {
  it('drop removes the collection and its documents', async () => {
    const db = ctx.db('coll_drop');
    await db.collection<Doc>('a').insertMany([{ x: 1 }, { x: 2 }]);
    await db.collection<Doc>('b').insertOne({ x: 3 });
    assert.equal(await db.collection<Doc>('a').drop(), true);
    assert.deepEqual(await collectionNames(db), ['b']);
    assert.equal(await db.collection<Doc>('a').countDocuments(), 0);
  });

  it('dropping a collection that does not exist is not an error on MongoDB 7+', async () => {
    const db = ctx.db('coll_drop_missing');
    await db.collection<Doc>('present').insertOne({ x: 1 });
    assert.equal(await db.collection<Doc>('missing').drop(), true, 'the driver reports true because the server answers ok');
    const reply = await db.command({ drop: 'missing' });
    assert.equal(reply.ok, 1);
    assert.deepEqual(await collectionNames(db), ['present']);
  });

  it('a dropped collection comes back empty with only the _id index', async () => {
    const db = ctx.db('coll_drop_indexes');
    const coll = db.collection<Doc>('c');
    await coll.createIndex({ a: 1 });
    await coll.insertOne({ a: 1 });
    await coll.drop();
    await coll.insertOne({ a: 2 });
    assert.deepEqual(
      (await coll.listIndexes().toArray()).map((i) => i.name),
      ['_id_'],
    );
    assert.equal(await coll.countDocuments(), 1);
  });

  it('dropDatabase removes every collection of the database', async () => {
    const db = ctx.db('coll_dropdb');
    await db.collection<Doc>('a').insertOne({ x: 1 });
    await db.collection<Doc>('b').insertOne({ x: 2 });
    assert.equal(await db.dropDatabase(), true);
    assert.deepEqual(await collectionNames(db), []);
    assert.equal(await db.collection<Doc>('a').countDocuments(), 0);
    const reply = await db.command({ dropDatabase: 1 });
    assert.equal(reply.ok, 1, 'dropping a database that does not exist is ok');
  });
});

describe('renameCollection', () => {
  it('moves documents and indexes to the new name', async () => {
    const db = ctx.db('coll_rename');
    const source = db.collection<Doc>('src');
    await source.insertMany([{ _id: 1 }, { _id: 2 }]);
    await source.createIndex({ k: 1 }, { name: 'k_idx' });
    const renamed = await db.renameCollection('src', 'dst');
    assert.equal(renamed.collectionName, 'dst');
    assert.deepEqual(await collectionNames(db), ['dst']);
    assert.deepEqual(await db.collection<Doc>('dst').find().sort({ _id: 1 }).toArray(), [{ _id: 1 }, { _id: 2 }]);
    assert.deepEqual((await db.collection<Doc>('dst').listIndexes().toArray()).map((i) => i.name).sort(), ['_id_', 'k_idx']);
  });

  it('refuses an existing target with NamespaceExists (48) unless dropTarget', async () => {
    const db = ctx.db('coll_rename_target');
    await db.collection<Doc>('src').insertOne({ _id: 'from-src' });
    await db.collection<Doc>('dst').insertOne({ _id: 'from-dst' });
    await expectServerError(db.renameCollection('src', 'dst'), { code: 48, codeName: 'NamespaceExists' });
    assert.deepEqual(await collectionNames(db), ['dst', 'src'], 'nothing changed');
    await db.renameCollection('src', 'dst', { dropTarget: true });
    assert.deepEqual(await collectionNames(db), ['dst']);
    assert.deepEqual(await db.collection<Doc>('dst').find().toArray(), [{ _id: 'from-src' }]);
  });

  it('fails with NamespaceNotFound (26) when the source does not exist', async () => {
    const db = ctx.db('coll_rename_missing');
    await db.collection<Doc>('other').insertOne({ x: 1 });
    await expectServerError(db.renameCollection('missing', 'dst'), { code: 26, codeName: 'NamespaceNotFound' });
    assert.deepEqual(await collectionNames(db), ['other']);
  });
});

describe('renameCollection edge cases', () => {
  it('renaming a collection to itself fails with IllegalOperation (20)', async () => {
    const db = ctx.db('coll_rename_self');
    await db.collection<Doc>('c').insertOne({ _id: 1 });
    // Raw command: the driver rewrites any code-20 reply of a write helper into a retryable-writes hint.
    await expectServerError(ctx.client.db('admin').command({ renameCollection: `${db.databaseName}.c`, to: `${db.databaseName}.c` }), {
      code: 20,
      codeName: 'IllegalOperation',
    });
    assert.deepEqual(await db.collection<Doc>('c').find().toArray(), [{ _id: 1 }]);
  });

  it('renameCollection moves a collection to another database', async () => {
    const source = ctx.db('coll_rename_from');
    const target = ctx.db('coll_rename_to');
    await source.collection<Doc>('c').insertMany([{ _id: 1 }, { _id: 2 }]);
    await ctx.client.db('admin').command({ renameCollection: `${source.databaseName}.c`, to: `${target.databaseName}.moved` });
    assert.deepEqual(await collectionNames(source), []);
    assert.deepEqual(await target.collection<Doc>('moved').find().sort({ _id: 1 }).toArray(), [{ _id: 1 }, { _id: 2 }]);
  });
});

describe('validation and collMod', () => {
  it('create and collMod refuse a validator mongod refuses, and change nothing', async () => {
    const db = ctx.db('coll_bad_validator');
    await expectServerError(db.createCollection('w', { validator: { $where: 'true' } }), { code: 224, codeName: 'QueryFeatureNotAllowed' });
    await expectServerError(db.createCollection('s', { validator: { $jsonSchema: { bsonType: 'nonsense' } } }), { code: 2, codeName: 'BadValue' });
    await expectServerError(db.createCollection('l', { validator: personSchema, validationLevel: 'sometimes' as 'strict' }), { code: 2, codeName: 'BadValue' });
    assert.deepEqual(await collectionNames(db), []);

    await db.createCollection('people', { validator: personSchema });
    await expectServerError(db.command({ collMod: 'people', validator: { $text: { $search: 'x' } } }), { code: 224, codeName: 'QueryFeatureNotAllowed' });
    await expectServerError(db.command({ collMod: 'people', validationAction: 'shout' }), { code: 2, codeName: 'BadValue' });
    const [info] = await db.listCollections({ name: 'people' }).toArray();
    const options = (info as Document | undefined)?.options as Document | undefined;
    assert.deepEqual(options?.validator, personSchema);
    assert.equal(options?.validationAction, undefined);
  });

  it('collMod adds a $jsonSchema validator; an invalid insert then fails with 121', async () => {
    const db = ctx.db('coll_colmod');
    const people = db.collection<Doc>('people');
    await people.insertOne({ name: 'legacy' });
    const reply = await db.command({ collMod: 'people', validator: personSchema });
    assert.equal(reply.ok, 1);
    await people.insertOne({ name: 'Ada', age: 36 });
    const error = await expectServerError(people.insertOne({ _id: 'bad', name: 'Bob', age: 'old' }), { code: 121 });
    const errInfo = error.errInfo as Document | undefined;
    assert.equal(errInfo?.failingDocumentId, 'bad');
    const details = errInfo?.details as Document | undefined;
    assert.equal(details?.operatorName, '$jsonSchema');
    assert.ok(Array.isArray(details?.schemaRulesNotSatisfied), 'details name the unsatisfied rules');
    assert.equal(await people.countDocuments({ _id: 'bad' }), 0);
    const [info] = await db.listCollections({ name: 'people' }).toArray();
    assert.deepEqual(((info as Document | undefined)?.options as Document | undefined)?.validator, personSchema);
  });

  it('the raw insert reply carries the validation failure as a write error', async () => {
    const db = ctx.db('coll_valid_raw');
    await db.createCollection('people', { validator: personSchema });
    const reply = await db.command({
      insert: 'people',
      documents: [
        { _id: 1, name: 'x', age: 1 },
        { _id: 2, name: 'y' },
      ],
    });
    assert.equal(reply.ok, 1);
    assert.equal(reply.n, 1);
    const writeErrors = reply.writeErrors as Document[];
    assert.equal(writeErrors.length, 1);
    assert.equal(writeErrors[0]?.index, 1);
    assert.equal(writeErrors[0]?.code, 121);
    assert.match(String(writeErrors[0]?.errmsg), /Document failed validation/);
  });

  it('updates are validated too', async () => {
    const db = ctx.db('coll_valid_update');
    await db.createCollection('people', { validator: personSchema });
    const people = db.collection<Doc>('people');
    await people.insertOne({ _id: 1, name: 'Ada', age: 36 });
    await expectServerError(people.updateOne({ _id: 1 }, { $unset: { age: '' } }), { code: 121 });
    await expectServerError(people.replaceOne({ _id: 1 }, { name: 'Ada' }), { code: 121 });
    assert.deepEqual(await people.findOne({ _id: 1 }), { _id: 1, name: 'Ada', age: 36 });
  });

  it("validationAction 'warn' lets invalid documents through", async () => {
    const db = ctx.db('coll_warn');
    await db.createCollection('people', { validator: personSchema, validationAction: 'warn' });
    await db.collection<Doc>('people').insertOne({ _id: 1, name: 42 });
    assert.deepEqual(await db.collection<Doc>('people').findOne({ _id: 1 }), { _id: 1, name: 42 });
    await db.command({ collMod: 'people', validationAction: 'error' });
    await expectServerError(db.collection<Doc>('people').insertOne({ _id: 2, name: 43 }), { code: 121 });
  });

  it("validationLevel 'moderate' does not check updates to documents that were already invalid", async () => {
    const db = ctx.db('coll_moderate');
    const coll = db.collection<Doc>('c');
    await coll.insertMany([
      { _id: 'invalid', a: 'text' },
      { _id: 'valid', a: 1 },
    ]);
    await db.command({ collMod: 'c', validator: { a: { $type: 'number' } }, validationLevel: 'moderate' });
    await coll.updateOne({ _id: 'invalid' }, { $set: { b: 1 } });
    assert.deepEqual(await coll.findOne({ _id: 'invalid' }), { _id: 'invalid', a: 'text', b: 1 });
    await expectServerError(coll.updateOne({ _id: 'valid' }, { $set: { a: 'now text' } }), { code: 121 });
    await expectServerError(coll.insertOne({ _id: 'new', a: 'text' }), { code: 121 });
  });

  it('a query-operator validator is enforced like $jsonSchema', async () => {
    const db = ctx.db('coll_query_validator');
    await db.createCollection('c', { validator: { $and: [{ kind: { $in: ['a', 'b'] } }, { qty: { $gte: 0 } }] } });
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, kind: 'a', qty: 3 });
    const error = await expectServerError(coll.insertOne({ _id: 2, kind: 'z', qty: 3 }), { code: 121 });
    assert.equal((error.errInfo as Document | undefined)?.failingDocumentId, 2);
    await expectServerError(coll.updateOne({ _id: 1 }, { $inc: { qty: -10 } }), { code: 121 });
    assert.deepEqual(await coll.find().toArray(), [{ _id: 1, kind: 'a', qty: 3 }]);
  });

  it('bypassDocumentValidation skips the validator', async () => {
    const db = ctx.db('coll_bypass');
    await db.createCollection('people', { validator: personSchema });
    await db.collection<Doc>('people').insertOne({ _id: 1 }, { bypassDocumentValidation: true });
    assert.equal(await db.collection<Doc>('people').countDocuments(), 1);
  });

  it('collMod on a missing collection fails with NamespaceNotFound (26)', async () => {
    const db = ctx.db('coll_colmod_missing');
    await db.collection<Doc>('present').insertOne({ x: 1 });
    await expectServerError(db.command({ collMod: 'missing', validator: { a: { $exists: true } } }), {
      code: 26,
      codeName: 'NamespaceNotFound',
    });
  });
});

// The MongoDB 8.0 `bulkWrite` command behind client.bulkWrite(): several namespaces, ordered and
// unordered, verbose results, and inside a transaction.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, MongoClientBulkWriteError } from 'mongodb';
import type { AnyClientBulkWriteModel, Document } from 'mongodb';

/** The driver types client.bulkWrite models by schema; these tests use plain numeric _ids. */
function models(list: unknown[]): AnyClientBulkWriteModel<Document>[] {
  return list as AnyClientBulkWriteModel<Document>[];
}
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;
let client: MongoClient;
let dbName: string;

before(async () => {
  server = await openTestServer();
  client = await new MongoClient(server.uri).connect();
  dbName = uniqueDbName('bulk');
  const hello = await client.db('admin').command({ hello: 1 });
  assert.ok(hello.maxWireVersion >= 25, 'client.bulkWrite needs MongoDB 8.0');
});

after(async () => {
  await client?.db(dbName).dropDatabase().catch(() => undefined);
  await client?.close();
  await server?.close();
});

describe('client.bulkWrite', () => {
  it('applies operations on several namespaces and reports per-operation results', async () => {
    const a = `${dbName}.a`;
    const b = `${dbName}.b`;
    const operations = models([
      { name: 'insertOne', namespace: a, document: { _id: 1, n: 1 } },
      { name: 'insertOne', namespace: b, document: { _id: 1, n: 1 } },
      { name: 'updateOne', namespace: a, filter: { _id: 1 }, update: { $inc: { n: 1 } } },
      { name: 'updateMany', namespace: b, filter: {}, update: { $set: { seen: true } } },
      { name: 'replaceOne', namespace: a, filter: { _id: 2 }, replacement: { n: 20 }, upsert: true },
      { name: 'deleteOne', namespace: b, filter: { _id: 1 } },
    ]);
    const result = await client.bulkWrite(operations, { verboseResults: true });
    assert.equal(result.insertedCount, 2);
    assert.equal(result.matchedCount, 2);
    assert.equal(result.modifiedCount, 2);
    assert.equal(result.upsertedCount, 1);
    assert.equal(result.deletedCount, 1);
    assert.equal(result.updateResults?.get(4)?.upsertedId, 2);
    assert.deepEqual(await client.db(dbName).collection('a').find({}, { sort: { _id: 1 } }).toArray(), [
      { _id: 1, n: 2 },
      { _id: 2, n: 20 },
    ]);
    assert.equal(await client.db(dbName).collection('b').countDocuments({}), 0);
  });

  it('stops at the first error when ordered and carries on when not', async () => {
    const ns = `${dbName}.errors`;
    const ordered = await client
      .bulkWrite(
        models([
          { name: 'insertOne', namespace: ns, document: { _id: 1 } },
          { name: 'insertOne', namespace: ns, document: { _id: 1 } },
          { name: 'insertOne', namespace: ns, document: { _id: 2 } },
        ]),
      )
      .catch((e: unknown) => e);
    assert.ok(ordered instanceof MongoClientBulkWriteError);
    assert.equal(ordered.writeErrors.get(1)?.code, 11000);
    assert.equal(await client.db(dbName).collection('errors').countDocuments({}), 1);

    const unordered = await client
      .bulkWrite(
        models([
          { name: 'insertOne', namespace: ns, document: { _id: 1 } },
          { name: 'insertOne', namespace: ns, document: { _id: 3 } },
        ]),
        { ordered: false },
      )
      .catch((e: unknown) => e);
    assert.ok(unordered instanceof MongoClientBulkWriteError);
    assert.equal(unordered.writeErrors.size, 1);
    assert.equal(unordered.partialResult?.insertedCount, 1);
    assert.equal(await client.db(dbName).collection('errors').countDocuments({}), 2);
  });

  it('runs inside a transaction: all or nothing', async () => {
    const ns = `${dbName}.txn`;
    const session = client.startSession();
    try {
      session.startTransaction();
      await client.bulkWrite(
        models([
          { name: 'insertOne', namespace: ns, document: { _id: 1 } },
          { name: 'insertOne', namespace: ns, document: { _id: 2 } },
        ]),
        { session },
      );
      assert.equal(await client.db(dbName).collection('txn').countDocuments({}), 0, 'invisible before commit');
      await session.commitTransaction();
      assert.equal(await client.db(dbName).collection('txn').countDocuments({}), 2);

      session.startTransaction();
      await client.bulkWrite(models([{ name: 'deleteMany', namespace: ns, filter: {} }]), { session });
      await session.abortTransaction();
      assert.equal(await client.db(dbName).collection('txn').countDocuments({}), 2, 'discarded on abort');
    } finally {
      await session.endSession();
    }
  });
});

// persistPath: everything committed (documents with their bson types, indexes, collection options)
// survives stop() and a new start on the same file. Sandbox-only: skipped against a real server.
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Binary, Decimal128, Double, Long, MongoClient, MongoServerError, ObjectId, Timestamp, UUID } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import { openTestServer } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { skipUnlessSandbox } from './conformance-helpers.js';

let server: TestServer;
let directory: string;

before(async () => {
  server = await openTestServer();
  directory = await mkdtemp(join(tmpdir(), 'delta-sandbox-'));
});

after(async () => {
  await server?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('sandbox persistence', () => {
  it('saves on stop and loads on start', async (t) => {
    if (skipUnlessSandbox(t, server, 'persistPath is a sandbox option')) return;
    const path = join(directory, 'state.bson');
    const id = new ObjectId();
    const uuid = new UUID();
    const when = new Date('2024-05-06T07:08:09.123Z');

    const first = await startSandbox({ persistPath: path });
    const client = await new MongoClient(first.uri, { serverSelectionTimeoutMS: 300 }).connect();
    try {
      const db = client.db('persisted');
      await db.createCollection('people', {
        validator: { $jsonSchema: { bsonType: 'object', required: ['email'] } },
        validationAction: 'error',
      });
      const people = db.collection('people');
      await people.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
      await people.insertOne({
        _id: id,
        email: 'a@example.com',
        big: Long.fromString('9007199254740993'),
        price: Decimal128.fromString('19.99'),
        ratio: new Double(0.5),
        blob: new Binary(Buffer.from('hello')),
        uuid,
        at: when,
        ts: new Timestamp({ t: 5, i: 6 }),
        nested: { list: [1, 'two', null] },
      });
      const session = client.startSession();
      session.startTransaction();
      await people.insertOne({ email: 'uncommitted@example.com' }, { session });
      await first.stop();
      await session.endSession().catch(() => undefined);
    } finally {
      await client.close().catch(() => undefined);
    }
    assert.ok((await stat(path)).size > 0);

    const second = await startSandbox({ persistPath: path });
    const reader = await new MongoClient(second.uri).connect();
    try {
      const db = reader.db('persisted');
      const people = db.collection('people');
      const docs = await people.find({}, { promoteLongs: false }).toArray();
      assert.equal(docs.length, 1, 'the open transaction was not saved');
      const doc = docs[0];
      assert.ok(doc !== undefined);
      assert.ok(doc._id instanceof ObjectId && doc._id.equals(id));
      assert.ok(Long.isLong(doc.big) && doc.big.toString() === '9007199254740993');
      assert.ok(doc.price instanceof Decimal128 && doc.price.toString() === '19.99');
      assert.ok(doc.blob instanceof Binary && Buffer.from(doc.blob.buffer).toString() === 'hello');
      assert.equal((doc.uuid as Binary).toString('hex'), uuid.toHexString(false));
      assert.equal((doc.at as Date).getTime(), when.getTime());
      assert.ok(doc.ts instanceof Timestamp);
      assert.deepEqual(doc.nested, { list: [1, 'two', null] });

      const indexes = await people.listIndexes().toArray();
      assert.deepEqual(
        indexes.map((index) => index.name),
        ['_id_', 'email_unique'],
      );
      const dup = await people.insertOne({ email: 'a@example.com' }).catch((e: unknown) => e);
      assert.ok(dup instanceof MongoServerError && dup.code === 11000, 'the unique index is enforced after loading');
      const invalid = await people.insertOne({ name: 'no email' }).catch((e: unknown) => e);
      assert.ok(invalid instanceof MongoServerError && invalid.code === 121, 'the validator is kept');
      const [info] = await db.listCollections({ name: 'people' }).toArray();
      assert.ok(info !== undefined && 'options' in info);
      assert.equal(info.options?.validationAction, 'error');
    } finally {
      await reader.close();
      await second.stop();
    }
  });

  it('starts empty when the file does not exist yet', async (t) => {
    if (skipUnlessSandbox(t, server, 'persistPath is a sandbox option')) return;
    const path = join(directory, 'fresh.bson');
    const sandbox = await startSandbox({ persistPath: path });
    const client = await new MongoClient(sandbox.uri).connect();
    try {
      const { databases } = await client.db('admin').command({ listDatabases: 1, nameOnly: true });
      assert.deepEqual(
        (databases as Array<{ name: string }>).map((d) => d.name).filter((name) => !['admin', 'config', 'local'].includes(name)),
        [],
      );
    } finally {
      await client.close();
      await sandbox.stop();
    }
    assert.ok((await stat(path)).isFile(), 'stop() wrote the file');
  });
});

// The handshake: the server presents itself as the writable primary of a one-member replica set,
// reachable with both the replicaSet and the directConnection URI forms.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Long, MongoClient, MongoServerError, Timestamp } from 'mongodb';
import type { CommandSucceededEvent, Document } from 'mongodb';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

let server: TestServer;

before(async () => {
  server = await openTestServer();
});

after(async () => {
  await server?.close();
});

function directUri(uri: string): string {
  const url = new URL(uri);
  url.searchParams.delete('replicaSet');
  url.searchParams.set('directConnection', 'true');
  return url.toString();
}

describe('handshake', () => {
  for (const form of ['replicaSet', 'directConnection'] as const) {
    it(`serves CRUD, sessions and transactions with the ${form} URI`, async () => {
      const uri = form === 'replicaSet' ? server.uri : directUri(server.uri);
      const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 5000 }).connect();
      try {
        const db = client.db(uniqueDbName('handshake'));
        const coll = db.collection<{ _id: number; v: string }>('c');
        await coll.insertOne({ _id: 1, v: 'a' });
        const session = client.startSession();
        try {
          await session.withTransaction(async () => {
            await coll.insertOne({ _id: 2, v: 'b' }, { session });
            await coll.updateOne({ _id: 1 }, { $set: { v: 'c' } }, { session });
          });
        } finally {
          await session.endSession();
        }
        assert.deepEqual(await coll.find({}, { sort: { _id: 1 } }).toArray(), [
          { _id: 1, v: 'c' },
          { _id: 2, v: 'b' },
        ]);
        await db.dropDatabase();
      } finally {
        await client.close();
      }
    });
  }

  it('answers hello as a writable replica-set primary', async () => {
    const client = await new MongoClient(server.uri).connect();
    try {
      const hello = await client.db('admin').command({ hello: 1 });
      assert.equal(hello.isWritablePrimary, true);
      assert.equal(hello.secondary, false);
      assert.equal(typeof hello.setName, 'string');
      assert.equal(typeof hello.setVersion, 'number');
      assert.ok(Array.isArray(hello.hosts) && hello.hosts.length >= 1);
      assert.equal(typeof hello.primary, 'string');
      assert.equal(typeof hello.me, 'string');
      assert.equal(hello.maxBsonObjectSize, 16 * 1024 * 1024);
      assert.equal(hello.maxMessageSizeBytes, 48_000_000);
      assert.equal(hello.maxWriteBatchSize, 100_000);
      assert.equal(hello.logicalSessionTimeoutMinutes, 30);
      assert.ok(hello.maxWireVersion >= 21);
      assert.ok(hello.localTime instanceof Date);
      assert.ok(hello.topologyVersion?.processId !== undefined);
      assert.ok(hello.lastWrite?.opTime !== undefined);
      const legacy = await client.db('admin').command({ isMaster: 1 });
      assert.equal(legacy.ismaster, true);
    } finally {
      await client.close();
    }
  });

  it('gossips $clusterTime and operationTime on every reply', async () => {
    const replies: Document[] = [];
    const client = new MongoClient(server.uri, { monitorCommands: true });
    client.on('commandSucceeded', (event: CommandSucceededEvent) => replies.push(event.reply as Document));
    await client.connect();
    try {
      const db = client.db(uniqueDbName('gossip'));
      await db.collection('c').insertOne({ a: 1 });
      await db.collection('c').findOne({});
      const raw = await db.command({ ping: 1 });
      assert.ok(raw.$clusterTime?.clusterTime instanceof Timestamp);
      assert.ok(raw.operationTime instanceof Timestamp);
      assert.ok(replies.length >= 2);
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });

  it('answers CommandNotFound for an unknown command', async () => {
    const client = await new MongoClient(server.uri).connect();
    try {
      const error = await client.db('admin').command({ noSuchCommandAtAll: 1 }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError);
      assert.equal(error.code, 59);
      assert.equal(error.codeName, 'CommandNotFound');
      assert.match(error.message, /no such command: 'noSuchCommandAtAll'/);
    } finally {
      await client.close();
    }
  });

  it('reports a version and server status', async () => {
    const client = await new MongoClient(server.uri).connect();
    try {
      const info = await client.db('admin').command({ buildInfo: 1 });
      assert.equal(typeof info.version, 'string');
      assert.ok(Array.isArray(info.versionArray));
      const status = await client.db('admin').command({ serverStatus: 1 });
      assert.equal(typeof status.host, 'string');
      assert.ok(status.connections.current >= 1);
      assert.ok(status.opcounters !== undefined);
      const fcv = await client.db('admin').command({ getParameter: 1, featureCompatibilityVersion: 1 });
      assert.equal(typeof fcv.featureCompatibilityVersion.version, 'string');
      const me = await client.db('admin').command({ whatsmyuri: 1 });
      assert.equal(typeof me.you, 'string');
      assert.ok(Long.isLong(status.pid) || typeof status.pid === 'number');
    } finally {
      await client.close();
    }
  });
});

// Conformance: how the server introduces itself (hello, buildInfo, ping, serverStatus), gossips
// cluster time, lists databases, and serves CRUD, sessions and transactions over both
// replica-set and direct connections, as a MongoDB 7/8 replica-set primary does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Long, MongoClient, ObjectId, Timestamp } from 'mongodb';
import type { Document, TopologyDescriptionChangedEvent } from 'mongodb';
import { formatConnectionString, parseConnectionString } from '../helpers/connection-string.js';
import { sandboxOnly, uniqueDbName } from '../helpers/server.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { recordCommands, useConformanceServer } from './conformance-helpers.js';
import type { Doc } from './conformance-helpers.js';

const ctx = useConformanceServer();

async function hello(): Promise<Document> {
  return ctx.client.db('admin').command({ hello: 1 });
}

/**
 * Connects, runs a write, a transaction (insert + update) and a read, and returns the last
 * topology type the driver saw.
 */
async function topologyTypeOf(uri: string): Promise<string> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  let lastType = 'Unknown';
  client.on('topologyDescriptionChanged', (event: TopologyDescriptionChangedEvent) => {
    lastType = event.newDescription.type;
  });
  await client.connect();
  try {
    const db = client.db(uniqueDbName('hs_conn'));
    const coll = db.collection<Doc>('c');
    await coll.insertOne({ _id: 1, via: uri.length });
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await coll.insertOne({ _id: 2, v: 'b' }, { session });
        await coll.updateOne({ _id: 1 }, { $set: { v: 'c' } }, { session });
      });
    } finally {
      await session.endSession();
    }
    assert.deepEqual(await coll.find().sort({ _id: 1 }).toArray(), [
      { _id: 1, via: uri.length, v: 'c' },
      { _id: 2, v: 'b' },
    ]);
    await db.dropDatabase();
    return lastType;
  } finally {
    await client.close();
  }
}

describe('hello / buildInfo / ping', () => {
  it('hello describes a writable primary of a replica set', async () => {
    const reply = await hello();
    assert.equal(reply.ok, 1);
    assert.equal(reply.isWritablePrimary, true);
    assert.equal(reply.secondary, false);
    assert.equal(typeof reply.setName, 'string');
    assert.ok((reply.setName as string).length > 0);
    assert.equal(typeof reply.me, 'string');
    assert.equal(reply.primary, reply.me, 'the answering member is the primary');
    assert.ok(Array.isArray(reply.hosts) && (reply.hosts as unknown[]).includes(reply.me));
    assert.ok(typeof reply.maxWireVersion === 'number' && reply.maxWireVersion >= 21, `maxWireVersion ${String(reply.maxWireVersion)} ≥ 21 (MongoDB 7.0)`);
    assert.equal(typeof reply.minWireVersion, 'number');
    assert.ok((reply.minWireVersion as number) <= (reply.maxWireVersion as number));
    assert.equal(reply.logicalSessionTimeoutMinutes, 30, 'the default session timeout');
    assert.equal(reply.maxBsonObjectSize, 16 * 1024 * 1024);
    assert.equal(reply.maxMessageSizeBytes, 48_000_000);
    assert.equal(reply.maxWriteBatchSize, 100_000);
    assert.ok(reply.localTime instanceof Date);
    assert.equal(typeof reply.connectionId, 'number');
    assert.equal(reply.readOnly, false);
  });

  it('hello carries replica-set election and cluster-time fields', async () => {
    const reply = await hello();
    assert.ok(reply.electionId instanceof ObjectId, 'electionId is an ObjectId');
    assert.equal(typeof reply.setVersion, 'number');
    assert.ok(reply.operationTime instanceof Timestamp, 'operationTime is a Timestamp');
    const clusterTime = reply.$clusterTime as Document | undefined;
    assert.ok(clusterTime?.clusterTime instanceof Timestamp, '$clusterTime.clusterTime is a Timestamp');
    const topologyVersion = reply.topologyVersion as Document | undefined;
    assert.ok(topologyVersion?.processId instanceof ObjectId, 'topologyVersion.processId is an ObjectId');
    assert.ok((reply.lastWrite as Document | undefined)?.opTime !== undefined, 'lastWrite.opTime');
  });

  it('other replies gossip $clusterTime and operationTime too', async () => {
    const db = ctx.db('hs_gossip');
    await db.collection<Doc>('c').insertOne({ a: 1 });
    const reply = await db.command({ ping: 1 });
    assert.ok((reply.$clusterTime as Document | undefined)?.clusterTime instanceof Timestamp, '$clusterTime.clusterTime is a Timestamp');
    assert.ok(reply.operationTime instanceof Timestamp, 'operationTime is a Timestamp');
  });

  it('the legacy isMaster spelling answers ismaster: true', async () => {
    const reply = await ctx.client.db('admin').command({ isMaster: 1 });
    assert.equal(reply.ok, 1);
    assert.equal(reply.ismaster, true);
    assert.equal(reply.secondary, false);
    assert.equal(typeof reply.setName, 'string');
  });

  it('ping answers ok: 1 on any database', async () => {
    const onAdmin = await ctx.client.db('admin').command({ ping: 1 });
    const onOther = await ctx.client.db(uniqueDbName('hs_ping')).command({ ping: 1 });
    assert.equal(onAdmin.ok, 1);
    assert.equal(onOther.ok, 1);
  });

  it('buildInfo reports a MongoDB 7 or later version string and matching versionArray', async () => {
    const info = await ctx.client.db('admin').command({ buildInfo: 1 });
    assert.equal(info.ok, 1);
    assert.equal(typeof info.version, 'string');
    const match = /^(\d+)\.(\d+)\.(\d+)/.exec(info.version as string);
    assert.ok(match, `version ${String(info.version)} looks like x.y.z`);
    assert.ok(Number(match[1]) >= 7, `major version ${match[1]} ≥ 7`);
    assert.ok(Array.isArray(info.versionArray));
    const versionArray = info.versionArray as unknown[];
    assert.deepEqual(versionArray.slice(0, 3), [Number(match[1]), Number(match[2]), Number(match[3])]);
    assert.equal(info.bits, 64);
    assert.equal(info.maxBsonObjectSize, 16 * 1024 * 1024);
  });

  it('the driver attaches a session id to commands, so the server supports sessions', async () => {
    const recording = recordCommands(ctx.client, ['find']);
    try {
      await ctx.client.db(uniqueDbName('hs_lsid')).collection<Doc>('c').findOne({});
    } finally {
      recording.stop();
    }
    assert.equal(recording.started.length, 1);
    assert.ok(recording.started[0]?.command.lsid !== undefined, 'an implicit session was used');
  });
});

describe('serverStatus and whatsmyuri', () => {
  it('serverStatus reports the host, connections, opcounters and pid', async () => {
    const status = await ctx.client.db('admin').command({ serverStatus: 1 });
    assert.equal(status.ok, 1);
    assert.equal(typeof status.host, 'string');
    assert.ok((status.connections as Document | undefined)?.current >= 1, 'at least this connection');
    assert.ok(status.opcounters !== undefined);
    assert.ok(Long.isLong(status.pid) || typeof status.pid === 'number');
  });

  it('whatsmyuri answers the client address', async () => {
    const reply = await ctx.client.db('admin').command({ whatsmyuri: 1 });
    assert.equal(typeof reply.you, 'string');
  });
});

describe('listDatabases', () => {
  it('lists a database only once something was written to it', async () => {
    const db = ctx.db('hs_list');
    const admin = ctx.client.db('admin').admin();
    const before = await admin.listDatabases({ filter: { name: db.databaseName } });
    assert.deepEqual(before.databases, []);
    await db.collection<Doc>('c').insertOne({ x: 1 });
    const afterWrite = await admin.listDatabases({ filter: { name: db.databaseName } });
    assert.equal(afterWrite.databases.length, 1);
    const entry = afterWrite.databases[0];
    assert.equal(entry?.name, db.databaseName);
    assert.equal(typeof entry?.sizeOnDisk, 'number');
    assert.equal(entry?.empty, false);
    assert.equal(typeof afterWrite.totalSize, 'number');
  });

  it('nameOnly returns just the names', async () => {
    const db = ctx.db('hs_nameonly');
    await db.collection<Doc>('c').insertOne({ x: 1 });
    const reply = await ctx.client.db('admin').command({ listDatabases: 1, nameOnly: true, filter: { name: db.databaseName } });
    assert.equal(reply.ok, 1);
    assert.deepEqual(reply.databases, [{ name: db.databaseName }]);
    assert.equal(reply.totalSize, undefined, 'no sizes are computed with nameOnly');
  });

  it('filter selects databases by a query on their entries', async () => {
    const prefix = uniqueDbName('hs_f');
    const names = [`${prefix}_a`, `${prefix}_b`];
    const dbs = names.map((name) => ctx.client.db(name));
    try {
      for (const db of dbs) await db.collection<Doc>('c').insertOne({ x: 1 });
      const reply = await ctx.client
        .db('admin')
        .admin()
        .listDatabases({ nameOnly: true, filter: { name: { $regex: `^${prefix}_` } } });
      assert.deepEqual(reply.databases.map((d) => d.name).sort(), names);
      const exact = await ctx.client
        .db('admin')
        .admin()
        .listDatabases({ filter: { name: names[1], empty: false } });
      assert.deepEqual(
        exact.databases.map((d) => d.name),
        [names[1]],
      );
    } finally {
      for (const db of dbs) await db.dropDatabase();
    }
  });

  it('a dropped database disappears from the list', async () => {
    const db = ctx.db('hs_dropdb');
    await db.collection<Doc>('c').insertOne({ x: 1 });
    assert.equal(await db.dropDatabase(), true);
    const reply = await ctx.client
      .db('admin')
      .admin()
      .listDatabases({ filter: { name: db.databaseName } });
    assert.deepEqual(reply.databases, []);
  });
});

describe('connection strings', () => {
  it('connects as a replica set with ?replicaSet=<setName> and serves CRUD and transactions', async () => {
    const reply = await hello();
    const parts = parseConnectionString(ctx.server.uri);
    const options = new URLSearchParams(parts.options);
    options.delete('directConnection');
    options.set('replicaSet', reply.setName as string);
    assert.equal(await topologyTypeOf(formatConnectionString({ ...parts, options })), 'ReplicaSetWithPrimary');
  });

  it('connects to the primary alone with directConnection=true and serves CRUD and transactions', async () => {
    const reply = await hello();
    const parts = parseConnectionString(ctx.server.uri);
    const options = new URLSearchParams(parts.options);
    options.delete('replicaSet');
    options.set('directConnection', 'true');
    // An SRV URI cannot be direct; SRV implies TLS, which the plain form must then ask for.
    if (parts.scheme === 'mongodb+srv' && !options.has('tls') && !options.has('ssl')) options.set('tls', 'true');
    const direct = formatConnectionString({ ...parts, scheme: 'mongodb', hosts: reply.me as string, options });
    assert.equal(await topologyTypeOf(direct), 'Single');
  });
});

describe('server parameters', () => {
  it('getParameter reports a featureCompatibilityVersion of 7.0 or later', async () => {
    const reply = await ctx.client.db('admin').command({ getParameter: 1, featureCompatibilityVersion: 1 });
    assert.equal(reply.ok, 1);
    const fcv = (reply.featureCompatibilityVersion as Document | undefined)?.version;
    assert.equal(typeof fcv, 'string');
    assert.ok(Number.parseFloat(String(fcv)) >= 7, `featureCompatibilityVersion ${String(fcv)} ≥ 7.0`);
  });
});

describe('maxWireVersion (answering as an older MongoDB)', { skip: sandboxOnly('an option of the sandbox itself') }, () => {
  it('hello reports the version asked for, and the bulkWrite command is unknown below 25', async () => {
    const sandbox = await startSandbox({ maxWireVersion: 21 });
    const client = await new MongoClient(sandbox.uri).connect();
    try {
      const hello = await client.db('admin').command({ hello: 1 });
      assert.equal(hello.maxWireVersion, 21);
      const db = uniqueDbName('wire');
      // The bulkWrite command came with MongoDB 8.0: a 7.0 server does not know it.
      await assert.rejects(client.bulkWrite([{ namespace: `${db}.a`, name: 'insertOne', document: { _id: 1 } as never }]), (error: unknown) => {
        const cause = (error as { cause?: { code?: unknown } }).cause ?? error;
        return (cause as { code?: unknown }).code === 59;
      });
      assert.equal(await client.db(db).collection('a').countDocuments(), 0);
    } finally {
      await client.close();
      await sandbox.stop();
    }
  });

  it('refuses a version it cannot answer as', async () => {
    await assert.rejects(startSandbox({ maxWireVersion: 30 }), /maxWireVersion must be a whole number from 17 \(MongoDB 6\.0\) to 25 \(8\.0\), got 30/);
  });
});

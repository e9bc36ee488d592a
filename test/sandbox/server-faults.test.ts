// Fault injection, command events and stats of the sandbox (sandbox-only features: against a real
// server, each test skips itself).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, MongoNetworkError, MongoServerError } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { CommandEvent } from '../../src/sandbox/index.js';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';
import { skipUnlessSandbox } from './conformance-helpers.js';

let server: TestServer;

before(async () => {
  server = await openTestServer();
});

after(async () => {
  await server?.close();
});

async function withClient<T>(options: { retryWrites: boolean }, fn: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = await new MongoClient(server.uri, { retryWrites: options.retryWrites, serverSelectionTimeoutMS: 5000 }).connect();
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

describe('sandbox faults', () => {
  it('closeAfter drops the connection without running the command', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'fault injection') || sandbox === undefined) return;
    await withClient({ retryWrites: false }, async (client) => {
      const coll = client.db(uniqueDbName('fault')).collection<{ _id: number }>('c');
      await coll.insertOne({ _id: 0 });
      sandbox.faults.closeAfter(2, { command: 'insert' });
      await coll.insertOne({ _id: 1 });
      const error = await coll.insertOne({ _id: 2 }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoNetworkError, String(error));
      assert.deepEqual(
        (await coll.find({}).toArray()).map((d) => d._id),
        [0, 1],
      );
    });
    sandbox.faults.clear();
  });

  it('closeAfter with a retryable write: the driver retries and the write happens once', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'fault injection') || sandbox === undefined) return;
    await withClient({ retryWrites: true }, async (client) => {
      const coll = client.db(uniqueDbName('fault')).collection<{ _id: number; n: number }>('c');
      await coll.insertOne({ _id: 1, n: 0 });
      sandbox.faults.closeAfter(1, { command: 'update' });
      await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
      assert.equal((await coll.findOne({ _id: 1 }))?.n, 1);
    });
  });

  it('closeAfterReply applies the write but loses the acknowledgement', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'fault injection') || sandbox === undefined) return;
    await withClient({ retryWrites: false }, async (client) => {
      const coll = client.db(uniqueDbName('fault')).collection<{ _id: number; n: number }>('c');
      await coll.insertOne({ _id: 1, n: 0 });
      sandbox.faults.closeAfterReply(1, { command: 'update' });
      const error = await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoNetworkError, String(error));
      assert.equal((await coll.findOne({ _id: 1 }))?.n, 1, 'applied although unacknowledged');
    });
    await withClient({ retryWrites: true }, async (client) => {
      const coll = client.db(uniqueDbName('fault')).collection<{ _id: number; n: number }>('c');
      await coll.insertOne({ _id: 1, n: 0 });
      sandbox.faults.closeAfterReply(1, { command: 'update' });
      const result = await coll.updateOne({ _id: 1 }, { $inc: { n: 1 } });
      assert.equal(result.modifiedCount, 1, 'the retry is answered from the remembered reply');
      assert.equal((await coll.findOne({ _id: 1 }))?.n, 1, 'and not applied a second time');
    });
  });

  it('failCommand answers the chosen error instead of running the command', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'fault injection') || sandbox === undefined) return;
    await withClient({ retryWrites: false }, async (client) => {
      const coll = client.db(uniqueDbName('fault')).collection<{ _id: number }>('c');
      sandbox.faults.failCommand(1, { command: 'insert', code: 91, errmsg: 'shutting down', errorLabels: ['RetryableWriteError'] });
      const error = await coll.insertOne({ _id: 1 }).catch((e: unknown) => e);
      assert.ok(error instanceof MongoServerError, String(error));
      assert.equal(error.code, 91);
      assert.equal(error.codeName, 'Location91');
      assert.equal(error.errmsg, 'shutting down');
      assert.equal(await coll.countDocuments({}), 0);
      sandbox.faults.failCommand(1, { code: 112, codeName: 'WriteConflict' });
      const next = await client
        .db('admin')
        .command({ ping: 1 })
        .catch((e: unknown) => e);
      assert.ok(next instanceof MongoServerError);
      assert.equal(next.codeName, 'WriteConflict');
      await client.db('admin').command({ ping: 1 });
    });
  });

  it('delay slows the replies of the named command only', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'fault injection') || sandbox === undefined) return;
    await withClient({ retryWrites: false }, async (client) => {
      const admin = client.db('admin');
      await admin.command({ ping: 1 });
      sandbox.faults.delay(150, { command: 'ping', times: 1 });
      let started = Date.now();
      await admin.command({ ping: 1 });
      assert.ok(Date.now() - started >= 140, 'the delayed ping');
      started = Date.now();
      await admin.command({ ping: 1 });
      assert.ok(Date.now() - started < 140, 'times: 1 delays only once');
    });
    sandbox.faults.clear();
  });

  it('does not count monitoring hellos unless asked to', async (t) => {
    if (skipUnlessSandbox(t, server, 'fault injection')) return;
    // A sandbox of its own: no stray command of another test can consume the fault.
    const sandbox = await startSandbox();
    try {
      sandbox.faults.closeAfter(1);
      const client = await new MongoClient(sandbox.uri, { retryWrites: false, retryReads: false }).connect();
      try {
        // The handshake and monitoring hellos came first: the fault waits for the first real command.
        const error = await client
          .db('admin')
          .command({ ping: 1 })
          .catch((e: unknown) => e);
        assert.ok(error instanceof MongoNetworkError, String(error));
        await client.db('admin').command({ ping: 1 });
      } finally {
        await client.close();
      }
    } finally {
      await sandbox.stop();
    }
  });

  it("emits 'command' before each non-monitoring command, numbered in arrival order", async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'command events') || sandbox === undefined) return;
    const seen: CommandEvent[] = [];
    const listener = (event: CommandEvent): void => {
      seen.push(event);
    };
    sandbox.on('command', listener);
    try {
      await withClient({ retryWrites: false }, async (client) => {
        const db = client.db(uniqueDbName('events'));
        await db.collection('c').insertOne({ a: 1 });
        await db.collection('c').findOne({});
      });
    } finally {
      sandbox.off('command', listener);
    }
    const names = seen.map((event) => event.name);
    assert.ok(names.includes('insert') && names.includes('find'), names.join(','));
    assert.ok(!names.includes('hello') && !names.includes('isMaster'));
    const insert = seen.find((event) => event.name === 'insert');
    assert.ok(insert !== undefined && insert.db.startsWith('events_') && insert.connectionId > 0);
    for (let i = 1; i < seen.length; i++) assert.equal((seen[i] as CommandEvent).seq, (seen[i - 1] as CommandEvent).seq + 1);
  });

  it('counts commands, writes and connections in stats()', async (t) => {
    const sandbox = server.sandbox;
    if (skipUnlessSandbox(t, server, 'stats') || sandbox === undefined) return;
    sandbox.resetStats();
    await withClient({ retryWrites: false }, async (client) => {
      const coll = client.db(uniqueDbName('stats')).collection('c');
      await coll.insertOne({ a: 1 });
      await coll.updateOne({ a: 1 }, { $set: { a: 2 } });
      await coll.updateOne({ a: 99 }, { $set: { a: 3 } });
      await coll.find({}).toArray();
      const stats = sandbox.stats();
      assert.ok(stats.connections >= 1);
      assert.ok(stats.totalConnections >= 1);
      assert.equal(stats.byCommand.insert, 1);
      assert.equal(stats.byCommand.update, 2);
      assert.equal(stats.byCommand.find, 1);
      assert.equal(stats.byCommand.hello, undefined);
      assert.equal(stats.writes, 2, 'insert and the matching update; the no-op update changed nothing');
      assert.equal(
        stats.commands,
        Object.values(stats.byCommand).reduce((a, b) => a + b, 0),
      );
      assert.ok(stats.hellos >= 1);
    });
  });
});

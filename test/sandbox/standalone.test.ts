// The sandbox as a standalone mongod (startSandbox({ standalone: true })): what the driver sees of
// a server without a replica set, so delta's code paths for one can be exercised.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { sandboxOnly } from '../helpers/server.js';

const skip = sandboxOnly('the sandbox started as a standalone');
let sandbox: Sandbox;
let client: MongoClient;
before(async () => {
  if (skip !== false) return;
  sandbox = await startSandbox({ standalone: true });
  client = await new MongoClient(sandbox.uri).connect();
});
after(async () => {
  await client?.close();
  await sandbox?.stop();
});

describe('a standalone sandbox', { skip }, () => {
  it('answers hello without a replica set, and its URI names none', async () => {
    assert.doesNotMatch(sandbox.uri, /replicaSet/);
    assert.equal(sandbox.replicaSetName, undefined);
    const hello = await client.db('admin').command({ hello: 1 });
    assert.equal(hello.isWritablePrimary, true);
    assert.equal(hello.setName, undefined);
    assert.equal(hello.hosts, undefined);
    assert.equal(typeof hello.logicalSessionTimeoutMinutes, 'number', 'sessions still exist on a standalone');
    assert.equal(hello.$clusterTime, undefined, 'a standalone gossips no cluster time');
  });

  it('takes plain writes and reads', async () => {
    await client
      .db('solo')
      .collection('c')
      .insertOne({ _id: 1, v: 'x' } as never);
    assert.deepEqual(
      await client
        .db('solo')
        .collection('c')
        .findOne({ _id: 1 } as never),
      { _id: 1, v: 'x' },
    );
  });

  it('refuses a transaction with IllegalOperation (20), as mongod does', async () => {
    const session = client.startSession();
    try {
      session.startTransaction();
      await assert.rejects(
        client
          .db('solo')
          .collection('c')
          .insertOne({ _id: 2 } as never, { session }),
        (error: unknown) => {
          // The driver turns mongod's answer into advice about retryable writes, keeping the original.
          assert.ok(error instanceof MongoServerError);
          assert.match(error.message, /does not support retryable writes/);
          const original = (error as { originalError?: unknown }).originalError;
          assert.ok(original instanceof MongoServerError);
          assert.equal(original.code, 20);
          assert.match(original.message, /Transaction numbers are only allowed on a replica set member or mongos/);
          return true;
        },
      );
    } finally {
      await session.abortTransaction().catch(() => undefined);
      await session.endSession();
    }
    assert.equal(
      await client
        .db('solo')
        .collection('c')
        .countDocuments({ _id: 2 } as never),
      0,
    );
  });
});

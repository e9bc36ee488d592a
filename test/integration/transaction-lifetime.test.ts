// A change that outlives MongoDB's transaction lifetime limit (transactionLifetimeLimitSeconds,
// 60 s by default) cannot commit in one transaction: the server aborts it. The failure is
// recorded with the server's error and the way out (transaction: 'never', or batches). Run
// against a sandbox started with a limit of 0.3 s; a real server's 60 s is too long for a test.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { createDelta } from '../../src/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { startSandbox } from '../../src/sandbox/index.js';
import { sandboxOnly } from '../helpers/server.js';

describe('the transaction lifetime limit', { skip: sandboxOnly('needs a server whose transactionLifetimeLimitSeconds is a fraction of a second') }, () => {
  let sandbox: Sandbox | undefined;
  let client: MongoClient | undefined;
  after(async () => {
    await client?.close();
    await sandbox?.stop();
  });

  it("a change longer than the limit fails with the server's error and the advice to use transaction: 'never' or batches", async () => {
    sandbox = await startSandbox({ transactionLifetimeLimitSeconds: 0.3 });
    client = await new MongoClient(sandbox.uri).connect();
    const db = 'lifetime_app';
    const delta = createDelta({
      config: { uri: sandbox.uri, db, groupTransactions: false },
      env: {},
      changes: [
        {
          id: '001_slow_backfill',
          async commit({ db: target }) {
            await target.collection('orders').insertOne({ _id: 1 as never, total: 1 });
            await sleep(700);
            await target.collection('orders').insertOne({ _id: 2 as never, total: 2 });
          },
        },
      ],
    });
    try {
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      const record = await client.db(db).collection('delta_migrations').findOne({ changeId: '001_slow_backfill' });
      assert.equal(record?.status, 'failed');
      assert.match(
        String(record?.error?.message),
        /the server aborted its transaction \(MongoDB aborts one that runs longer than transactionLifetimeLimitSeconds, 60 s by default\): give this change transaction: 'never', or make it a batched change \(batches: true\) that commits in steps$/,
      );
      assert.equal(record?.error?.code, 251);
      const events = await client.db(db).collection('delta_audit').find({ changeId: '001_slow_backfill' }).toArray();
      assert.deepEqual(
        events.map((e) => [e.outcome, e.error?.message === record?.error?.message]),
        [['failure', true]],
      );
      assert.equal(await client.db(db).collection('orders').countDocuments(), 0, 'nothing of it stays');
    } finally {
      await delta.close();
    }
  });
});

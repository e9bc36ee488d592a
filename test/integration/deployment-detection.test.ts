// What delta learns about the deployment when it connects (src/connection/connect.ts): read from
// the driver's monitoring instead of a `hello` command of its own, it must be what that command
// says: transactions on a replica set or sharded cluster, not on a standalone; one multi-collection
// `bulkWrite` from MongoDB 8.0 (wire version 25).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { TopologyDescription } from 'mongodb';
import { MongoClient } from 'mongodb';
import type { Deployment } from '../../src/connection/connect.js';
import { deploymentOf, openConnection } from '../../src/connection/connect.js';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { sandboxOnly, useServer } from '../helpers/server.js';

/** What a `hello` command answers, and the topology the driver's monitoring saw on the way. */
async function askedAndSeen(uri: string): Promise<{ asked: Deployment; seen: TopologyDescription | undefined }> {
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  let seen: TopologyDescription | undefined;
  client.on('topologyDescriptionChanged', (event) => {
    seen = event.newDescription;
  });
  try {
    await client.connect();
    const hello = await client.db('admin').command({ hello: 1 });
    const asked = { transactions: typeof hello.setName === 'string' || hello.msg === 'isdbgrid', clientBulkWrite: typeof hello.maxWireVersion === 'number' && hello.maxWireVersion >= 25 };
    return { asked, seen };
  } finally {
    await client.close();
  }
}

async function expectSame(uri: string, expected?: Deployment): Promise<void> {
  const { asked, seen } = await askedAndSeen(uri);
  if (expected !== undefined) assert.deepEqual(asked, expected);
  assert.deepEqual(deploymentOf(seen), asked);
  const connection = await openConnection({ uri, source: 'test', connectTimeoutMs: 10_000 });
  try {
    assert.deepEqual(connection.deployment, asked);
  } finally {
    await connection.close();
  }
}

describe('the deployment, as connecting learns it', () => {
  const fixture = useServer();

  it('the test server: what a hello command says', async () => {
    await expectSame(fixture.server.uri);
  });

  describe('sandboxes answering as other deployments', { skip: sandboxOnly('starts sandboxes answering as a standalone and as MongoDB 7.0') }, () => {
    const sandboxes: Sandbox[] = [];
    after(async () => {
      for (const sandbox of sandboxes) await sandbox.stop();
    });
    const started = async (options: Parameters<typeof startSandbox>[0]) => {
      const sandbox = await startSandbox(options);
      sandboxes.push(sandbox);
      return sandbox;
    };
    const direct = (uri: string) => uri.replace(/\?.*$/, '?directConnection=true');

    it('a replica set, by its set name and directly', async () => {
      const sandbox = await started({ port: 0 });
      await expectSame(sandbox.uri, { transactions: true, clientBulkWrite: true });
      await expectSame(direct(sandbox.uri), { transactions: true, clientBulkWrite: true });
    });

    it('a replica set answering as MongoDB 7.0: no multi-collection bulkWrite', async () => {
      const sandbox = await started({ port: 0, maxWireVersion: 21 });
      await expectSame(sandbox.uri, { transactions: true, clientBulkWrite: false });
      await expectSame(direct(sandbox.uri), { transactions: true, clientBulkWrite: false });
    });

    it('a standalone: no transactions', async () => {
      const sandbox = await started({ port: 0, standalone: true });
      await expectSame(sandbox.uri, { transactions: false, clientBulkWrite: true });
      const old = await started({ port: 0, standalone: true, maxWireVersion: 21 });
      await expectSame(old.uri, { transactions: false, clientBulkWrite: false });
    });
  });

  it('nothing seen (a load balancer, a direct connection to a secondary): undefined, so delta asks', () => {
    assert.equal(deploymentOf(undefined), undefined);
  });
});

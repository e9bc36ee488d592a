// The storage engine underneath the wire: version chains, snapshots, garbage collection of old
// versions, and the TTL monitor. No network; sandbox internals only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATEST_VIEW, LockWait } from '../../src/sandbox/collection.js';
import { CommandError } from '../../src/sandbox/errors.js';
import { Storage } from '../../src/sandbox/storage.js';
import { TransactionManager } from '../../src/sandbox/transactions.js';
import { expireDocuments } from '../../src/sandbox/ttl-monitor.js';

function setup() {
  const storage = new Storage(() => undefined);
  const manager = new TransactionManager({ storage, lifetimeLimitMs: 60_000, killCursors: () => undefined, killSessionCursors: () => undefined, log: () => undefined });
  const collection = storage.createCollection('db', 'c');
  const session = (n: number) => manager.session({ id: { toString: () => `session-${n}` } });
  return { storage, manager, collection, session };
}

describe('MVCC storage', () => {
  it('serves each transaction its snapshot and prunes versions nobody can see', () => {
    const { manager, collection, session } = setup();
    for (let i = 0; i < 1000; i++) collection.insert({ _id: i, v: 0 }, { txn: undefined });
    const reader = manager.begin(session(1), 1);
    for (let i = 0; i < 1000; i++) {
      const current = collection.getById(i, LATEST_VIEW);
      assert.ok(current !== null);
      collection.replace(`n${i}`, current, { _id: i, v: 1 }, { txn: undefined });
    }
    collection.remove('n0', { txn: undefined });
    const view = { snapshot: reader.snapshot, txn: reader };
    assert.equal(collection.getById(5, view)?.v, 0, 'the reader still sees its snapshot');
    assert.equal(collection.getById(0, view)?.v, 0, 'and documents deleted after it');
    assert.equal(collection.count(view), 1000);
    assert.equal(collection.count(LATEST_VIEW), 999);
    assert.ok(collection.history.size >= 1000, 'old versions are kept while the snapshot is open');
    manager.abort(reader, 'done');
    assert.equal(collection.history.size, 0, 'and dropped once it closes');
    assert.equal(collection.chains.has('n0'), false, 'a deletion visible to everyone forgets the document');
    for (const chain of collection.chains.values()) assert.equal(chain.versions.length, 1);
  });

  it('keeps pending writes private, commits them at one sequence number, and releases locks', () => {
    const { manager, collection, session } = setup();
    collection.insert({ _id: 'a', n: 1 }, { txn: undefined });
    const txn = manager.begin(session(1), 1);
    const view = { snapshot: txn.snapshot, txn };
    collection.replace('sa', collection.getById('a', view) ?? {}, { _id: 'a', n: 2 }, { txn });
    collection.insert({ _id: 'b', n: 1 }, { txn });
    assert.equal(collection.getById('a', LATEST_VIEW)?.n, 1);
    assert.equal(collection.getById('b', LATEST_VIEW), null);
    assert.throws(() => collection.insert({ _id: 'b' }, { txn: undefined }), LockWait, 'a plain insert of the pending _id must wait');
    const other = manager.begin(session(2), 1);
    assert.throws(
      () => collection.replace('sa', { _id: 'a', n: 1 }, { _id: 'a', n: 3 }, { txn: other }),
      (error: unknown) => error instanceof CommandError && error.code === 112,
    );
    manager.commit(txn);
    assert.equal(collection.getById('a', LATEST_VIEW)?.n, 2);
    assert.equal(collection.getById('b', LATEST_VIEW)?.n, 1);
    assert.equal(collection.chains.get('sa')?.lockedBy, undefined);
    const [versionA] = collection.chains.get('sa')?.versions.slice(-1) ?? [];
    const [versionB] = collection.chains.get('sb')?.versions.slice(-1) ?? [];
    assert.equal(versionA?.seq, versionB?.seq, 'one commit sequence number for the whole transaction');
    assert.equal(collection.liveCount, 2);
    manager.abort(other, 'done');
  });

  it('removes expired documents in a TTL pass', () => {
    const { storage, collection } = setup();
    collection.addIndex({ v: 2, key: { at: 1 }, name: 'at_1', expireAfterSeconds: 60 });
    const now = Date.now();
    collection.insert({ _id: 1, at: new Date(now - 120_000) }, { txn: undefined });
    collection.insert({ _id: 2, at: new Date(now) }, { txn: undefined });
    collection.insert({ _id: 3, at: 'not a date' }, { txn: undefined });
    collection.insert({ _id: 4, at: [new Date(now), new Date(now - 61_000)] }, { txn: undefined });
    assert.equal(expireDocuments(storage, now), 2);
    assert.deepEqual([...collection.scan(LATEST_VIEW)].map((d) => d._id), [2, 3]);
  });
});

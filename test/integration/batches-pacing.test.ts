// ctx.batches pacing itself: batchSize 'auto' adapts the batch to a target duration, and
// throttle.maxReplicationLagMs pauses between batches while secondaries lag (simulated by the
// sandbox), with the pause and its reason in the progress events; bad pacing options are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeltaEvents } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { seedItems } from '../helpers/database.js';
import { sandboxOnly, uniqueDbName, useServer } from '../helpers/server.js';
import type { BatchOptions, ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

const seed = (db: string, count: number) => seedItems(fixture.client, db, count);

async function commit(db: string, change: ChangeDefinition, progress: DeltaEvents['change:progress'][] = [], maxReplicationLagMs?: number) {
  const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [change], env: {} });
  delta.on('change:progress', (e) => progress.push(e));
  try {
    return await delta.commit({ maxReplicationLagMs });
  } finally {
    await delta.close();
  }
}

/** Marks each document once; `msPerDocument` of work per document makes batches slow or fast. */
function backfill(options: BatchOptions, msPerDocument = 0): ChangeDefinition {
  return {
    id: '001_backfill',
    batches: true,
    async commit({ db, batches }) {
      await batches('items', options, async (docs, { session }) => {
        if (msPerDocument > 0) await new Promise((resolve) => setTimeout(resolve, docs.length * msPerDocument));
        await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { seen: 1 } }, { session });
      });
    },
  };
}

const everyDocumentOnce = async (db: string, count: number) => {
  const items = fixture.client.db(db).collection('items');
  assert.equal(await items.countDocuments({ seen: 1 }), count);
  assert.equal(await items.countDocuments({ seen: { $ne: 1 } }), 0);
};

describe('ctx.batches pacing', () => {
  it("batchSize 'auto' grows fast batches and shrinks slow ones toward targetBatchMs; every document once", async () => {
    const fast = uniqueDbName('auto_fast');
    await seed(fast, 3000);
    const grown: DeltaEvents['change:progress'][] = [];
    const first = await commit(fast, backfill({ batchSize: 'auto', targetBatchMs: 2000 }), grown);
    assert.equal(first.error, undefined);
    assert.equal(grown[0]?.batchSize, 100, 'the first batch is 100');
    assert.ok((grown[1]?.batchSize ?? 0) > 100, `a quick batch makes the next one larger (${grown.map((e) => e.batchSize).join(', ')})`);
    await everyDocumentOnce(fast, 3000);

    const slow = uniqueDbName('auto_slow');
    await seed(slow, 300);
    const shrunk: DeltaEvents['change:progress'][] = [];
    // 2 ms per document: 100 documents take 200 ms, four times the 50 ms aimed at.
    const second = await commit(slow, backfill({ batchSize: 'auto', targetBatchMs: 50 }, 2), shrunk);
    assert.equal(second.error, undefined);
    assert.ok((shrunk[1]?.batchSize ?? 100) < 100, `a slow batch makes the next one smaller (${shrunk.map((e) => e.batchSize).join(', ')})`);
    await everyDocumentOnce(slow, 300);
  });

  it('throttle.maxReplicationLagMs pauses between batches while the secondaries lag, then goes on', { skip: sandboxOnly('simulates replication lag') }, async () => {
    const sandbox = fixture.server.sandbox;
    assert.ok(sandbox !== undefined);
    const db = uniqueDbName('lag');
    await seed(db, 300);
    const progress: DeltaEvents['change:progress'][] = [];
    sandbox.faults.replicationLag(2000);
    // The secondaries catch up while the walk waits.
    const caughtUp = setTimeout(() => sandbox.faults.replicationLag(0), 600);
    try {
      const result = await commit(db, backfill({ batchSize: 100, throttle: { maxReplicationLagMs: 500 } }), progress);
      assert.equal(result.error, undefined);
    } finally {
      clearTimeout(caughtUp);
      sandbox.faults.replicationLag(0);
    }
    const pauses = progress.filter((e) => e.paused !== undefined);
    assert.ok(pauses.length > 0, 'at least one pause was reported');
    assert.match(pauses[0]?.paused?.reason ?? '', /^replication lag \d+ ms \(replSetGetStatus\) above maxReplicationLagMs 500$/);
    assert.ok(
      progress.some((e) => e.complete),
      'the walk finished',
    );
    await everyDocumentOnce(db, 300);
  });

  it("the run's maxReplicationLagMs (--max-lag) paces walks that set no throttle of their own", { skip: sandboxOnly('simulates replication lag') }, async () => {
    const sandbox = fixture.server.sandbox;
    assert.ok(sandbox !== undefined);
    const db = uniqueDbName('maxlag');
    await seed(db, 200);
    const progress: DeltaEvents['change:progress'][] = [];
    sandbox.faults.replicationLag(1500);
    const caughtUp = setTimeout(() => sandbox.faults.replicationLag(0), 400);
    try {
      const result = await commit(db, backfill({ batchSize: 100 }), progress, 300);
      assert.equal(result.error, undefined);
    } finally {
      clearTimeout(caughtUp);
      sandbox.faults.replicationLag(0);
    }
    assert.match(progress.find((e) => e.paused !== undefined)?.paused?.reason ?? '', /above maxReplicationLagMs 300$/);
    await everyDocumentOnce(db, 200);
  });

  it('refuses pacing options that are not numbers, naming them', async () => {
    const db = uniqueDbName('pacing_bad');
    await seed(db, 10);
    for (const [options, message] of [
      [{ batchSize: 'big' }, /batchSize must be a positive whole number, or 'auto'/],
      [{ batchSize: 'auto', targetBatchMs: 0 }, /targetBatchMs must be a positive number of milliseconds/],
      [{ batchSize: 10, throttle: { maxReplicationLagMs: -1 } }, /throttle\.maxReplicationLagMs must be a number of milliseconds, 0 or more/],
    ] as const) {
      const result = await commit(db, backfill(options as unknown as BatchOptions));
      assert.match(result.error?.message ?? '', message);
    }
    assert.equal(
      await fixture.client
        .db(db)
        .collection('items')
        .countDocuments({ seen: { $exists: true } }),
      0,
      'nothing was walked',
    );
  });
});

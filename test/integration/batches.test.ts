// ctx.batches through createDelta(): a walk that fails part-way resumes from its checkpoint, the
// non-transactional path, progress events, and the declarations it needs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeltaEvents } from '../../src/index.js';
import { ObjectId } from 'mongodb';
import { ChangeFileError, createDelta } from '../../src/index.js';
import { seedItems } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

const seed = (db: string, count: number) => seedItems(fixture.client, db, count);

async function commit(db: string, changes: ChangeDefinition[], progress: DeltaEvents['change:progress'][] = []) {
  const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes, env: {} });
  delta.on('change:progress', (e) => progress.push(e));
  try {
    return await delta.commit();
  } finally {
    await delta.close();
  }
}

/** Marks visited documents (`seen` +1) in batches of 100; throws after `failAfter` batches of this run. */
function backfill(options: { failAfter?: number; transaction?: 'never' } = {}): ChangeDefinition {
  let batchesThisRun = 0;
  return {
    id: '001_backfill',
    batches: true,
    ...(options.transaction === undefined ? {} : { transaction: options.transaction }),
    async commit({ db, batches }) {
      await batches('items', { batchSize: 100, sort: -1 }, async (docs, { session }) => {
        if (options.failAfter !== undefined && batchesThisRun === options.failAfter) throw new Error('disk full');
        batchesThisRun += 1;
        await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { seen: 1 } }, { session });
      });
    },
    // Present, yet not called to compensate: the checkpoint is how a batched change recovers.
    async rollback({ db }) {
      await db.collection('items').updateMany({}, { $unset: { seen: '' } });
    },
  };
}

const seenCounts = async (db: string) => {
  const items = fixture.client.db(db).collection('items');
  return { once: await items.countDocuments({ seen: 1 }), more: await items.countDocuments({ seen: { $gt: 1 } }) };
};

describe('ctx.batches', () => {
  for (const transaction of [undefined, 'never'] as const) {
    it(`a walk that fails part-way is recorded failed with its checkpoint, not compensated, and the next commit resumes it (${transaction ?? 'per-batch transactions'})`, async () => {
      const db = uniqueDbName('batches');
      await seed(db, 1000);
      const failed = await commit(db, [backfill({ failAfter: 3, transaction })]);
      assert.equal(failed.outcome, 'failed');
      assert.match(failed.error?.message ?? '', /001_backfill failed: disk full/);
      const record = await fixture.client
        .db(db)
        .collection('delta_migrations')
        .findOne({ _id: '001_backfill' as never });
      assert.equal(record?.status, 'failed');
      assert.deepEqual(
        (record?.checkpoints as { walk: string; lastId: number; done: number; complete: boolean }[]).map((c) => [c.walk, c.lastId, c.done, c.complete]),
        [['items', 700, 300, false]],
      );
      assert.deepEqual(await seenCounts(db), { once: 300, more: 0 });

      const progress: DeltaEvents['change:progress'][] = [];
      const resumed = await commit(db, [backfill({ transaction })], progress);
      assert.equal(resumed.outcome, 'success', resumed.error?.message);
      assert.deepEqual(await seenCounts(db), { once: 1000, more: 0 });
      assert.deepEqual(
        progress.map((p) => [p.done, p.batches, p.complete]),
        [...[400, 500, 600, 700, 800, 900].map((done) => [done, done / 100, false]), [1000, 10, false], [1000, 10, true]],
      );
      // Counted once when the walk resumed (700 left), less what was done since; an estimate of time left with each.
      assert.deepEqual(
        progress.map((p) => p.remaining),
        [600, 500, 400, 300, 200, 100, 0, 0],
      );
      assert.ok(progress.filter((p) => !p.complete && p.remaining > 0).every((p) => typeof p.etaSeconds === 'number' && p.etaSeconds >= 1));
      const applied = await fixture.client
        .db(db)
        .collection('delta_migrations')
        .findOne({ _id: '001_backfill' as never });
      assert.equal(applied?.status, 'applied');
      assert.equal(applied?.transactional, false);
      assert.equal(applied?.checkpoints, undefined);
    });
  }

  it('refuses ctx.batches in a change that does not declare batches: true', async () => {
    const db = uniqueDbName('batches');
    await seed(db, 10);
    const result = await commit(db, [
      {
        id: '001_undeclared',
        async commit({ batches }) {
          await batches('items', { batchSize: 5 }, () => undefined);
        },
      },
    ]);
    assert.equal(result.outcome, 'failed');
    assert.match(result.error?.message ?? '', /001_undeclared calls ctx.batches but does not declare batches: true/);
  });

  it("refuses batches: true with transaction: 'always' before touching the database", async () => {
    const db = uniqueDbName('batches');
    await assert.rejects(
      commit(db, [{ id: '001_both', batches: true, transaction: 'always', commit: () => undefined }]),
      (error: unknown) => error instanceof ChangeFileError && /batches: true runs each batch in its own transaction/.test(error.message),
    );
    assert.deepEqual(await fixture.client.db(db).listCollections().toArray(), []);
  });

  it('walks past the end of each _id type (numbers, strings, ObjectIds, dates), up and down, and resumes across a type boundary', async () => {
    // $gt/$lt match only their bound's own BSON type: a walk must not stop at the last number.
    const ids: unknown[] = [3, 1, 2.5, 'b', 'a', new ObjectId('650000000000000000000001'), new ObjectId('650000000000000000000002'), new Date(5), new Date(1), true];
    for (const sort of [1, -1] as const) {
      const db = uniqueDbName('mixedids');
      await fixture.client
        .db(db)
        .collection('items')
        .insertMany(ids.map((_id) => ({ _id })) as never);
      let failures = 1;
      const walk: ChangeDefinition = {
        id: '001_mixed',
        batches: true,
        async commit({ db: target, batches }) {
          await batches('items', { batchSize: 3, sort }, async (docs, { session }) => {
            await target.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { seen: 1 } }, { session });
            // Fails once, in the batch after the one that ends the numbers going up (the booleans going
            // down): the checkpoint is the last of its type, and the next run resumes from there.
            if (failures > 0 && docs.some((d) => d._id === (sort === 1 ? 'a' : 'b'))) {
              failures -= 1;
              throw new Error('stop at the boundary');
            }
          });
        },
      };
      assert.equal((await commit(db, [walk])).outcome, 'failed');
      assert.equal((await commit(db, [walk])).outcome, 'success');
      const docs = await fixture.client.db(db).collection('items').find({}).toArray();
      assert.equal(docs.length, ids.length);
      assert.deepEqual(
        docs.filter((d) => d.seen !== 1).map((d) => d._id),
        [],
        `sort ${sort}: every document once`,
      );
    }
  });
});

// ctx.batches with `concurrency`: how the `_id` space is split (empty collections, fewer documents
// than ranges, `_id`s of several BSON types, a filter), ranges walked side by side, a walk that
// fails part-way resuming every range from its own checkpoint over the same split, the rollback
// walk, descending order, the SQLite tracker, and bad `concurrency` values refused.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Decimal128, Double, Int32, Long, ObjectId } from 'mongodb';
import type { Document } from 'mongodb';
import type { DeltaEvents } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { rangeBounds, splitRanges } from '../../src/runner/batch-ranges.js';
import { seedItems } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { tempProject } from '../helpers/temp.js';
import type { BatchOptions, ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

async function run(db: string, change: ChangeDefinition, action: 'commit' | 'rollback' = 'commit', progress: DeltaEvents['change:progress'][] = [], tracker?: { sqlite: string }) {
  const config = tracker === undefined ? { uri: fixture.server.uri, db } : { uri: fixture.server.uri, db, tracker: { uri: `sqlite:${tracker.sqlite}` } };
  const delta = createDelta({ config, changes: [change], env: {} });
  delta.on('change:progress', (e) => progress.push(e));
  try {
    return action === 'commit' ? await delta.commit() : await delta.rollback();
  } finally {
    await delta.close();
  }
}

/** Marks each visited document (`seen` +1, in the batch's transaction); throws in the batch after `failAfter` of this run. */
function backfill(options: Partial<BatchOptions> & { failAfter?: number; onBatch?: (docs: Document[], range: number | undefined) => void } = {}): ChangeDefinition {
  const { failAfter, onBatch, ...walk } = options;
  let batchesThisRun = 0;
  return {
    id: '001_backfill',
    batches: true,
    async commit({ db, batches, log }) {
      const result = await batches('items', { batchSize: 50, concurrency: 4, ...walk }, async (docs, { session, range }) => {
        if (failAfter !== undefined && batchesThisRun >= failAfter) throw new Error('disk full');
        batchesThisRun += 1;
        onBatch?.(docs, range);
        await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { seen: 1 } }, { session });
      });
      log(JSON.stringify(result));
    },
    async rollback({ db, batches }) {
      await batches('items', { batchSize: 50, concurrency: 4 }, async (docs, { session }) => {
        await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $unset: { seen: '' } }, { session });
      });
    },
  };
}

const items = (db: string) => fixture.client.db(db).collection('items');
const record = (db: string) =>
  fixture.client
    .db(db)
    .collection('delta_migrations')
    .findOne({ _id: '001_backfill' as never });
const rangeDocs = (db: string) => fixture.client.db(db).collection('delta_migrations_checkpoints').find({}).toArray();
const everyDocumentOnce = async (db: string, count: number) => {
  assert.equal(await items(db).countDocuments({ seen: 1 }), count);
  assert.equal(await items(db).countDocuments({ seen: { $ne: 1 } }), 0);
};

/** The documents each range of `bounds` holds: together every document, each in one range. */
async function coverage(db: string, bounds: readonly unknown[]): Promise<number[]> {
  return Promise.all(Array.from({ length: bounds.length + 1 }, (_, range) => items(db).countDocuments(rangeBounds(bounds, range))));
}

describe('ctx.batches ranges: the split', () => {
  it('an empty collection and a single document make no split; fewer documents than ranges make one range each', async () => {
    const db = uniqueDbName('split_small');
    assert.deepEqual((await splitRanges(items(db), undefined, 16)).bounds, []);
    await items(db).insertOne({ _id: 'only' as never });
    assert.deepEqual((await splitRanges(items(db), undefined, 16)).bounds, []);
    await items(db).insertMany([{ _id: 'b' as never }, { _id: 'c' as never }]);
    const bounds = (await splitRanges(items(db), undefined, 16)).bounds;
    assert.deepEqual(bounds, ['c', 'only']);
    assert.deepEqual(await coverage(db, bounds), [1, 1, 1]);
  });

  it('ObjectIds, numbers of every numeric type, and strings split into ranges that cover each document once', async () => {
    const db = uniqueDbName('split_types');
    const ids = Array.from({ length: 400 }, () => new ObjectId());
    await items(db).insertMany(ids.map((_id) => ({ _id })));
    const oids = (await splitRanges(items(db), undefined, 8)).bounds;
    assert.equal(oids.length, 7);
    assert.ok(oids.every((b) => b instanceof ObjectId));
    assert.deepEqual(await coverage(db, oids), [50, 50, 50, 50, 50, 50, 50, 50]);

    const numbers = uniqueDbName('split_numbers');
    const numeric = (i: number) => [new Int32(i), new Double(i + 0.5), Long.fromNumber(i * 1000), Decimal128.fromString(`${i}.75`)][i % 4];
    await items(numbers).insertMany(Array.from({ length: 400 }, (_, i) => ({ _id: numeric(i) as never })));
    const numberBounds = (await splitRanges(items(numbers), undefined, 4)).bounds;
    assert.equal(numberBounds.length, 3);
    assert.equal(
      (await coverage(numbers, numberBounds)).reduce((a, b) => a + b),
      400,
    );
  });

  it("_ids of several type classes (ObjectIds and numbers) make no split: $gte/$lt bounds of one class never match the other's", async () => {
    const db = uniqueDbName('split_mixed');
    await items(db).insertMany([...Array.from({ length: 100 }, (_, i) => ({ _id: i as never })), ...Array.from({ length: 100 }, () => ({ _id: new ObjectId() }))]);
    assert.deepEqual((await splitRanges(items(db), undefined, 8)).bounds, []);
    // Numbers only, once the filter leaves the ObjectIds out.
    assert.equal((await splitRanges(items(db), { _id: { $type: 'number' } }, 4)).bounds.length, 3);
  });

  it('a range is half-open, the first open below and the last open above', () => {
    assert.deepEqual(rangeBounds([10, 20], 0), { _id: { $lt: 10 } });
    assert.deepEqual(rangeBounds([10, 20], 1), { _id: { $gte: 10, $lt: 20 } });
    assert.deepEqual(rangeBounds([10, 20], 2), { _id: { $gte: 20 } });
    assert.deepEqual(rangeBounds([], 0), {});
  });
});

describe('ctx.batches ranges: the walk', () => {
  it('walks up to `concurrency` ranges at once, each document once, and leaves no range checkpoint', async () => {
    const db = uniqueDbName('ranges_walk');
    await seedItems(fixture.client, db, 2000);
    const change = backfill();
    const progress: DeltaEvents['change:progress'][] = [];
    const result = await run(db, change, 'commit', progress);
    assert.equal(result.error, undefined);
    await everyDocumentOnce(db, 2000);
    assert.ok(
      progress.some((p) => (p.ranges?.running ?? 0) > 1),
      'more than one range was walked at a time',
    );
    const last = progress.at(-1);
    assert.deepEqual([last?.done, last?.complete, last?.ranges?.total, last?.ranges?.complete], [2000, true, 16, 16]);
    assert.ok(
      progress.every((p, i) => i === 0 || p.done >= (progress[i - 1]?.done ?? 0)),
      'done only grows',
    );
    assert.equal((await record(db))?.status, 'applied');
    assert.equal((await record(db))?.checkpoints, undefined);
    assert.deepEqual(await rangeDocs(db), []);

    // The rollback walks in ranges too, with no checkpoint of its own.
    const rolledBack = await run(db, change, 'rollback');
    assert.equal(rolledBack.error, undefined);
    assert.equal(await items(db).countDocuments({ seen: { $exists: true } }), 0);
    assert.deepEqual(await rangeDocs(db), []);
  });

  it('a walk that fails part-way resumes every range where it stopped, over the split it started with', async () => {
    const db = uniqueDbName('ranges_resume');
    await seedItems(fixture.client, db, 2000);
    const failed = await run(db, backfill({ failAfter: 10 }));
    assert.equal(failed.outcome, 'failed');
    const saved = (await record(db))?.checkpoints as { walk: string; ranges: { split: string; bounds: number[] } }[];
    assert.equal(saved[0]?.ranges.bounds.length, 15);
    const ranges = await rangeDocs(db);
    assert.equal(ranges.length, 16);
    assert.ok(ranges.every((r) => r.split === saved[0]?.ranges.split));
    const done = ranges.reduce((sum, r) => sum + (r.done as number), 0);
    assert.equal(
      ranges.reduce((sum, r) => sum + (r.batches as number), 0),
      10,
    );
    assert.ok(ranges.filter((r) => (r.done as number) > 0).length > 1, 'several ranges had begun');
    // The batches and their range checkpoints committed together: exactly the checkpoints' documents are marked.
    assert.equal(await items(db).countDocuments({ seen: 1 }), done);

    // Documents added above the last bound belong to the last range (open above), not yet begun. Split
    // again over 2,100 documents, the last range would start near 1,969; the split it started with
    // starts it at 1,875.
    assert.equal(ranges.find((r) => (r._id as unknown as { range: number }).range === 15)?.done, 0);
    await items(db).insertMany(Array.from({ length: 100 }, (_, i) => ({ _id: 2000 + i, n: 2000 + i }) as never));
    const progress: DeltaEvents['change:progress'][] = [];
    const lastRange: number[] = [];
    const resumed = await run(db, backfill({ onBatch: (docs, range) => range === 15 && lastRange.push(...docs.map((d) => d.n as number)) }), 'commit', progress);
    assert.equal(resumed.outcome, 'success', resumed.error?.message);
    await everyDocumentOnce(db, 2100);
    assert.deepEqual([lastRange.length, Math.min(...lastRange)], [225, 1875]);
    assert.deepEqual([progress.at(-1)?.done, progress.at(-1)?.ranges?.total], [2100, 16]);
    assert.deepEqual(await rangeDocs(db), []);
    assert.equal((await record(db))?.checkpoints, undefined);
  });

  it('walks each range in descending order with sort: -1, the ranges from the top', async () => {
    const db = uniqueDbName('ranges_desc');
    await seedItems(fixture.client, db, 400);
    const order = new Map<number, number[]>();
    const result = await run(db, backfill({ sort: -1, concurrency: 2, onBatch: (docs, range) => order.set(range ?? -1, [...(order.get(range ?? -1) ?? []), ...docs.map((d) => d.n as number)]) }));
    assert.equal(result.error, undefined);
    await everyDocumentOnce(db, 400);
    assert.equal(order.size, 8);
    for (const ids of order.values())
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => b - a),
      );
  });

  it('keeps range checkpoints in the SQLite tracker and resumes from them', async () => {
    const db = uniqueDbName('ranges_sqlite');
    await seedItems(fixture.client, db, 600);
    const folder = tempProject();
    try {
      const sqlite = join(folder.dir, 'delta.sqlite');
      assert.equal((await run(db, backfill({ failAfter: 5 }), 'commit', [], { sqlite })).outcome, 'failed');
      // Ranges of 600 / 16 documents, 50 at a time: five batches cover less than 250 documents.
      const marked = await items(db).countDocuments({ seen: 1 });
      assert.ok(marked > 0 && marked < 600, `${marked} documents marked`);
      assert.equal((await run(db, backfill(), 'commit', [], { sqlite })).outcome, 'success');
      await everyDocumentOnce(db, 600);
    } finally {
      folder.cleanup();
    }
  });

  it('refuses a concurrency that is not a positive whole number, naming the change and the option', async () => {
    const db = uniqueDbName('ranges_bad');
    await seedItems(fixture.client, db, 10);
    for (const concurrency of [0, 'x', 1.5, -2]) {
      const result = await run(db, backfill({ concurrency: concurrency as number }));
      assert.match(result.error?.message ?? '', /001_backfill: ctx\.batches: concurrency must be a positive whole number, got /);
    }
    assert.equal(await items(db).countDocuments({ seen: { $exists: true } }), 0, 'nothing was walked');
  });
});

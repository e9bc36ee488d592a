// A backfill with `concurrency: 4` through the CLI: killed with SIGKILL while four `_id` ranges are
// being walked at once, then resumed by the next commit; every document is touched exactly once and
// no range checkpoint is left. `npm test` walks 20,000 documents; DELTA_STRESS=1 walks 200,000.
// Bad `concurrency` values exit 2 naming the change and the option, with the documents untouched.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { STRESS } from '../helpers/stress.js';

const fixture = useServer();

const DOCUMENTS = STRESS ? 200_000 : 20_000;
const BATCH = STRESS ? 500 : 100;
/** 16 ranges of DOCUMENTS / 16, BATCH at a time: 13 batches each (25 under stress); the run stalls after about 40% of them. */
const STALL_AFTER = STRESS ? 160 : 80;

/**
 * Touches each document it visits (`touched` +1 in the batch's transaction). With STALL_AFTER set,
 * once this run has done that many batches, each range walker stops inside its next batch of a
 * range it has begun, before writing anything (its transaction has only read), and says so: the
 * test kills the process once all four have stopped, with four ranges half done.
 */
const BACKFILL = `export default {
  batches: true,
  description: 'touch every item, four ranges at a time',
  async commit({ db, batches, log }) {
    const stallAfter = Number(process.env.STALL_AFTER ?? 0);
    let batchesThisRun = 0;
    const result = await batches('items', { batchSize: ${BATCH}, concurrency: 4 }, async (docs, { session, batch, range }) => {
      if (stallAfter > 0 && batchesThisRun >= stallAfter && batch >= 1) {
        log('stalled in range ' + range);
        await new Promise(() => undefined);
      }
      batchesThisRun += 1;
      await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { touched: 1 } }, { session });
    });
    log('walk over: resumed=' + result.resumed + ' ranges=' + result.ranges + ' thisRun=' + result.doneThisRun + ' total=' + result.done);
  },
};
`;

const badBackfill = (concurrency: string) => `export default {
  batches: true,
  async commit({ db, batches }) {
    await batches('items', { batchSize: 10, concurrency: ${concurrency} }, async (docs, { session }) => {
      await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { touched: 1 } }, { session });
    });
  },
};
`;

async function seed(db: string, count: number): Promise<void> {
  const items = fixture.client.db(db).collection('items');
  for (let start = 0; start < count; start += 50_000) {
    const end = Math.min(count, start + 50_000);
    await items.insertMany(Array.from({ length: end - start }, (_, i) => ({ _id: (start + i) as never, n: start + i })));
  }
}

describe('parallel backfill (CLI)', () => {
  it(`killed while four ranges are walked at once, resumed: each of ${DOCUMENTS} documents touched exactly once`, { timeout: STRESS ? 180_000 : 60_000 }, async () => {
    const db = uniqueDbName('parallel');
    await seed(db, DOCUMENTS);
    const p = fixture.project({ 'migrations/001_touch.mjs': BACKFILL });
    const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };
    const items = fixture.client.db(db).collection<{ _id: number; touched?: number }>('items');

    const killed = await runCli(['commit'], {
      cwd: p.dir,
      env: { ...env, STALL_AFTER: String(STALL_AFTER) },
      onOutput: ({ stdout }, kill) => {
        if ((stdout.match(/stalled in range/g) ?? []).length === 4) kill('SIGKILL');
      },
    });
    assert.equal(killed.signal, 'SIGKILL', killed.stdout + killed.stderr);
    assert.equal((await runCli(['unlock', '--force'], { cwd: p.dir, env })).code, 0);

    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_touch' as never });
    assert.equal(record?.status, 'running');
    const [walk] = record?.checkpoints as { walk: string; complete: boolean; ranges: { split: string; bounds: number[] } }[];
    assert.equal(walk?.walk, 'items');
    assert.equal(walk.complete, false);
    assert.equal(walk.ranges.bounds.length, 15);
    const ranges: Document[] = await fixture.client.db(db).collection('delta_migrations_checkpoints').find({}).toArray();
    assert.equal(ranges.length, 16);
    assert.ok(ranges.every((r) => r.split === walk.ranges.split));
    const inProgress = ranges.filter((r) => (r.done as number) > 0 && r.complete === false);
    assert.equal(inProgress.length, 4, `four ranges were being walked at the kill: ${JSON.stringify(ranges.map((r) => [r.done, r.complete]))}`);
    // Each batch and its range's checkpoint committed together: the checkpoints count exactly the touched documents.
    const done = ranges.reduce((sum, r) => sum + (r.done as number), 0);
    assert.ok(done > 0 && done < DOCUMENTS);
    assert.equal(await items.countDocuments({ touched: 1 }), done);
    assert.equal(await items.countDocuments({ touched: { $gt: 1 } }), 0);

    const resumed = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`walk over: resumed=true ranges=16 thisRun=${DOCUMENTS - done} total=${DOCUMENTS}`));
    assert.match(resumed.stdout, new RegExp(`001_touch: items ${DOCUMENTS} documents, \\d+ batches of ${BATCH}, ranges 16/16 done, 0 walking, \\d+ docs/s, done`));

    assert.equal(await items.countDocuments({ touched: 1 }), DOCUMENTS);
    assert.equal(await items.countDocuments({ touched: { $ne: 1 } }), 0);
    const applied = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_touch' as never });
    assert.equal(applied?.status, 'applied');
    assert.equal(applied?.checkpoints, undefined);
    assert.equal(await fixture.client.db(db).collection('delta_migrations_checkpoints').countDocuments(), 0);
    const status = await runCli(['status'], { cwd: p.dir, env });
    assert.match(status.stdout, /^applied\s+001_touch/m);
    assert.doesNotMatch(status.stdout, /checkpoint/);
  });

  for (const concurrency of ['0', "'x'", '1.5']) {
    it(`concurrency: ${concurrency} exits 2 naming the change and the option; no document is touched`, async () => {
      const db = uniqueDbName('parallel_bad');
      await seed(db, 50);
      const before = (await snapshotDatabase(fixture.client, db)).items;
      const p = fixture.project({ 'migrations/001_bad.mjs': badBackfill(concurrency) });
      const result = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' } });
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(result.stderr, /001_bad failed: 001_bad: ctx\.batches: concurrency must be a positive whole number, got /);
      const after = await snapshotDatabase(fixture.client, db);
      assert.deepEqual(after.items, before);
      assert.equal(after.delta_migrations_checkpoints, undefined, 'no range checkpoint was written');
    });
  }
});

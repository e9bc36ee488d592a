// Batched backfills through the CLI: a walk killed after its first batch (SIGKILL) resumes from its checkpoint
// on the next commit, and every document is done exactly once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, runCliSignalledAt } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** Marks each document of `items` it visits (`seen` +1, in the batch's transaction) and logs each batch. */
const BACKFILL = `export default {
  batches: true,
  description: 'backfill seen on items',
  async commit({ db, batches, log }) {
    const result = await batches('items', { filter: { kind: 'order' }, batchSize: 500, throttleMs: Number(process.env.THROTTLE_MS ?? 0) }, async (docs, { session, batch }) => {
      await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { seen: 1 } }, { session });
      log('batch ' + batch + ' written');
    });
    log('walk over: resumed=' + result.resumed + ' thisRun=' + result.doneThisRun + ' total=' + result.done);
  },
  async rollback({ db }) {
    await db.collection('items').updateMany({}, { $unset: { seen: '' } });
  },
};
`;

describe('batched backfill (CLI)', () => {
  it('killed after a batch, the next commit resumes from the checkpoint: every document done exactly once, then applied', async () => {
    const db = uniqueDbName('backfill');
    const items = fixture.client.db(db).collection<{ _id: number; kind: string; seen?: number }>('items');
    // 5,000 orders to walk and 100 other documents the filter leaves alone.
    await items.insertMany(Array.from({ length: 5100 }, (_, i) => ({ _id: i, kind: i % 51 === 50 ? 'note' : 'order' })));
    const orders = await items.countDocuments({ kind: 'order' });
    assert.equal(orders, 5000);
    const p = fixture.project({ 'migrations/001_backfill.mjs': BACKFILL });
    const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };

    // Killed in the pause after the first batch's transaction committed (a real server would keep a
    // transaction abandoned mid-batch open for up to a minute, and the resumed run would wait on it).
    const killed = await runCliSignalledAt(['commit'], 'items 500 documents, 1 batches', 'SIGKILL', { cwd: p.dir, env: { ...env, THROTTLE_MS: '2000' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal((await runCli(['unlock', '--force'], { cwd: p.dir, env })).code, 0);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_backfill' as never });
    assert.equal(record?.status, 'running');
    assert.equal(record?.batches, true);
    const [checkpoint] = record?.checkpoints as { walk: string; lastId: number; done: number; batches: number; complete: boolean }[];
    assert.equal(checkpoint?.walk, 'items');
    assert.equal(checkpoint.done, 500);
    assert.equal(checkpoint.batches * 500, checkpoint.done);
    // The checkpoint and the batches' writes committed together: exactly the checkpoint's documents are marked.
    assert.equal(await items.countDocuments({ seen: 1 }), checkpoint.done);
    assert.equal(await items.countDocuments({ _id: { $lte: checkpoint.lastId }, kind: 'order', seen: { $exists: false } }), 0);

    // Interrupted, but resumable by design: status shows it running without blocking commit.
    const status = await runCli(['status'], { cwd: p.dir, env });
    assert.match(status.stdout, /^running\s+001_backfill/m);
    assert.doesNotMatch(status.stdout, /blocks commit/);

    const resumed = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`walk over: resumed=true thisRun=${5000 - checkpoint.done} total=5000`));
    assert.match(resumed.stdout, /001_backfill: items 5000 documents, 10 batches of 500, \d+ docs\/s, done/);
    assert.doesNotMatch(resumed.stdout, new RegExp(`batch ${checkpoint.batches - 1} written`));

    assert.equal(await items.countDocuments({ seen: 1 }), 5000);
    assert.equal(await items.countDocuments({ seen: { $gt: 1 } }), 0);
    assert.equal(await items.countDocuments({ kind: 'note', seen: { $exists: true } }), 0);
    const applied = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_backfill' as never });
    assert.equal(applied?.status, 'applied');
    assert.equal(applied?.checkpoints, undefined);
  });
});

// Ctrl-C during a run, as a user presses it: the current change's transaction is aborted, the
// interruption is recorded, the lock is released and the process exits 130.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCliSignalledAt } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const FAST = `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: 'fast' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: 'fast' }, { session }); },
};
`;

/**
 * Writes, says so, then waits: in a transaction for a minute (it is abandoned on Ctrl-C), without
 * one for 1.5 s ignoring its signal (such a change cannot be stopped midway, so it finishes).
 */
function slow(transaction: 'auto' | 'never'): string {
  return `export default {
  transaction: '${transaction}',
  async commit({ db, session, log }) {
    await db.collection('effects').insertOne({ _id: 'slow' }, { session });
    log('waiting');
    await new Promise((resolve) => setTimeout(resolve, ${transaction === 'never' ? 1500 : 60_000}));
  },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: 'slow' }, { session }); },
};
`;
}

function project(slowChange: string) {
  const p = fixture.project({
    'package.json': JSON.stringify({ name: 'app', type: 'module' }),
    'migrations/001_fast.js': FAST,
    'migrations/002_slow.js': slowChange,
    'migrations/003_never_reached.js': FAST.replaceAll("'fast'", "'third'"),
  });
  return p;
}

const uriFor = (db: string) => fixture.uriFor(db);

async function effects(db: string): Promise<string[]> {
  return (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).sort({ _id: 1 }).toArray()).map((d) => d._id);
}

describe('Ctrl-C during commit', () => {
  it('aborts the running transaction with the changes that shared it, records the interruption, releases the lock, exits 130', async () => {
    const db = uniqueDbName('sigint');
    const p = project(slow('auto'));
    const result = await runCliSignalledAt(['commit', '--path', './migrations'], '002_slow: waiting', 'SIGINT', { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /002_slow was interrupted and its transaction aborted, with 001_fast, which shared it: none of them is applied/);
    assert.doesNotMatch(result.stdout, /✓|applied 001_fast/, 'no change was reported applied');
    assert.deepEqual(await effects(db), [], 'the aborted transaction left nothing of either change');
    const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status]),
      [['002_slow', 'failed']],
    );
    assert.match(String(records[0]?.error?.message), /interrupted/);
    assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments({}), 0, 'the lock was released');
  });

  it('with groupTransactions off, only the running change is aborted: the one before it stays applied', async () => {
    const db = uniqueDbName('sigint');
    const p = project(slow('auto'));
    writeFileSync(join(p.dir, 'delta.config.json'), JSON.stringify({ groupTransactions: false }));
    const result = await runCliSignalledAt(['commit', '--path', './migrations'], '002_slow: waiting', 'SIGINT', { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /002_slow was interrupted and its transaction aborted/);
    assert.deepEqual(await effects(db), ['fast'], 'the aborted transaction left nothing of 002_slow');
    const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status]),
      [
        ['001_fast', 'applied'],
        ['002_slow', 'failed'],
      ],
    );
    assert.match(String(records[1]?.error?.message), /interrupted/);
    assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments({}), 0, 'the lock was released');
  });

  it('without a transaction the change finishes, is recorded applied, and the run stops before the next one', async () => {
    const db = uniqueDbName('sigint');
    const p = project(slow('never'));
    const result = await runCliSignalledAt(['commit', '--path', './migrations'], '002_slow: waiting', 'SIGINT', { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /interrupted/);
    assert.deepEqual(await effects(db), ['fast', 'slow']);
    const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status]),
      [
        ['001_fast', 'applied'],
        ['002_slow', 'applied'],
      ],
      'the running change finished and nothing new started',
    );
    assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments({}), 0, 'the lock was released');
  });
});

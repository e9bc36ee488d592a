// Recovery after failures, through the CLI (issue #20 items 5-7): a rollback that failed without a
// transaction blocks further rollbacks (exit 4) until its rollback runs again or repair marks it
// checked, with the same advice from rollback, commit and validate; rollback reverts in the
// reverse of the order changes were applied (after --out-of-order too), and --dry-run shows it;
// a change a filter left pending stays pending (no "out of order"), while a file added later is.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** Inserts `{ _id: <id> }` into `effects`; rollback deletes it. `head` goes at the top of the object. */
function change(id: string, head = ''): string {
  return `export default {${head}
  async commit({ db }) { await db.collection('effects').insertOne({ _id: '${id}' }); },
  async rollback({ db }) { await db.collection('effects').deleteOne({ _id: '${id}' }); },
};
`;
}

function setup(files: Record<string, string>, prefix: string) {
  const p = fixture.project(files);
  const db = uniqueDbName(prefix);
  const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };
  const delta = (args: string[], extra: Record<string, string> = {}) => runCli(args, { cwd: p.dir, env: { ...env, ...extra } });
  const states = async () => Object.fromEntries((await fixture.client.db(db).collection('delta_migrations').find({}).toArray()).map((r) => [String(r._id), r.status as string]));
  const effects = async () => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).toArray()).map((d) => d._id).sort();
  const snapshot = async () => {
    const all = await snapshotDatabase(fixture.client, db);
    delete all.delta_lock;
    return all;
  };
  return { p, db, delta, states, effects, snapshot };
}

const HALF_ROLLBACK = `export default {
  transaction: 'never',
  async commit({ db }) {
    await db.collection('effects').insertMany([{ _id: '002_b' }, { _id: '002_b:extra' }]);
  },
  async rollback({ db }) {
    await db.collection('effects').deleteOne({ _id: '002_b:extra' });
    if (!process.env.FIXED) throw new Error('index still in use');
    await db.collection('effects').deleteOne({ _id: '002_b' });
  },
};
`;

describe('failure recovery (CLI)', () => {
  it('a half-reverted change blocks rollback past it (exit 4, both ways out), and commit and validate give the same advice; its rollback runs again with --id', async () => {
    const t = setup(
      { 'migrations/001_a.mjs': change('001_a', "\n  transaction: 'never',"), 'migrations/002_b.mjs': HALF_ROLLBACK, 'migrations/003_c.mjs': change('003_c', "\n  transaction: 'never',") },
      'halfrb',
    );
    assert.equal((await t.delta(['commit'])).code, 0);

    const failed = await t.delta(['rollback', '--to', '001_a']);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /002_b rollback failed: index still in use/);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_b': 'failed', '003_c': 'rolled_back' });
    const record = await fixture.client
      .db(t.db)
      .collection('delta_migrations')
      .findOne({ _id: '002_b' as never });
    assert.deepEqual(record?.error, { message: 'index still in use', during: 'rollback' });
    const event = await fixture.client.db(t.db).collection('delta_audit').findOne({ changeId: '002_b', action: 'rollback' });
    assert.deepEqual(event?.error, { message: 'index still in use', during: 'rollback' }, 'the audit event keeps the reason');

    const before = await t.snapshot();
    const again = await t.delta(['rollback', '--to', '001_a']);
    assert.equal(again.code, 4, again.stderr);
    assert.match(
      again.stderr,
      /002_b: its rollback failed without a transaction \(index still in use\) and may be half done, so rollback stops here\. Fix its rollback and run delta rollback --id 002_b to run it again, or check the database by hand and run delta repair/,
    );
    assert.deepEqual(await t.snapshot(), before, 'the second rollback reverted nothing past it (001_a stays applied)');

    const commit = await t.delta(['commit']);
    assert.equal(commit.code, 4);
    assert.match(commit.stderr, /002_b \(its rollback failed without a transaction and may be half done\): .*Fix its rollback and run delta rollback --id 002_b/);
    const validate = await t.delta(['validate']);
    assert.equal(validate.code, 4);
    assert.match(validate.stdout, /002_b: failed: index still in use \(its rollback failed without a transaction and may be half done: fix its rollback and run delta rollback --id 002_b/);

    // Way out 1: the rollback is fixed (the file changed: no --allow-drift needed for it) and runs again.
    t.p.write('migrations/002_b.mjs', HALF_ROLLBACK.replace("if (!process.env.FIXED) throw new Error('index still in use');", ''));
    const retried = await t.delta(['rollback', '--id', '002_b']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_b': 'rolled_back', '003_c': 'rolled_back' });
    assert.deepEqual(await t.effects(), ['001_a']);
  });

  it('repair marks a half-reverted change checked: rollbacks continue past it and commit applies it again', async () => {
    const t = setup({ 'migrations/001_a.mjs': change('001_a', "\n  transaction: 'never',"), 'migrations/002_b.mjs': HALF_ROLLBACK }, 'halfrep');
    assert.equal((await t.delta(['commit'])).code, 0);
    assert.equal((await t.delta(['rollback'])).code, 1);
    assert.equal((await t.delta(['rollback'])).code, 4);
    const repaired = await t.delta(['repair']);
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stdout, /002_b: failed in its rollback and may have left effects; checked/);
    const past = await t.delta(['rollback']);
    assert.equal(past.code, 0, past.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'rolled_back', '002_b': 'failed' });
    // The operator finishes the half-done rollback by hand (what repair's "checked" stands for).
    await fixture.client
      .db(t.db)
      .collection('effects')
      .deleteOne({ _id: '002_b' as never });
    const clean = await t.delta(['commit'], { FIXED: '1' });
    assert.equal(clean.code, 0, clean.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_b': 'applied' });
  });

  it('rollback reverts the change applied last, not the highest id; --to X reverts what was applied after X; --dry-run shows the order', async () => {
    const t = setup({ 'migrations/001_a.mjs': change('001_a'), 'migrations/003_c.mjs': change('003_c') }, 'order');
    assert.equal((await t.delta(['commit'])).code, 0);
    t.p.write('migrations/002_b.mjs', change('002_b'));
    assert.equal((await t.delta(['commit'])).code, 4, 'a file added after a newer change was applied is out of order');
    assert.equal((await t.delta(['commit', '--out-of-order'])).code, 0);
    const seqs = Object.fromEntries((await fixture.client.db(t.db).collection('delta_migrations').find({}).toArray()).map((r) => [String(r._id), r.appliedSeq as number]));
    assert.deepEqual(seqs, { '001_a': 1, '003_c': 2, '002_b': 3 });

    const dryRun = await t.delta(['rollback', '--all', '--dry-run']);
    assert.equal(dryRun.code, 0, dryRun.stderr);
    assert.match(dryRun.stdout, /newest applied first/);
    assert.match(dryRun.stdout, /1\. 002_b[^\n]*\n\s+2\. 003_c[^\n]*\n\s+3\. 001_a/);

    const one = await t.delta(['rollback']);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_b': 'rolled_back', '003_c': 'applied' }, 'the change applied last was reverted');
    assert.equal((await t.delta(['commit', '--out-of-order'])).code, 0);
    const to = await t.delta(['rollback', '--to', '003_c']);
    assert.equal(to.code, 0, to.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_b': 'rolled_back', '003_c': 'applied' }, '--to 003_c reverts only what was applied after 003_c');
  });

  it('a change a filter (--tags, --only) left pending stays pending and the next plain commit applies it; a file added later is out of order', async () => {
    const t = setup(
      {
        'migrations/001_a.mjs': change('001_a'),
        'migrations/002_billing.mjs': change('002_billing', "\n  tags: ['billing'],"),
        'migrations/003_c.mjs': change('003_c'),
        'migrations/004_d.mjs': change('004_d'),
      },
      'filters',
    );
    const billing = await t.delta(['commit', '--tags', 'billing']);
    assert.equal(billing.code, 0, billing.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'deferred', '002_billing': 'applied' }, 'what the run left out and why is recorded');
    const deferred = await fixture.client
      .db(t.db)
      .collection('delta_migrations')
      .findOne({ _id: '001_a' as never });
    assert.equal(deferred?.reason, 'left out (no tag among billing)');

    const status = await t.delta(['status', '--json']);
    const states = (JSON.parse(status.stdout) as { changes: { id: string; state: string; reason: string | null }[] }).changes;
    assert.deepEqual(
      states.map((c) => [c.id, c.state]),
      [
        ['001_a', 'pending'],
        ['002_billing', 'applied'],
        ['003_c', 'pending'],
        ['004_d', 'pending'],
      ],
    );
    assert.match(String(states[0]?.reason), /left pending by an earlier commit: left out \(no tag among billing\)/);

    const only = await t.delta(['commit', '--only', '004_d']);
    assert.equal(only.code, 0, only.stderr);
    const plain = await t.delta(['commit']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(await t.states(), { '001_a': 'applied', '002_billing': 'applied', '003_c': 'applied', '004_d': 'applied' });
    assert.deepEqual(await t.effects(), ['001_a', '002_billing', '003_c', '004_d']);

    t.p.write('migrations/0025_late.mjs', change('0025_late'));
    const late = await t.delta(['commit']);
    assert.equal(late.code, 4, late.stderr);
    assert.match(late.stderr, /0025_late is pending but older than the newest applied change 004_d; apply with --out-of-order/);
  });

  it('a promise a change did not await rejects: the change fails (recorded, audited, password starred out), the lock is released, exit 1', async () => {
    const floating = (transaction: string) => `export default {
  transaction: '${transaction}',
  async commit({ db }) {
    await db.collection('effects').insertOne({ _id: 'floating' });
    Promise.reject(new Error('lost mongodb://copier:S3cr3t@legacy.internal/app'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await db.collection('effects').insertOne({ _id: 'after' });
  },
  async rollback({ db }) { await db.collection('effects').deleteMany({ _id: { $in: ['floating', 'after'] } }); },
};
`;
    for (const transaction of ['never', 'always']) {
      const t = setup({ 'migrations/001_ok.js': change('001_ok'), 'migrations/002_floating.js': floating(transaction) }, 'unhandled');
      const result = await t.delta(['commit']);
      assert.equal(result.code, 1, `${transaction}: ${result.stderr}`);
      assert.match(result.stderr, /002_floating failed: a promise it did not await rejected: lost mongodb:\/\/copier:\*\*\*@legacy\.internal\/app/, transaction);
      assert.ok(!`${result.stdout}${result.stderr}`.includes('S3cr3t'), `${transaction}: the password is printed`);
      assert.deepEqual(await t.states(), { '001_ok': 'applied', '002_floating': 'failed' }, transaction);
      const record = await fixture.client
        .db(t.db)
        .collection('delta_migrations')
        .findOne({ _id: '002_floating' as never });
      // Without a transaction the change finished (its write after the rejection ran too), then
      // failed, and its rollback compensated; in a transaction nothing of it was applied.
      const reason = `a promise it did not await rejected: lost mongodb://copier:***@legacy.internal/app${transaction === 'never' ? ' (its rollback ran to compensate)' : ''}`;
      assert.equal(record?.error?.message, reason, transaction);
      const events = await fixture.client.db(t.db).collection('delta_audit').find({ changeId: '002_floating' }).toArray();
      assert.deepEqual(
        events.map((e) => [e.action, e.outcome, e.error?.message]),
        [['commit', 'failure', reason]],
        transaction,
      );
      assert.equal(await fixture.client.db(t.db).collection('delta_lock').countDocuments(), 0, `${transaction}: the lock is released`);
      assert.deepEqual(await t.effects(), ['001_ok'], transaction);
    }
  });
});

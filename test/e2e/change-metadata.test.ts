// Change-unit metadata through the CLI: recovery strategies, repeatable and run-always changes,
// environments and tags, the --long views, and bad metadata.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, runCliSignalledAt } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** A change that inserts `{ _id: <id> }` into `effects`; `head` goes at the top of its object. */
function change(id: string, head = ''): string {
  return `export default {${head}
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${id}' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${id}' }, { session }); },
};
`;
}

/** Without a transaction: counts its runs in `runs`, logs "waiting", then sleeps SLOW_MS (killed there, it stays `running`). */
function slowChange(head: string): string {
  return `export default {${head}
  transaction: 'never',
  async commit({ db, log }) {
    await db.collection('runs').updateOne({ _id: 'slow' }, { $inc: { n: 1 } }, { upsert: true });
    log('waiting');
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_MS ?? 0)));
  },
};
`;
}

function setup(files: Record<string, string> = {}) {
  const p = fixture.project(files);
  const db = uniqueDbName('meta');
  const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };
  const delta = (...args: string[]) => runCli(args, { cwd: p.dir, env });
  const records = async () => Object.fromEntries((await fixture.client.db(db).collection('delta_migrations').find({}).toArray()).map((r) => [String(r._id), r.status as string]));
  const effects = async () => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).toArray()).map((d) => d._id).sort();
  return { p, db, env, delta, records, effects };
}

describe('recovery strategies', () => {
  it('a change that failed without a transaction and was not undone blocks commit (exit 4) until delta repair', async () => {
    const t = setup({
      'migrations/001_a.mjs': change('001_a'),
      // No rollback, so nothing can compensate: its partial write stays.
      'migrations/002_half.mjs': `export default {
  transaction: 'never',
  async commit({ db }) {
    await db.collection('effects').insertOne({ _id: 'half' });
    if (!process.env.FIXED) throw new Error('disk full');
    await db.collection('effects').insertOne({ _id: '002_half' });
  },
};
`,
    });
    const failed = await t.delta('commit');
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /002_half failed: disk full/);

    const blocked = await t.delta('commit');
    assert.equal(blocked.code, 4);
    assert.equal(
      blocked.stderr.trim(),
      "delta: error: 002_half (failed without a transaction and nothing undid its effect): it may be half-applied, so commit stops here. Check the database by hand, then run delta repair to let it run again; or, if the change is idempotent, give it recovery: 'retry'",
    );
    const status = await t.delta('status');
    assert.match(status.stdout, /^failed\s+002_half\s.*disk full; blocks commit: failed without a transaction and nothing undid its effect/m);

    // The operator removes the half-done write, then tells delta.
    await fixture.client
      .db(t.db)
      .collection('effects')
      .deleteOne({ _id: 'half' } as never);
    const repaired = await t.delta('repair');
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.match(repaired.stdout, /002_half: failed and may have left effects; checked \(the next commit runs it again\)/);
    const rerun = await runCli(['commit'], { cwd: t.p.dir, env: { ...t.env, FIXED: '1' } });
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await t.effects(), ['001_a', '002_half', 'half']);
    assert.deepEqual(await t.records(), { '001_a': 'applied', '002_half': 'applied' });
  });

  it("a killed change with recovery: 'retry' runs again on the next commit, without repair", async () => {
    const t = setup({ 'migrations/001_slow.mjs': slowChange("\n  recovery: 'retry',") });
    const killed = await runCliSignalledAt(['commit'], '001_slow: waiting', 'SIGKILL', { cwd: t.p.dir, env: { ...t.env, SLOW_MS: '60000' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.deepEqual(await t.records(), { '001_slow': 'running' });
    assert.equal((await t.delta('unlock', '--force')).code, 0);

    const status = await t.delta('status');
    assert.match(status.stdout, /^running\s+001_slow\s/m);
    assert.doesNotMatch(status.stdout, /blocks commit/);
    const retried = await t.delta('commit');
    assert.equal(retried.code, 0, retried.stderr);
    assert.deepEqual(await t.records(), { '001_slow': 'applied' });
    const runs = await fixture.client
      .db(t.db)
      .collection('runs')
      .findOne({ _id: 'slow' } as never);
    assert.equal(runs?.n, 2, 'ran twice: once killed, once to completion');
  });

  it("the same change with the default recovery ('manual') blocks after the kill", async () => {
    const t = setup({ 'migrations/001_slow.mjs': slowChange('') });
    await runCliSignalledAt(['commit'], '001_slow: waiting', 'SIGKILL', { cwd: t.p.dir, env: { ...t.env, SLOW_MS: '60000' } });
    assert.equal((await t.delta('unlock', '--force')).code, 0);
    const blocked = await t.delta('commit');
    assert.equal(blocked.code, 4);
    assert.match(blocked.stderr, /001_slow \(interrupted: a run died during it without a transaction\).*recovery: 'retry'/);
  });
});

describe('repeatable and run-always changes', () => {
  const view = (version: number) => `export default {
  repeatable: true,
  async commit({ db, session }) {
    await db.collection('views').updateOne({ _id: 'active_users' }, { $set: { version: ${version} } }, { upsert: true, session });
  },
};
`;

  it('a repeatable change runs after the versioned ones, again exactly when edited, and each application stays in the audit log', async () => {
    // Its id sorts first, but it runs after the versioned changes.
    const t = setup({ 'migrations/000_view.mjs': view(1), 'migrations/001_a.mjs': change('001_a') });
    const first = await t.delta('commit', '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      (JSON.parse(first.stdout) as { changes: { id: string }[] }).changes.map((c) => c.id),
      ['001_a', '000_view'],
    );

    const again = await t.delta('commit');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /Nothing to do/);
    assert.match((await t.delta('status')).stdout, /^up to date\s+000_view\s.*repeatable$/m);

    t.p.write('migrations/000_view.mjs', view(2));
    const changed = await t.delta('status', '--check');
    assert.equal(changed.code, 4, 'a changed repeatable is work to do');
    assert.match(changed.stdout, /^changed\s+000_view\s/m);
    assert.equal((await t.delta('validate')).code, 0, 'an edited repeatable change is not drift');
    const reapplied = await t.delta('commit', '--json');
    assert.deepEqual(
      (JSON.parse(reapplied.stdout) as { changes: { id: string }[] }).changes.map((c) => c.id),
      ['000_view'],
    );
    assert.equal(
      (
        await fixture.client
          .db(t.db)
          .collection('views')
          .findOne({ _id: 'active_users' } as never)
      )?.version,
      2,
    );
    const applications = await fixture.client.db(t.db).collection('delta_audit').find({ changeId: '000_view', action: 'commit' }).toArray();
    assert.equal(applications.length, 2);
    assert.notEqual(applications[0]?.details?.checksum, applications[1]?.details?.checksum);
    assert.equal((await t.delta('commit')).stdout.includes('Nothing to do'), true);

    const rollback = await t.delta('rollback', '--all', '--json');
    assert.deepEqual(
      (JSON.parse(rollback.stdout) as { changes: { id: string }[] }).changes.map((c) => c.id),
      ['001_a'],
      'repeatables are not part of the version history',
    );
  });

  it('runAlways runs on every commit', async () => {
    const t = setup({
      'migrations/001_a.mjs': change('001_a'),
      'migrations/900_refresh.mjs': `export default {
  runAlways: true,
  async commit({ db, session }) { await db.collection('runs').updateOne({ _id: 'refresh' }, { $inc: { n: 1 } }, { upsert: true, session }); },
};
`,
    });
    for (let i = 0; i < 3; i += 1) assert.equal((await t.delta('commit')).code, 0);
    assert.equal(
      (
        await fixture.client
          .db(t.db)
          .collection('runs')
          .findOne({ _id: 'refresh' } as never)
      )?.n,
      3,
    );
    assert.deepEqual(await t.effects(), ['001_a']);
  });
});

describe('environments and tags', () => {
  it('--env prod skips a dev-only change (status says why); a later --env dev run applies it', async () => {
    const t = setup({
      'migrations/001_seed_test_users.mjs': change('001_seed_test_users', "\n  environments: ['dev', 'staging'],\n  author: 'ana',"),
      'migrations/002_orders.mjs': change('002_orders', "\n  tags: ['billing'],"),
    });
    const prod = await t.delta('commit', '--env', 'prod');
    assert.equal(prod.code, 0, prod.stderr);
    assert.deepEqual(await t.effects(), ['002_orders']);
    const status = await runCli(['status'], { cwd: t.p.dir, env: { ...t.env, DELTA_ENV: 'prod' } });
    assert.match(status.stdout, /^skipped\s+001_seed_test_users\s.*only for environments dev, staging \(running prod\)$/m);
    assert.match(status.stdout, /environment prod\): 2 changes \(1 applied, 1 skipped\)/);
    assert.equal((await runCli(['status', '--check'], { cwd: t.p.dir, env: { ...t.env, DELTA_ENV: 'prod' } })).code, 0, 'skipped is not behind');

    const dev = await t.delta('commit', '--env', 'dev');
    assert.equal(dev.code, 0, dev.stderr);
    assert.deepEqual(await t.effects(), ['001_seed_test_users', '002_orders']);
    const long = await t.delta('status', '--long', '--env', 'dev');
    assert.match(long.stdout, /^STATE\s+ID\s+APPLIED AT\s+DURATION\s+AUTHOR\s+TAGS\s+ENVIRONMENTS\s+REPEAT/m);
    assert.match(long.stdout, /^applied\s+001_seed_test_users\s.*\sana\s+dev,staging/m);
    const record = await fixture.client
      .db(t.db)
      .collection('delta_migrations')
      .findOne({ _id: '001_seed_test_users' } as never);
    assert.deepEqual([record?.author, record?.environments], ['ana', ['dev', 'staging']]);
    const history = await t.delta('history', '--long', '--id', '002_orders');
    assert.match(history.stdout, /commit\s+success\s+002_orders\s.*\s+billing\s/);
  });

  it('--tags runs only the changes carrying one of the tags', async () => {
    const t = setup({
      'migrations/001_a.mjs': change('001_a', "\n  tags: ['search'],"),
      'migrations/002_b.mjs': change('002_b', "\n  tags: ['billing', 'search'],"),
      'migrations/003_c.mjs': change('003_c'),
    });
    const billing = await t.delta('commit', '--tags', 'billing');
    assert.equal(billing.code, 0, billing.stderr);
    assert.deepEqual(await t.effects(), ['002_b']);
    const rest = await t.delta('commit');
    assert.equal(rest.code, 0, rest.stderr);
    assert.deepEqual(await t.effects(), ['001_a', '002_b', '003_c']);
  });
});

describe('bad metadata', () => {
  const cases: [string, Record<string, string>, string[], RegExp][] = [
    ['an unknown recovery value', { 'migrations/001_x.mjs': change('001_x', "\n  recovery: 'sometimes',") }, ['commit'], /^delta: error: 001_x\.mjs: recovery: expected 'manual' or 'retry'$/],
    ['tags that are not a list', { 'migrations/001_x.mjs': change('001_x', "\n  tags: 'billing',") }, ['commit'], /^delta: error: 001_x\.mjs: tags: expected a list of tag names/],
    [
      'an environment name with a space',
      { 'migrations/001_x.mjs': change('001_x', "\n  environments: ['prod east'],") },
      ['commit'],
      /^delta: error: 001_x\.mjs: environments\[0\]: expected environment names of letters/,
    ],
    ['repeatable that is not a boolean', { 'migrations/001_x.mjs': change('001_x', "\n  repeatable: 'yes',") }, ['status'], /^delta: error: 001_x\.mjs: repeatable: expected true or false$/],
    [
      'a template with tags as a number',
      { 'migrations/001_x.yaml': 'tags: 5\ncommit:\n  - dropCollection: { name: a }\n' },
      ['commit'],
      /^delta: error: 001_x\.yaml:1: tags: expected a list of tag names/,
    ],
    ['an --env with a space', { 'migrations/001_x.mjs': change('001_x') }, ['commit', '--env', 'prod east'], /^delta: error: --env must be an environment name/],
    ['a --tags list with a space', { 'migrations/001_x.mjs': change('001_x') }, ['commit', '--tags', 'a,b c'], /--tags/],
  ];
  for (const [name, files, args, expected] of cases) {
    it(`${name}: one line naming it, exit 2, nothing written`, async () => {
      const t = setup(files);
      const before = await snapshotDatabase(fixture.client, t.db);
      const result = await t.delta(...args);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr.trim(), expected);
      assert.deepEqual(await snapshotDatabase(fixture.client, t.db), before);
    });
  }
});

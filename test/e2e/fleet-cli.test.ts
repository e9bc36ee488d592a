// Fleets through the CLI: commit/status over many target databases picked by glob, list or @file,
// a failing target that does not stop the others, --fail-fast, and bad --targets specs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { sandboxOnly, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** Inserts `{ _id: <id> }` into `effects`; 002 fails on the database named in FAIL_DB. */
const CHANGES = {
  'migrations/001_schema.mjs': `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '001_schema' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '001_schema' }, { session }); },
};
`,
  'migrations/002_data.mjs': `export default {
  async commit({ db, session }) {
    await db.collection('effects').insertOne({ _id: '002_data' }, { session });
    if ((process.env.FAIL_DB ?? '').split(',').includes(db.databaseName)) throw new Error('bad tenant data');
  },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '002_data' }, { session }); },
};
`,
};

/** `count` tenant databases `<prefix>_a`, `_b`... that exist (one customer each), so a glob finds them. */
async function tenants(count: number): Promise<{ prefix: string; names: string[] }> {
  const prefix = uniqueDbName('fleet');
  const names = Array.from({ length: count }, (_, i) => `${prefix}_${String.fromCharCode(97 + i)}`);
  for (const name of names) await fixture.client.db(name).collection('customers').insertOne({ name });
  return { prefix, names };
}

const effects = async (db: string) => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).toArray()).map((d) => d._id).sort();

function cli(dir: string, extra: Record<string, string> = {}) {
  return (...args: string[]) => runCli(args, { cwd: dir, env: { DELTA_URI: fixture.server.uri, DELTA_PATH: './migrations', ...extra } });
}

describe('fleet commit and status (CLI)', () => {
  it('applies to every tenant of a glob; one failing target does not stop the others, and a second run finishes only what is pending', async () => {
    const { prefix, names } = await tenants(5);
    const [a, , c] = names as [string, string, string, string, string];
    const p = fixture.project(CHANGES);
    const failing = cli(p.dir, { FAIL_DB: c });

    const first = await failing('commit', '--targets', `${prefix}_*`, '--concurrency', '2');
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, new RegExp(`1 of 5 targets failed: ${c} \\(002_data failed: bad tenant data\\)`));
    assert.match(first.stdout, /^TARGET\s+OUTCOME\s+APPLIED\s+FAILED\s+PENDING\s+DURATION/m);
    assert.match(first.stdout, new RegExp(`^${c}\\s+failed\\s+1\\s+1\\s+0\\s+\\d+ ms\\s+002_data failed: bad tenant data`, 'm'));
    for (const name of names.filter((n) => n !== c)) {
      assert.match(first.stdout, new RegExp(`^${name}\\s+done\\s+2\\s+0\\s+0\\s`, 'm'));
      assert.deepEqual(await effects(name), ['001_schema', '002_data']);
    }
    // 002 ran in a transaction on the failing tenant: nothing of it stayed.
    assert.deepEqual(await effects(c), ['001_schema']);
    // Each target keeps its own history in its own database.
    assert.deepEqual((await fixture.client.db(a).collection('delta_migrations').find({}).toArray()).map((r) => [r._id, r.status]).sort(), [
      ['001_schema', 'applied'],
      ['002_data', 'applied'],
    ]);

    const status = await failing('status', '--targets', `${prefix}_*`, '--json');
    assert.equal(status.code, 0, status.stderr);
    const summary = JSON.parse(status.stdout) as { latest: string; summary: Record<string, unknown>; targets: { target: string; newest: string; failed: number; behind: boolean }[] };
    assert.equal(summary.latest, '002_data');
    assert.deepEqual(summary.summary, { total: 5, upToDate: 4, behind: 0, failed: 1, atNewest: { '002_data': 4, '001_schema': 1 } });
    assert.deepEqual(
      summary.targets.filter((t) => t.behind).map((t) => [t.target, t.newest, t.failed]),
      [[c, '001_schema', 1]],
    );
    const human = await failing('status', '--targets', `${prefix}_*`);
    assert.match(human.stdout, /5 targets: 4 up to date, 0 behind, 1 failed \(newest change: 002_data\)/);
    assert.match(human.stdout, /4 targets at 002_data/);

    const second = await cli(p.dir)('commit', '--targets', `${prefix}_*`);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^${c}\\s+done\\s+1\\s+0\\s+0\\s`, 'm'));
    assert.match(second.stdout, new RegExp(`^${a}\\s+up to date\\s+0\\s+0\\s+0\\s`, 'm'));
    assert.deepEqual(await effects(c), ['001_schema', '002_data']);
    const after = JSON.parse((await cli(p.dir)('status', '--targets', `${prefix}_*`, '--json')).stdout) as { summary: { upToDate: number } };
    assert.equal(after.summary.upToDate, 5);
  });

  it('--fail-fast starts no target after the first failure; @file lists targets; a shared tracker database keys records by target', async () => {
    const { prefix, names } = await tenants(3);
    const [a, b, c] = names as [string, string, string];
    const tracker = `${prefix}_tracker`;
    const p = fixture.project({ ...CHANGES, 'tenants.txt': `# tenants\n${a}\n\n${b}\n${c}\n` });
    const result = await cli(p.dir, { FAIL_DB: a })('commit', '--targets', '@tenants.txt', '--concurrency', '1', '--fail-fast', '--tracker-db', tracker);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`1 of 3 targets failed: ${a} .*; --fail-fast left 2 not started`));
    assert.match(result.stdout, new RegExp(`^${b}\\s+not run\\s+0\\s+0\\s+-\\s+-`, 'm'));
    assert.deepEqual(await effects(b), []);
    assert.deepEqual(await effects(c), []);
    const records = await fixture.client.db(tracker).collection('delta_migrations').find({}).toArray();
    assert.deepEqual(records.map((r) => [r._id, r.status]).sort(), [
      [`${a}/001_schema`, 'applied'],
      [`${a}/002_data`, 'failed'],
    ]);
  });

  it('refuses a --targets file that does not exist, or a glob that matches nothing (exit 2, nothing written)', async () => {
    const { prefix, names } = await tenants(1);
    const p = fixture.project(CHANGES);
    const before = await snapshotDatabase(fixture.client, names[0] as string);
    const missing = await cli(p.dir)('commit', '--targets', '@nope.txt');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--targets @nope\.txt: no such file/);
    const empty = await cli(p.dir)('commit', '--targets', `${prefix}_zz*`);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, new RegExp(`--targets: no database matches "${prefix}_zz\\*"`));
    const status = await cli(p.dir)('status', '--targets', `${prefix}_zz*`);
    assert.equal(status.code, 2);
    assert.deepEqual(await snapshotDatabase(fixture.client, names[0] as string), before);
  });

  // MongoDB answers a user without the privilege with the databases it may use, unless the server
  // refuses (Unauthorized, 13): that refusal is forced here with the sandbox's failCommand.
  it(
    'a glob refused for want of the listDatabases privilege: exit 2, one line naming the privilege, nothing written',
    { skip: sandboxOnly('the Unauthorized reply is injected with failCommand') },
    async () => {
      const sandbox = fixture.server.sandbox;
      assert.ok(sandbox !== undefined);
      const { prefix, names } = await tenants(2);
      const p = fixture.project(CHANGES);
      const before = await Promise.all(names.map((name) => snapshotDatabase(fixture.client, name)));
      sandbox.faults.failCommand(1, { command: 'listDatabases', code: 13, errmsg: 'not authorized on admin to execute command { listDatabases: 1, nameOnly: true }' });
      try {
        const result = await cli(p.dir)('commit', '--targets', `${prefix}_*`);
        assert.equal(result.code, 2, result.stderr);
        assertOneLineError(
          result.stderr,
          new RegExp(`^delta: error: --targets: "${prefix}_\\*" needs the listDatabases privilege, which this user does not have; name the databases \\(a,b or @file\\) or grant listDatabases$`),
        );
      } finally {
        sandbox.faults.clear();
      }
      assert.deepEqual(await Promise.all(names.map((name) => snapshotDatabase(fixture.client, name))), before);
    },
  );
});

// The safety net through the CLI as users run it: drift refusals, validate, repair, baseline,
// dry runs and the audit history, in internal and external tracker mode.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EJSON } from 'bson';
import { runCli, runCliSignalledAt } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { STRESS } from '../helpers/stress.js';

const fixture = useServer();

function change(name: string, extra = ''): string {
  return `export default {${extra}
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${name}' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${name}' }, { session }); },
};
`;
}

/** Inserts, logs "waiting", then sleeps a minute, without a transaction: killed mid-way it stays `running`. */
const SLOW_NO_TXN = `export default {
  transaction: 'never',
  async commit({ db, log }) {
    await db.collection('effects').insertOne({ _id: '003_slow' });
    log('waiting');
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_MS ?? 0)));
  },
  async rollback({ db }) { await db.collection('effects').deleteOne({ _id: '003_slow' }); },
};
`;

interface Mode {
  readonly name: string;
  readonly trackerDb: (db: string) => string;
  readonly flags: (db: string) => string[];
}
const INTERNAL: Mode = { name: 'internal tracker', trackerDb: (db) => db, flags: () => [] };
const EXTERNAL: Mode = { name: 'external tracker database', trackerDb: (db) => `${db}_trk`, flags: (db) => ['--tracker-db', `${db}_trk`] };
// The external-tracker pass repeats every case with --tracker-db; it runs in `npm run test:stress`
// (npm test keeps its 5-minute budget; fleets and the SQLite tracker cover external trackers there).
const MODES: Mode[] = STRESS ? [INTERNAL, EXTERNAL] : [INTERNAL];

for (const mode of MODES) {
  describe(`safety net (${mode.name})`, () => {
    function setup() {
      const p = fixture.project({
        'package.json': JSON.stringify({ name: 'app', type: 'module' }),
        'migrations/001_a.js': change('001_a'),
        'migrations/002_b.js': change('002_b'),
      });
      const db = uniqueDbName('net');
      const env = { DELTA_URI: fixture.uriFor(db) };
      const delta = (...args: string[]) => runCli([...args, '--path', './migrations', ...mode.flags(db)], { cwd: p.dir, env });
      const tracker = fixture.client.db(mode.trackerDb(db));
      const records = async () => (await tracker.collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray()).map((r) => [r.changeId, r.status]);
      // By time, then _id: ObjectIds made by different processes in one second do not sort by time.
      const audit = () => tracker.collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray();
      /** Target and tracker contents, byte for byte. */
      const snapshot = async () => ({ target: await snapshotDatabase(fixture.client, db), tracker: await snapshotDatabase(fixture.client, mode.trackerDb(db)) });
      return { p, db, env, delta, tracker, records, audit, snapshot };
    }

    it('validate is clean on a fresh project and after commit; validate --json names the target', async () => {
      const t = setup();
      const fresh = await t.delta('validate');
      assert.equal(fresh.code, 0, fresh.stderr);
      assert.match(fresh.stdout, /2 changes, no problems/);
      assert.equal((await t.delta('commit')).code, 0);
      const json = await t.delta('validate', '--json');
      assert.equal(json.code, 0);
      assert.deepEqual(JSON.parse(json.stdout), { targetDb: t.db, problems: [], changes: 2, ok: true });
    });

    it('an edited applied file: validate and commit exit 4 naming it, --allow-drift proceeds and is audited, repair re-records', async () => {
      const t = setup();
      assert.equal((await t.delta('commit')).code, 0);
      t.p.write('migrations/001_a.js', change('001_a', "\n  description: 'edited',"));
      t.p.write('migrations/003_c.js', change('003_c'));

      const validate = await t.delta('validate', '--json');
      assert.equal(validate.code, 4, validate.stderr);
      const report = JSON.parse(validate.stdout) as { problems: { kind: string; id: string; message: string }[] };
      assert.deepEqual(
        report.problems.map((p) => [p.kind, p.id]),
        [['modified', '001_a']],
      );
      assert.match(report.problems[0]?.message ?? '', /delta repair/);

      const before = await t.snapshot();
      const refused = await t.delta('commit');
      assert.equal(refused.code, 4);
      assert.match(refused.stderr, /001_a \(file modified since it was applied\).*delta repair.*--allow-drift/);
      assert.deepEqual(await t.snapshot(), before, 'the refusal wrote nothing');

      const dry = await t.delta('repair', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /repair would make 1 change .*dry run.*\n {2}001_a: re-record checksum/);
      assert.deepEqual(await t.snapshot(), before, 'repair --dry-run wrote nothing');

      const allowed = await t.delta('commit', '--allow-drift');
      assert.equal(allowed.code, 0, allowed.stderr);
      assert.deepEqual(await t.records(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
        ['003_c', 'applied'],
      ]);
      const driftEvent = (await t.audit()).find((e) => e.details?.allowedDrift !== undefined);
      assert.deepEqual(driftEvent?.details?.allowedDrift, ['001_a']);

      const repaired = await t.delta('repair');
      assert.equal(repaired.code, 0, repaired.stderr);
      assert.equal((await t.delta('validate')).code, 0, 'clean after repair');
      const repairs = (await t.audit()).filter((e) => e.action === 'repair');
      assert.equal(repairs.length, 1);
      assert.equal(repairs[0]?.changeId, '001_a');
      assert.notEqual(repairs[0]?.details?.before?.checksum, repairs[0]?.details?.after?.checksum);
    });

    it('a deleted applied file: validate reports missing; repair leaves it unless --remove-missing', async () => {
      const t = setup();
      assert.equal((await t.delta('commit')).code, 0);
      rmSync(join(t.p.dir, 'migrations/002_b.js'));
      const validate = await t.delta('validate');
      assert.equal(validate.code, 4);
      assert.match(validate.stdout, /missing\s+002_b: recorded applied but its file is gone/);
      const commit = await t.delta('commit');
      assert.equal(commit.code, 4);
      assert.match(commit.stderr, /002_b \(file missing\)/);

      const kept = await t.delta('repair');
      assert.equal(kept.code, 0);
      assert.match(kept.stderr, /left as is: 002_b: its file is missing \(pass --remove-missing/);
      assert.deepEqual(await t.records(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
      ]);
      const removed = await t.delta('repair', '--remove-missing');
      assert.equal(removed.code, 0, removed.stderr);
      assert.deepEqual(await t.records(), [['001_a', 'applied']]);
      assert.equal((await t.delta('validate')).code, 0);
      const event = (await t.audit()).find((e) => e.action === 'repair');
      assert.deepEqual([event?.changeId, event?.details?.kind, event?.details?.before?.status], ['002_b', 'remove-missing', 'applied']);
    });

    it('a run killed during a change without a transaction: commit refuses, repair marks it failed, commit re-runs it', async () => {
      const t = setup();
      t.p.write('migrations/003_slow.js', SLOW_NO_TXN);
      const crashed = await runCliSignalledAt(['commit', '--path', './migrations', ...mode.flags(t.db)], '003_slow: waiting', 'SIGKILL', { cwd: t.p.dir, env: { ...t.env, SLOW_MS: '60000' } });
      assert.equal(crashed.signal, 'SIGKILL');
      assert.deepEqual(await t.records(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
        ['003_slow', 'running'],
      ]);
      // The dead run's lock would hold the others off for its lease; an operator removes it.
      assert.equal((await t.delta('unlock', '--force')).code, 0);

      const refused = await t.delta('commit');
      assert.equal(refused.code, 4);
      assert.match(refused.stderr, /003_slow \(interrupted: a run died during it without a transaction\): it may be half-applied.*delta repair/);
      // The operator undoes the half-done change by hand, then repairs.
      await fixture.client
        .db(t.db)
        .collection('effects')
        .deleteOne({ _id: '003_slow' } as never);
      const repaired = await t.delta('repair');
      assert.equal(repaired.code, 0, repaired.stderr);
      assert.match(repaired.stdout, /003_slow: running -> failed/);
      assert.deepEqual((await t.records())[2], ['003_slow', 'failed']);
      const rerun = await t.delta('commit');
      assert.equal(rerun.code, 0, rerun.stderr);
      assert.deepEqual((await t.records())[2], ['003_slow', 'applied']);
    });

    it('baseline --to marks changes applied without running them; --dry-run writes nothing; other states need --force', async () => {
      const t = setup();
      t.p.write('migrations/003_c.js', change('003_c'));
      const before = await t.snapshot();
      const dry = await t.delta('baseline', '--to', '002_b', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /baseline would make 2 changes/);
      assert.deepEqual(await t.snapshot(), before);

      const unknown = await t.delta('baseline', '--to', '009_nope');
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /--to 009_nope: no change file has this id/);

      const done = await t.delta('baseline', '--to', '002_b');
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(await t.records(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
      ]);
      assert.equal(await fixture.client.db(t.db).collection('effects').countDocuments({}), 0, 'nothing ran');
      assert.deepEqual(
        (await t.audit()).filter((e) => e.action === 'baseline').map((e) => e.changeId),
        ['001_a', '002_b'],
      );
      const commit = await t.delta('commit');
      assert.equal(commit.code, 0);
      assert.deepEqual(await fixture.client.db(t.db).collection('effects').find({}).toArray(), [{ _id: '003_c' }], 'commit runs only what follows the baseline');

      assert.equal((await t.delta('rollback')).code, 0);
      const conflict = await t.delta('baseline', '--to', '003_c');
      assert.equal(conflict.code, 4);
      assert.match(conflict.stderr, /003_c \(rolled_back\) already has history in another state; pass --force/);
      const forced = await t.delta('baseline', '--to', '003_c', '--force');
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual((await t.records())[2], ['003_c', 'applied']);
    });

    it('dry runs of commit and rollback print the plan and write nothing', async (context) => {
      const t = setup();
      const before = await t.snapshot();
      const writesBefore = fixture.server.sandbox?.stats().writes;
      const dry = await t.delta('commit', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would apply 2 changes, in this order \(no lock taken, nothing written\):\n {2}1\. 001_a {2}in a transaction\n {2}2\. 002_b {2}in a transaction/);
      const json = await t.delta('commit', '--dry-run', '--json');
      assert.deepEqual(
        JSON.parse(json.stdout).changes.map((c: { id: string; status: string }) => [c.id, c.status]),
        [
          ['001_a', 'not-run'],
          ['002_b', 'not-run'],
        ],
      );
      assert.deepEqual(await t.snapshot(), before);
      if (fixture.server.sandbox !== undefined) assert.equal(fixture.server.sandbox.stats().writes, writesBefore, 'the server saw no write at all');
      else context.diagnostic('write count checked only against the sandbox');

      assert.equal((await t.delta('commit')).code, 0);
      const applied = await t.snapshot();
      const rollback = await t.delta('rollback', '--all', '--dry-run');
      assert.equal(rollback.code, 0);
      assert.match(rollback.stdout, /would revert 2 changes, newest applied first.*\n {2}1\. 002_b .*its rollback function\n {2}2\. 001_a/);
      assert.deepEqual(await t.snapshot(), applied);
    });

    it('history lists the audit log newest first with filters; no command ever changes an earlier event', async () => {
      const t = setup();
      assert.equal((await t.delta('commit')).code, 0);
      const earlier = (await t.audit()).map((e) => EJSON.stringify(e, { relaxed: false }));
      assert.equal((await t.delta('rollback')).code, 0);
      assert.equal((await t.delta('commit')).code, 0);
      t.p.write('migrations/001_a.js', change('001_a', "\n  description: 'edited',"));
      assert.equal((await t.delta('repair')).code, 0);
      assert.equal((await t.delta('baseline', '--to', '002_b')).code, 0);
      assert.equal((await t.delta('unlock')).code, 0);
      assert.equal((await t.delta('validate')).code, 0);
      assert.equal((await t.delta('status')).code, 0);
      const all = await t.audit();
      assert.deepEqual(
        all.slice(0, earlier.length).map((e) => EJSON.stringify(e, { relaxed: false })),
        earlier,
        'earlier events are byte-identical',
      );

      const history = await t.delta('history', '--json');
      assert.equal(history.code, 0, history.stderr);
      const events = (JSON.parse(history.stdout) as { events: { action: string; changeId?: string; at: string; executedBy: { user: string; pid: number }; toolVersion: string }[] }).events;
      assert.deepEqual(
        events.map((e) => [e.action, e.changeId]),
        [
          ['repair', '001_a'],
          ['commit', '002_b'],
          ['rollback', '002_b'],
          ['commit', '002_b'],
          ['commit', '001_a'],
        ],
      );
      assert.ok(
        events.every((e, i) => i === 0 || (events[i - 1]?.at ?? '') >= e.at),
        'newest first',
      );
      assert.ok(events.every((e) => typeof e.executedBy.user === 'string' && Number.isInteger(e.executedBy.pid) && typeof e.toolVersion === 'string'));

      const filtered = await t.delta('history', '--id', '002_b', '--action', 'rollback');
      assert.equal(filtered.code, 0);
      assert.match(filtered.stdout, /^AT\s+ACTION\s+OUTCOME\s+ID\s+BY\s+DURATION/);
      assert.equal(filtered.stdout.trim().split('\n').length, 2);
      assert.match(filtered.stdout, /rollback\s+success\s+002_b/);
      const limited = JSON.parse((await t.delta('history', '--limit', '2', '--json')).stdout) as { events: unknown[] };
      assert.equal(limited.events.length, 2);
      const bad = await t.delta('history', '--action', 'explode');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--action/);
    });
  });
}

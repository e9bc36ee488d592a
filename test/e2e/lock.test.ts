// The distributed lock, proven with real processes: racing runners apply each change exactly once,
// a killed holder's lock frees itself at expiry, a lost lease stops the run, and a held lock is
// reported with its holder.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { CliResult } from '../helpers/cli.js';
import { runCli } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { STRESS } from '../helpers/stress.js';

const fixture = useServer();

/** Races per `npm test`; 20 under `npm run test:stress` (or DELTA_STRESS_RACES=n). */
const RACES = Number(process.env.DELTA_STRESS_RACES ?? (STRESS ? 20 : 2));
/** 8 processes per race: 5 run `commit`, 3 run `status --json` twice each while the commits go on. */
const COMMITTERS = 5;
const STATUS_READERS = 3;
const RACE_CHANGES = 200;

const uriFor = (db: string) => fixture.uriFor(db);

/** A change inserting `{ change: n }` (no fixed _id, so running it twice would show as two documents). */
function countedChange(n: number): string {
  return `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ change: ${n} }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: ${n} }, { session }); },
};
`;
}

/**
 * Inserts, logs "waiting", then sleeps `SLOW_MS` (0 when unset), or, with GO_FILE set, waits
 * until that file exists: in a transaction unless told.
 */
const SLOW_CHANGE = `import { existsSync } from 'node:fs';
export default {
  async commit({ db, session, log }) {
    await db.collection('effects').insertOne({ change: 'slow' }, { session });
    log('waiting');
    const go = process.env.GO_FILE;
    if (go === undefined) await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_MS ?? 0)));
    else while (!existsSync(go)) await new Promise((resolve) => setTimeout(resolve, 50));
  },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: 'slow' }, { session }); },
};
`;

function project(files: Record<string, string>) {
  const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }), ...files });
  return p;
}

/** A database whose `effects` collection exists (so concurrent transactions never race to create it). */
async function freshDb(prefix: string): Promise<string> {
  const db = uniqueDbName(prefix);
  await fixture.client.db(db).createCollection('effects');
  return db;
}

/** Starts a CLI run and resolves once its stdout shows `marker`, with the run's promise. */
function startUntil(
  args: string[],
  options: { cwd: string; env: Record<string, string> },
  marker: string,
): { seen: Promise<void>; done: Promise<CliResult>; kill: (signal: NodeJS.Signals) => void; printed: (text: string) => Promise<void> } {
  let killer: ((signal: NodeJS.Signals) => void) | undefined;
  let markSeen: () => void = () => undefined;
  const seen = new Promise<void>((resolve) => (markSeen = resolve));
  let output = '';
  const waiting: { text: string; resolve: () => void }[] = [];
  const done = runCli(args, {
    ...options,
    onOutput: ({ stdout, stderr }, kill) => {
      killer = kill;
      if (stdout.includes(marker)) markSeen();
      output = stdout + stderr;
      for (const waiter of waiting) if (output.includes(waiter.text)) waiter.resolve();
    },
  });
  const before = (text: string) => done.then((r) => Promise.reject(new Error(`exited ${r.code} before "${text}": ${r.stderr}`)));
  /** Resolves once stdout or stderr shows `text`. */
  const printed = (text: string) => (output.includes(text) ? Promise.resolve() : Promise.race([new Promise<void>((resolve) => waiting.push({ text, resolve })), before(text)]));
  return { seen: Promise.race([seen, before(marker)]), done, kill: (signal) => killer?.(signal), printed };
}

describe('the lock with real processes', () => {
  const raceFiles = Object.fromEntries(Array.from({ length: RACE_CHANGES }, (_, i) => [`migrations/${String(i).padStart(4, '0')}_change.js`, countedChange(i)]));

  for (let race = 1; race <= RACES; race += 1) {
    it(`race ${race}/${RACES}: ${COMMITTERS} commit and ${STATUS_READERS} status processes over ${RACE_CHANGES} changes: each applied exactly once, no deadlock, no lock left`, async () => {
      const p = project(raceFiles);
      const db = await freshDb('race');
      const env = { DELTA_URI: uriFor(db) };
      const reader = async () => [await runCli(['status', '--json', '--path', './migrations'], { cwd: p.dir, env }), await runCli(['status', '--json', '--path', './migrations'], { cwd: p.dir, env })];
      const [results, statuses] = await Promise.all([
        Promise.all(Array.from({ length: COMMITTERS }, () => runCli(['commit', '--path', './migrations', '--lock-wait', '60s'], { cwd: p.dir, env }))),
        Promise.all(Array.from({ length: STATUS_READERS }, reader)).then((runs) => runs.flat()),
      ]);
      // A process still running at runCli's time limit is killed: signal set, exit code null.
      for (const result of results) assert.ok(result.code === 0 || result.code === 3, `exit ${result.code} (${result.signal}): ${result.stderr}`);
      assert.ok(
        results.some((r) => /Done: applied \d+ changes/.test(r.stdout)),
        'one runner applied the changes',
      );
      for (const status of statuses) {
        assert.equal(status.code, 0, `status during the race: exit ${status.code} (${status.signal}): ${status.stderr}`);
        const report = JSON.parse(status.stdout) as { changes: { state: string }[]; summary: { applied: number; pending: number; total: number } };
        const states = new Set(report.changes.map((c) => c.state));
        assert.ok(
          [...states].every((state) => state === 'applied' || state === 'pending'),
          `status saw only applied and pending changes, not ${[...states].join(', ')}`,
        );
        assert.equal(report.summary.applied + report.summary.pending, RACE_CHANGES);
      }

      const perChange = await fixture.client
        .db(db)
        .collection('effects')
        .aggregate<{ _id: number; n: number }>([{ $group: { _id: '$change', n: { $sum: 1 } } }, { $match: { n: { $ne: 1 } } }])
        .toArray();
      assert.deepEqual(perChange, [], 'no change ran twice');
      assert.equal(await fixture.client.db(db).collection('effects').countDocuments({}), RACE_CHANGES);
      assert.equal(await fixture.client.db(db).collection('delta_migrations').countDocuments({ status: 'applied' }), RACE_CHANGES);
      assert.equal(await fixture.client.db(db).collection('delta_audit').countDocuments({ action: 'commit', outcome: 'success' }), RACE_CHANGES);
      assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments({}), 0, 'every runner released the lock');
    });
  }

  it('--lock-wait 0 against a held lock exits 3 at once naming the holder; status shows it', async () => {
    const p = project({ 'migrations/001_slow.js': SLOW_CHANGE });
    const db = await freshDb('held');
    // The holder keeps the lock far longer than the test needs (on a loaded machine a process
    // takes seconds to start), then is stopped with Ctrl-C.
    const holder = startUntil(['commit', '--path', './migrations'], { cwd: p.dir, env: { DELTA_URI: uriFor(db), SLOW_MS: '60000' } }, '001_slow: waiting');
    await holder.seen;

    const started = Date.now();
    const waiter = await runCli(['commit', '--path', './migrations', '--lock-wait', '0'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(waiter.code, 3, waiter.stderr);
    assert.ok(Date.now() - started < 15_000, 'failed without waiting for the lock (the default wait is 30 s)');
    assert.match(waiter.stderr, new RegExp(`lock ${db} is held by ${hostname()} pid \\d+ \\(commit\\) since \\d{4}-\\d\\d-\\d\\dT[^ ]+Z, lease until .*not waiting \\(--lock-wait 0\\)`));
    assert.doesNotMatch(waiter.stderr, /mongodb:\/\//, 'the holder is named, never a URI');

    const status = await runCli(['status', '--path', './migrations'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`lock held by ${hostname()} pid \\d+ \\(commit\\) since`));

    holder.kill('SIGINT');
    assert.equal((await holder.done).code, 130, 'the holder stops on Ctrl-C, its transaction aborted');
  });

  it('a holder killed with SIGKILL: the next runner waits for the lease to expire, then finishes', async () => {
    const p = project({ 'migrations/001_slow.js': SLOW_CHANGE, 'migrations/002_after.js': countedChange(2) });
    const db = await freshDb('killed');
    const holder = startUntil(['commit', '--path', './migrations', '--lock-lease', '1500ms'], { cwd: p.dir, env: { DELTA_URI: uriFor(db), SLOW_MS: '60000' } }, '001_slow: waiting');
    await holder.seen;
    holder.kill('SIGKILL');
    assert.equal((await holder.done).signal, 'SIGKILL');
    const lock = await fixture.client.db(db).collection('delta_lock').findOne({});
    assert.ok(lock !== null && lock.expiresAt instanceof Date, 'the dead holder left its lock behind');

    const next = await runCli(['commit', '--path', './migrations', '--lock-wait', '20s'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(next.code, 0, next.stderr);
    assert.ok(Date.now() >= lock.expiresAt.getTime() - 50, 'it could only start once the lease had expired');
    const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => [r.changeId, r.status]),
      [
        ['001_slow', 'applied'],
        ['002_after', 'applied'],
      ],
    );
    assert.equal(await fixture.client.db(db).collection('effects').countDocuments({ change: 'slow' }), 1, "the killed run's transaction left nothing");
  });

  it('a run whose lock is force-removed stops before the next change, exit 3; unlock is audited', async () => {
    const p = project({ 'migrations/001_slow.js': SLOW_CHANGE, 'migrations/002_after.js': countedChange(2) });
    const db = await freshDb('lost');
    // The change waits for a file rather than a time: under load, the two unlock processes below
    // took longer than the 6 s it used to sleep, and the holder finished before its lock was removed.
    const go = join(p.dir, 'go');
    const holder = startUntil(['commit', '--path', './migrations', '--lock-lease', '3s'], { cwd: p.dir, env: { DELTA_URI: uriFor(db), GO_FILE: go } }, '001_slow: waiting');
    await holder.seen;

    const refused = await runCli(['unlock'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(refused.code, 3, 'a fresh lease is not removed without --force');
    assert.match(refused.stderr, /its lease is fresh.*pass --force/);
    const forced = await runCli(['unlock', '--force'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, new RegExp(`Removed the lock on ${db} held by ${hostname()} pid \\d+ \\(commit\\)`));

    // The holder's heartbeat has seen the lock gone; only then does its change finish.
    await holder.printed('lost the lock on');
    writeFileSync(go, '');
    const result = await holder.done;
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /lost the lock on .*taken or removed by someone else/);
    assert.equal(await fixture.client.db(db).collection('delta_migrations').countDocuments({}), 0, 'the change running when the lease was lost was aborted, and 002 never started');
    assert.equal(await fixture.client.db(db).collection('effects').countDocuments({}), 0);
    const unlocks = await fixture.client.db(db).collection('delta_audit').find({ action: 'unlock' }).toArray();
    assert.equal(unlocks.length, 1);
    assert.equal(unlocks[0]?.details?.forced, true);

    const again = await runCli(['unlock'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(again.code, 0);
    assert.match(again.stdout, /No lock is held/);
  });
});

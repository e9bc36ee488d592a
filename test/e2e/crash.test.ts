// Crash anywhere: `delta commit` over 20 changes (some without a transaction) is killed with
// SIGKILL when the sandbox receives its k-th command, either before that command runs or after
// it ran with its reply never delivered. After each crash `delta status` must tell the truth,
// no transactional change may be half-applied, and after the operator's `delta repair` the next
// `delta commit` must finish with every change's effect present exactly once.
// Killing at a chosen command needs the sandbox's command events, so this skips under MONGODB_URI.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { twoPartChangeFile } from '../helpers/changes.js';
import { runCli, runCliInProcess } from '../helpers/cli.js';
import { effectsPerChange } from '../helpers/database.js';
import { withDatabase } from '../helpers/connection-string.js';
import { sandboxOnly } from '../helpers/server.js';
import { STRESS, inPool, spread } from '../helpers/stress.js';
import { tempProject } from '../helpers/temp.js';

const CHANGES = 20;
/** Points per `npm test`; the stress run kills at every command, both ways. */
const SAMPLE = 30;
const DB = 'app';
/** The crashed run's lease; the sandbox forgets an abandoned transaction after the same time, as mongod does with both at 60 s. */
const LEASE_S = 2;

/** Every third change runs without a transaction, so a crash can leave it half done. */
const nonTransactional = (i: number) => i % 3 === 2;
const idOf = (i: number) => `${String(i).padStart(3, '0')}_change`;

interface CrashPoint {
  readonly k: number;
  /** `held`: killed before the k-th command runs (its connection dropped); `ran`: it runs, its reply reaches no one. */
  readonly mode: 'held' | 'ran';
}

interface StatusJson {
  readonly changes: { readonly id: string; readonly state: string }[];
  readonly summary: Record<string, number>;
}

describe('SIGKILL at any command of a commit', { skip: sandboxOnly('killing at the k-th command needs the sandbox') }, () => {
  const project = tempProject({
    'package.json': JSON.stringify({ name: 'app', type: 'module' }),
    ...Object.fromEntries(Array.from({ length: CHANGES }, (_, i) => [`migrations/${idOf(i)}.js`, twoPartChangeFile(i, nonTransactional(i) ? { transaction: 'never' } : {})])),
  });
  const cli = (sandbox: Sandbox, args: string[]) => runCliInProcess([...args, '--path', './migrations'], { cwd: project.dir, env: { DELTA_URI: withDatabase(sandbox.uri, DB) } });

  /**
   * Runs one crash point on a sandbox of its own; throws with what was wrong. Resolves whether the
   * run was killed: heartbeats make runs differ by a command or two, so the last points may find
   * the run already over.
   */
  async function crashAt(point: CrashPoint, runLength: number): Promise<boolean> {
    const sandbox = await startSandbox({ port: 0, transactionLifetimeLimitSeconds: LEASE_S });
    const client = await new MongoClient(sandbox.uri).connect();
    const where = (text: string) => `k=${point.k}/${runLength} (${point.mode}): ${text}`;
    try {
      let seen = 0;
      let commandAtK = '';
      let kill: ((signal: NodeJS.Signals) => void) | undefined;
      sandbox.on('command', (event) => {
        seen += 1;
        if (seen !== point.k) return;
        commandAtK = event.name;
        kill?.('SIGKILL');
        // Counted against this very command: its connection closes instead of running it.
        if (point.mode === 'held') sandbox.faults.closeAfter(1);
      });
      const crashed = await runCli(['commit', '--path', './migrations', '--lock-lease', `${LEASE_S}s`], {
        cwd: project.dir,
        env: { DELTA_URI: withDatabase(sandbox.uri, DB) },
        onSpawn: (k) => (kill = k),
      });
      if (crashed.signal !== 'SIGKILL') assert.equal(crashed.code, 0, where(`the run was not killed and failed (${seen} commands): ${crashed.stderr}`));
      const crashedBy = new Date();
      const label = (text: string) => where(`killed at '${commandAtK}': ${text}`);

      // What status says must be what the database holds.
      const effects = await effectsPerChange(client, DB);
      const status = await cli(sandbox, ['status', '--json']);
      assert.equal(status.code, 0, label(status.stderr));
      const report = JSON.parse(status.stdout) as StatusJson;
      const states = report.changes.map((c) => c.state);
      assert.equal(states.length, CHANGES, label('status lists every change'));
      for (let i = 0; i < CHANGES; i += 1) {
        const state = states[i];
        const count = effects.get(i) ?? 0;
        const what = label(`${idOf(i)} is ${state} with ${count} of 2 documents`);
        assert.ok(state === 'applied' || state === 'pending' || state === 'running', what);
        if (state === 'applied') assert.equal(count, 2, what);
        if (state === 'pending') assert.equal(count, 0, what);
        if (!nonTransactional(i)) assert.ok(state !== 'running' && (count === 0 || count === 2), `${what}: a transactional change is never half-applied or running`);
      }
      const applied = states.filter((s) => s === 'applied').length;
      assert.ok(
        states.slice(0, applied).every((s) => s === 'applied'),
        label(`applied changes come first, in order: ${states.join(',')}`),
      );
      assert.ok(states.filter((s) => s === 'running').length <= 1, label(`at most one change was interrupted: ${states.join(',')}`));
      assert.equal(report.summary.running, states.filter((s) => s === 'running').length, label('summary counts the interrupted change'));

      // The operator undoes what an interrupted change did, then repairs; the lease expires meanwhile.
      const interrupted = report.changes.flatMap((c, i) => (c.state === 'running' ? [i] : []));
      if (interrupted.length > 0) {
        const refused = await cli(sandbox, ['commit', '--lock-wait', '20s']);
        assert.equal(refused.code, 4, label(`commit refuses while a change is running: ${refused.stderr}`));
        await client
          .db(DB)
          .collection('effects')
          .deleteMany({ change: { $in: interrupted } });
        const repaired = await cli(sandbox, ['repair', '--lock-wait', '20s']);
        assert.equal(repaired.code, 0, label(`repair: ${repaired.stderr}`));
      }
      const next = await cli(sandbox, ['commit', '--lock-wait', '20s']);
      assert.equal(next.code, 0, label(`the next commit: ${next.stderr}`));

      const perChange = [...(await effectsPerChange(client, DB))].sort((a, b) => a[0] - b[0]);
      assert.deepEqual(
        perChange,
        Array.from({ length: CHANGES }, (_, i) => [i, 2]),
        label('every effect exactly once'),
      );
      const records = await client.db(DB).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        Array.from({ length: CHANGES }, (_, i) => [idOf(i), 'applied']),
        label('every record applied'),
      );
      const successes = await client
        .db(DB)
        .collection('delta_audit')
        .aggregate<{ _id: string; n: number }>([{ $match: { action: 'commit', outcome: 'success' } }, { $group: { _id: '$changeId', n: { $sum: 1 } } }, { $match: { n: { $ne: 1 } } }])
        .toArray();
      assert.deepEqual(successes, [], label('one successful commit event per change'));
      // The killed run's own lease may stay (it expires; a run with work takes it over, one with
      // nothing to do never touches the lock); what ran after the crash released its own.
      assert.equal(
        await client
          .db(DB)
          .collection('delta_lock')
          .countDocuments({ acquiredAt: { $gt: crashedBy } }),
        0,
        label('no lock left behind by the commands after the crash'),
      );
      const check = await cli(sandbox, ['status', '--check']);
      assert.equal(check.code, 0, label(check.stderr));
      return crashed.signal === 'SIGKILL';
    } finally {
      await client.close();
      await sandbox.stop();
    }
  }

  it(`${STRESS ? 'every command, both ways' : `${SAMPLE} sampled commands`}: status tells the truth, repair and commit finish exactly once`, async () => {
    // The run's length: the commands a whole commit sends to a fresh database.
    const reference = await startSandbox({ port: 0 });
    let runLength = 0;
    reference.on('command', () => (runLength += 1));
    try {
      const whole = await runCli(['commit', '--path', './migrations', '--lock-lease', `${LEASE_S}s`], { cwd: project.dir, env: { DELTA_URI: withDatabase(reference.uri, DB) } });
      assert.equal(whole.code, 0, whole.stderr);
    } finally {
      await reference.stop();
    }
    assert.ok(runLength > CHANGES * 2, `a commit of ${CHANGES} changes sends more than ${CHANGES * 2} commands (${runLength})`);

    const points: CrashPoint[] = STRESS
      ? spread(runLength, runLength).flatMap((k) => [
          { k, mode: 'held' as const },
          { k, mode: 'ran' as const },
        ])
      : spread(runLength, SAMPLE).map((k, j) => ({ k, mode: j % 2 === 0 ? 'held' : 'ran' }));
    const failures: string[] = [];
    let killed = 0;
    await inPool(points, 4, async (point) => {
      try {
        if (await crashAt(point, runLength)) killed += 1;
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    });
    assert.deepEqual(failures, [], `${failures.length} of ${points.length} crash points failed`);
    assert.ok(killed >= points.length - 4, `only ${killed} of ${points.length} runs were killed before they ended`);
  });

  after(() => project.cleanup());
});

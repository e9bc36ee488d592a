// The connection dies between a change's write and its commit: the transaction takes the change's
// effect and its tracker record down together, and a retry finds nothing left of the first attempt.
// Then the sweep: a connection dropped (before or after the server ran the command) or an error
// answered (retryable or not) at every command of a run, through the CLI's main(); no change is
// recorded applied without its effect, none runs twice, and the exit code is DESIGN.md's.
// Fault injection is a sandbox feature, so these cases skip themselves against MONGODB_URI.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDelta } from '../../src/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { twoPartChangeFile } from '../helpers/changes.js';
import { runCliInProcess } from '../helpers/cli.js';
import { effectsPerChange } from '../helpers/database.js';
import { sandboxOnly, uniqueDbName, useServer } from '../helpers/server.js';
import { STRESS } from '../helpers/stress.js';
import { tempProject } from '../helpers/temp.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

const change: ChangeDefinition = {
  id: '001_insert',
  async commit({ db, session }) {
    await db.collection<{ _id: string }>('effects').insertOne({ _id: 'one' }, { session });
  },
  async rollback({ db, session }) {
    await db.collection<{ _id: string }>('effects').deleteOne({ _id: 'one' }, { session });
  },
};

/** The write of the tracker record inside the change's transaction: `bulkWrite` on MongoDB 8, else `update`. */
async function recordCommand(): Promise<string> {
  const hello = await fixture.client.db('admin').command({ hello: 1 });
  return (hello.maxWireVersion as number) >= 25 ? 'bulkWrite' : 'update';
}

describe('a connection lost inside the change transaction', () => {
  it('is retried as a whole: the effect and the record exist exactly once', async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('fault');
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [change], env: {} });
    try {
      sandbox.faults.closeAfter(1, { command: await recordCommand() });
      const result = await delta.commit();
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }]);
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [['001_insert', 'applied']],
      );
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });

  it('when every attempt loses its connection, neither the effect nor an applied record remains', async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('fault');
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [change], env: {} });
    try {
      const command = await recordCommand();
      // The runner tries a transaction three times; each attempt's record write loses its connection.
      for (const n of [1, 2, 3]) sandbox.faults.closeAfter(n, { command });
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      assert.match(result.error?.message ?? '', /^001_insert failed: .*(closed|connection)/i);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [], 'the change left nothing');
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [['001_insert', 'failed']],
        'only the failure is recorded, outside the aborted transaction',
      );
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });
});

describe('the history record of a change that ran without a transaction cannot be written', () => {
  it("leaves it 'running' (never 'failed', which would run it again): exit 1, commit refuses until repair", async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('recfail');
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [{ ...change, transaction: 'never' }], env: {} });
    try {
      // The change's own record, after the `running` marker: with its audit event in one
      // `bulkWrite` on MongoDB 8, else the third `update` (after the lock's and the marker's), its
      // audit event kept in it.
      const command = await recordCommand();
      sandbox.faults.failCommand(command === 'bulkWrite' ? 1 : 3, { command, code: 1 });
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      assert.match(
        result.error?.message ?? '',
        /^001_insert failed: it ran, but its history record could not be written \(Failing command via the delta sandbox fault injector\); it is left 'running'.*delta repair/,
        "the server's error, not the bulk write wrapper",
      );
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }], 'the effect is there, once');
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [['001_insert', 'running']],
      );
      await assert.rejects(delta.commit(), /001_insert \(interrupted: a run died during it without a transaction\): it may be half-applied/);
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });
});

describe('the running marker of a change without a transaction cannot be written', () => {
  it('fails the change without running it, and without running its rollback as a compensation', async (t) => {
    const sandbox = fixture.server.sandbox;
    if (sandbox === undefined) return t.skip('fault injection needs the sandbox');
    const db = uniqueDbName('markfail');
    const compensated: ChangeDefinition = {
      ...change,
      transaction: 'never',
      // Whatever a rollback removes was never the change's own if the change never ran: it must not run.
      async rollback({ db: target }) {
        await target.collection<{ _id: string }>('rollbacks').insertOne({ _id: 'ran' });
      },
    };
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [compensated], env: {} });
    try {
      // The second `update`, after the lock's: the `running` marker.
      sandbox.faults.failCommand(2, { command: 'update', code: 1 });
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      assert.match(result.error?.message ?? '', /^001_insert failed: its running marker could not be written, so it did not run: Failing command via the delta sandbox fault injector$/);
      assert.deepEqual(await fixture.client.db(db).collection('delta_migrations').find({}).toArray(), [], 'no record: nothing happened');
      const events = await delta.history({ changeId: '001_insert' });
      assert.deepEqual(
        events.map((e) => [e.action, e.outcome]),
        [['commit', 'failure']],
      );
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [], 'the change never ran');
      assert.deepEqual(await fixture.client.db(db).collection('rollbacks').find({}).toArray(), [], 'nor did its rollback');
      sandbox.faults.clear();
      assert.equal((await delta.commit()).outcome, 'success', 'the next commit runs it');
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }]);
    } finally {
      sandbox.faults.clear();
      await delta.close();
    }
  });
});

describe("a killed runner's transaction still open on the server", () => {
  it('holds the history record: the next run waits for the server to abort it, then applies the change once', async () => {
    const db = uniqueDbName('orphan');
    const first: ChangeDefinition = { id: '000_first', async commit() {} };
    const earlier = createDelta({ config: { uri: fixture.server.uri, db }, changes: [first], env: {} });
    assert.equal((await earlier.commit()).outcome, 'success');
    await earlier.close();
    // What a runner killed between its record write and commitTransaction leaves: a transaction
    // holding the change's record, aborted by the server only at transactionLifetimeLimitSeconds.
    const orphan = fixture.client.startSession();
    orphan.startTransaction();
    await fixture.client
      .db(db)
      .collection<{ _id: string }>('delta_migrations')
      .updateOne({ _id: '001_insert' }, { $set: { status: 'applied' } }, { upsert: true, session: orphan });
    const delta = createDelta({ config: { uri: fixture.server.uri, db }, changes: [first, change], env: {} });
    try {
      const aborted = new Promise<void>((resolve) => setTimeout(() => void orphan.abortTransaction().finally(resolve), 700));
      const result = await delta.commit();
      await aborted;
      assert.equal(result.outcome, 'success', result.error?.message);
      assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'one' }]);
      const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [
          ['000_first', 'applied'],
          ['001_insert', 'applied'],
        ],
      );
    } finally {
      await orphan.endSession();
      await delta.close();
    }
  });
});

type Fault = { readonly kind: 'closeAfter' | 'closeAfterReply' } | { readonly kind: 'failCommand'; readonly label: string; readonly code: number; readonly errorLabels: readonly string[] };

const CLOSE_BEFORE: Fault = { kind: 'closeAfter' };
const CLOSE_AFTER_REPLY: Fault = { kind: 'closeAfterReply' };
const FAILURES: readonly Fault[] = [
  { kind: 'failCommand', label: 'NotWritablePrimary, RetryableWriteError', code: 10107, errorLabels: ['RetryableWriteError'] },
  { kind: 'failCommand', label: 'WriteConflict, TransientTransactionError', code: 112, errorLabels: ['TransientTransactionError'] },
  { kind: 'failCommand', label: 'InternalError, not retryable', code: 1, errorLabels: [] },
  { kind: 'failCommand', label: 'Unauthorized, not retryable', code: 13, errorLabels: [] },
];
const describeFault = (fault: Fault) => (fault.kind === 'failCommand' ? `failCommand ${fault.label}` : fault.kind);

const SWEEP_CHANGES = 4;
/** Changes 1 and 3 run without a transaction: their effect can stay half done, their record `running`. */
const sweepNonTransactional = (i: number) => i % 2 === 1;
const sweepId = (i: number) => `00${i}_change`;

describe('a fault at every command of a commit (CLI main, sandbox faults)', () => {
  const project = tempProject({
    'package.json': JSON.stringify({ name: 'app', type: 'module' }),
    // A lock left by a faulted release frees itself within a second.
    'delta.config.json': JSON.stringify({ path: './migrations', lock: { leaseMs: 1000 } }),
    ...Object.fromEntries(Array.from({ length: SWEEP_CHANGES }, (_, i) => [`migrations/${sweepId(i)}.js`, twoPartChangeFile(i, sweepNonTransactional(i) ? { transaction: 'never' } : {})])),
  });
  after(() => project.cleanup());
  const cli = (db: string, args: string[]) => runCliInProcess(args, { cwd: project.dir, env: { DELTA_URI: fixture.uriFor(db) } });

  /** One faulted commit on a fresh database, then the checks and the recovery; throws with what was wrong. */
  async function faultAt(sandbox: Sandbox, fault: Fault, k: number): Promise<number> {
    const db = uniqueDbName('sweep');
    const where = (text: string) => `${describeFault(fault)} at command ${k}: ${text}`;
    sandbox.faults.clear();
    if (fault.kind === 'failCommand') sandbox.faults.failCommand(k, { code: fault.code, errorLabels: fault.errorLabels });
    else sandbox.faults[fault.kind](k);
    const run = await cli(db, ['commit']);
    sandbox.faults.clear();
    assert.ok(run.code === 0 || run.code === 1, where(`exit ${run.code} is neither success nor "a change or the database failed": ${run.stderr}`));
    if (run.code === 1) assert.match(run.stderr, /^delta: error: /m, where('the failure is reported'));

    // No record says applied unless the effect is there; nothing ran twice; transactions are whole.
    const counts = await effectsPerChange(fixture.client, db);
    const records = new Map((await fixture.client.db(db).collection('delta_migrations').find({}).toArray()).map((r) => [String(r.changeId), r]));
    const leftovers: number[] = [];
    for (let i = 0; i < SWEEP_CHANGES; i += 1) {
      const count = counts.get(i) ?? 0;
      const record = records.get(sweepId(i));
      const status = record?.status as string | undefined;
      const what = where(`${sweepId(i)} recorded ${status ?? 'nothing'} with ${count} of 2 documents`);
      assert.ok(count <= 2, `${what}: applied twice`);
      if (status === 'applied') assert.equal(count, 2, what);
      if (!sweepNonTransactional(i)) assert.ok(count === 0 || count === 2, `${what}: a transaction was half applied`);
      // Pending and failed changes run again at the next commit, so nothing of them may remain,
      // unless the failure says its compensating rollback failed too (a person must look).
      if (status === undefined || status === 'failed') assert.ok(count === 0 || record?.error?.compensated === false, `${what}: it would run again on top of its effect`);
      if (count > 0 && status !== 'applied') leftovers.push(i);
    }

    // Recovery as an operator does it: undo and repair what was interrupted, then commit.
    const status = await cli(db, ['status', '--json']);
    assert.equal(status.code, 0, where(status.stderr));
    const interrupted = (JSON.parse(status.stdout) as { changes: { state: string }[] }).changes.flatMap((c, i) => (c.state === 'running' ? [i] : []));
    assert.ok(
      leftovers.every((i) => interrupted.includes(i) || records.get(sweepId(i))?.error?.compensated === false),
      where(`status shows each change left half done as running: ${interrupted.join(',')}`),
    );
    if (leftovers.length > 0)
      await fixture.client
        .db(db)
        .collection('effects')
        .deleteMany({ change: { $in: leftovers } });
    if (interrupted.length > 0) {
      const repaired = await cli(db, ['repair', '--lock-wait', '10s']);
      assert.equal(repaired.code, 0, where(`repair: ${repaired.stderr}`));
    }
    const next = await cli(db, ['commit', '--lock-wait', '10s']);
    assert.equal(next.code, 0, where(`the next commit: ${next.stderr}`));
    assert.deepEqual(
      [...(await effectsPerChange(fixture.client, db))].sort((a, b) => a[0] - b[0]),
      Array.from({ length: SWEEP_CHANGES }, (_, i) => [i, 2]),
      where('every effect exactly once'),
    );
    assert.equal(await fixture.client.db(db).collection('delta_migrations').countDocuments({ status: 'applied' }), SWEEP_CHANGES, where('every record applied'));
    // A release that failed leaves the lock to its lease (a second here): nobody renews it, and
    // once expired a plain `delta unlock` removes it.
    const left = await fixture.client.db(db).collection('delta_lock').findOne({});
    if (left !== null) {
      assert.ok(left.expiresAt instanceof Date, where('the lock has a lease'));
      await sleep(Math.max(0, left.expiresAt.getTime() - Date.now()) + 100);
      const unlocked = await cli(db, ['unlock']);
      assert.equal(unlocked.code, 0, where(`unlock of the expired lease: ${unlocked.stderr}`));
      assert.equal(await fixture.client.db(db).collection('delta_lock').countDocuments({}), 0, where('no lock left'));
    }
    return run.code;
  }

  it(
    `${STRESS ? 'every fault' : 'connections dropped before and after the command, and one of four errors'} at every command`,
    { skip: sandboxOnly('fault injection needs the sandbox') },
    async () => {
      const sandbox = fixture.server.sandbox;
      assert.ok(sandbox !== undefined);
      let runLength = 0;
      const count = () => (runLength += 1);
      sandbox.on('command', count);
      const reference = await cli(uniqueDbName('sweep'), ['commit']);
      sandbox.off('command', count);
      assert.equal(reference.code, 0, reference.stderr);

      const points: { fault: Fault; k: number }[] = [];
      for (let k = 1; k <= runLength; k += 1) {
        // npm test: both drops at every command, and each error at every fourth one.
        const faults = STRESS ? [CLOSE_BEFORE, CLOSE_AFTER_REPLY, ...FAILURES] : [CLOSE_BEFORE, CLOSE_AFTER_REPLY, FAILURES[k % FAILURES.length] as Fault];
        for (const fault of faults) points.push({ fault, k });
      }
      const failures: string[] = [];
      const exits = new Map<number, number>();
      for (const { fault, k } of points) {
        try {
          const code = await faultAt(sandbox, fault, k);
          exits.set(code, (exits.get(code) ?? 0) + 1);
        } catch (error) {
          failures.push(error instanceof Error ? error.message : String(error));
        }
      }
      assert.deepEqual(failures, [], `${failures.length} of ${points.length} faulted runs went wrong`);
      assert.ok((exits.get(1) ?? 0) > 0 && (exits.get(0) ?? 0) > 0, `some faults are survived, some fail the run: ${JSON.stringify([...exits])}`);
    },
  );
});

// The audit log of changes run without a transaction. On MongoDB 8.0+ each such change writes
// its record, its audit event and the next change's `running` marker in one client bulkWrite.
// Before 8.0 that would be two commands, so the event is kept in the change's record (one
// `update`) until the run ends and moves it to the audit collection (issue 22): a sandbox that
// answers as MongoDB 7.0 (wire version 21) runs that path here. What a user checks: the audit
// collection after a run, `delta history` at any time (a kill included), and no event lost or
// doubled when the next command moves what a killed run kept.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { runCli, runCliSignalledAt } from '../helpers/cli.js';
import { withDatabase } from '../helpers/connection-string.js';
import { sandboxOnly, uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** Where the databases live: the test server (MongoDB 8 when it is the sandbox), or a sandbox answering as MongoDB 7.0. */
interface Server {
  readonly client: MongoClient;
  uriFor(db: string): string;
}

function change(id: string): string {
  return `export default {
  transaction: 'never',
  async commit({ db }) { await db.collection('effects').insertOne({ _id: '${id}' }); },
  async rollback({ db }) { await db.collection('effects').deleteOne({ _id: '${id}' }); },
};
`;
}

/** Logs "waiting", then sleeps SLOW_MS; runs again after a kill (recovery: 'retry'). */
const SLOW = `export default {
  transaction: 'never',
  recovery: 'retry',
  async commit({ db, log }) {
    log('waiting');
    await new Promise((resolve) => setTimeout(resolve, Number(process.env.SLOW_MS ?? 0)));
    await db.collection('effects').insertOne({ _id: '003_slow' });
  },
  async rollback({ db }) { await db.collection('effects').deleteOne({ _id: '003_slow' }); },
};
`;

function setup(server: Server) {
  const p = fixture.project({ 'migrations/001_a.mjs': change('001_a'), 'migrations/002_b.mjs': change('002_b'), 'migrations/003_slow.mjs': SLOW });
  const db = uniqueDbName('auditnt');
  const env = { DELTA_URI: server.uriFor(db), DELTA_PATH: './migrations' };
  const delta = (...args: string[]) => runCli(args, { cwd: p.dir, env });
  /** The audit collection as stored: `action changeId outcome`, oldest first. */
  const stored = async () =>
    (await server.client.db(db).collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray())
      .filter((e) => e.changeId !== undefined)
      .map((e) => `${String(e.action)} ${String(e.changeId)} ${String(e.outcome)}`);
  const records = () => server.client.db(db).collection('delta_migrations').find({}).toArray();
  const history = async () => {
    const listed = await delta('history', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    return (JSON.parse(listed.stdout) as { events: { action: string; changeId: string | null; outcome: string }[] }).events
      .filter((e) => e.changeId !== null)
      .map((e) => `${e.action} ${String(e.changeId)} ${e.outcome}`)
      .reverse();
  };
  return { db, env, p, delta, stored, records, history };
}

function auditCases(server: () => Server, kept: boolean): void {
  it('after a run, every event is in the audit collection once, in order, and no record keeps one', async () => {
    const t = setup(server());
    const run = await t.delta('commit');
    assert.equal(run.code, 0, run.stderr);
    const expected = ['commit 001_a success', 'commit 002_b success', 'commit 003_slow success'];
    assert.deepEqual(await t.stored(), expected);
    assert.deepEqual(await t.history(), expected);
    for (const record of await t.records()) assert.equal(record.auditLater, undefined, `${String(record._id)} keeps no audit event`);

    const back = await t.delta('rollback', '--to', '001_a');
    assert.equal(back.code, 0, back.stderr);
    assert.deepEqual(await t.stored(), [...expected, 'rollback 003_slow success', 'rollback 002_b success']);
  });

  it('a killed run: history shows the events its finished changes kept, and the next run moves them to the collection exactly once', async () => {
    const t = setup(server());
    const killed = await runCliSignalledAt(['commit'], '003_slow: waiting', 'SIGKILL', { cwd: t.p.dir, env: { ...t.env, SLOW_MS: '60000' } });
    assert.equal(killed.signal, 'SIGKILL');
    const statuses = Object.fromEntries((await t.records()).map((r) => [String(r._id), r.status]));
    assert.deepEqual(statuses, { '001_a': 'applied', '002_b': 'applied', '003_slow': 'running' });
    // Read through delta, the log already holds both finished changes.
    assert.deepEqual(await t.history(), ['commit 001_a success', 'commit 002_b success']);
    // Before 8.0 their events are still kept in their records; from 8.0 they were written at once.
    assert.deepEqual(
      (await t.records()).filter((r) => Array.isArray(r.auditLater)).map((r) => String(r._id)),
      kept ? ['001_a', '002_b'] : [],
    );
    assert.deepEqual(await t.stored(), kept ? [] : ['commit 001_a success', 'commit 002_b success']);

    assert.equal((await t.delta('unlock', '--force')).code, 0);
    const next = await t.delta('commit');
    assert.equal(next.code, 0, next.stderr);
    const expected = ['commit 001_a success', 'commit 002_b success', 'commit 003_slow success'];
    assert.deepEqual(
      (await t.stored()).filter((e) => !e.startsWith('unlock')),
      expected,
    );
    assert.deepEqual(
      (await t.history()).filter((e) => !e.startsWith('unlock')),
      expected,
    );
    for (const record of await t.records()) assert.equal(record.auditLater, undefined, `${String(record._id)} keeps no audit event`);
  });
}

describe('the audit log of changes run without a transaction (the test server)', () => {
  auditCases(() => ({ client: fixture.client, uriFor: (db) => fixture.uriFor(db) }), false);
});

describe('the audit log of changes run without a transaction, before MongoDB 8.0 (events kept in records)', { skip: sandboxOnly('a sandbox answering as MongoDB 7.0') }, () => {
  let sandbox: Sandbox | undefined;
  let client: MongoClient | undefined;
  before(async () => {
    sandbox = await startSandbox({ maxWireVersion: 21 });
    client = await new MongoClient(sandbox.uri).connect();
  });
  after(async () => {
    await client?.close();
    await sandbox?.stop();
  });
  auditCases(() => ({ client: client as MongoClient, uriFor: (db) => withDatabase((sandbox as Sandbox).uri, db) }), true);
});

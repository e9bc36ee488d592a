// Consecutive transactional changes share one transaction (`groupTransactions`, on by default):
// one commit for the group, each change still with its own record and audit event, and a
// failure inside a group found and recorded exactly as without grouping.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CommandStartedEvent } from 'mongodb';
import { MongoClient } from 'mongodb';
import type { Delta } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { insertChange } from '../helpers/changes.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

describe('transaction groups', () => {
  const open: (Delta | MongoClient)[] = [];
  after(async () => Promise.all(open.map((o) => o.close())));

  /** A delta on a client of its own that counts the commands it sends, by name. */
  async function counted(db: string, changes: readonly ChangeDefinition[], config: Record<string, unknown> = {}) {
    const client = await new MongoClient(fixture.server.uri, { monitorCommands: true }).connect();
    open.push(client);
    const sent: string[] = [];
    client.on('commandStarted', (event: CommandStartedEvent) => sent.push(event.commandName));
    const delta = createDelta({ client, config: { db, ...config }, changes, env: {} });
    open.push(delta);
    return { delta, commits: () => sent.filter((name) => name === 'commitTransaction').length };
  }
  const ids = (n: number) => Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(3, '0')}_c`);
  const effects = async (db: string) => (await fixture.client.db(db).collection<{ _id: string }>('effects').find({}).sort({ _id: 1 }).toArray()).map((d) => d._id);
  const records = (db: string) => fixture.client.db(db).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
  const audit = (db: string) =>
    fixture.client
      .db(db)
      .collection('delta_audit')
      .find({ changeId: { $exists: true } })
      .sort({ at: 1, _id: 1 })
      .toArray();

  it('twelve quick changes share transactions (one on a quiet machine), each with its own record and audit event', async () => {
    const db = uniqueDbName('grp');
    const { delta, commits } = await counted(
      db,
      ids(12).map((id) => insertChange(id)),
    );
    const result = await delta.commit();
    assert.equal(result.outcome, 'success');
    // One group on a quiet machine; a loaded one may close a group at 100 ms before all twelve joined.
    assert.ok(commits() >= 1 && commits() <= 4, `twelve changes in at most 4 commits (groups of 3 or more), got ${commits()}`);
    assert.deepEqual(await effects(db), ids(12));
    const stored = await records(db);
    assert.deepEqual(
      stored.map((r) => [r.changeId, r.status, r.transactional]),
      ids(12).map((id) => [id, 'applied', true]),
    );
    for (const record of stored) assert.equal(typeof record.durationMs, 'number');
    assert.deepEqual(
      (await audit(db)).map((a) => [a.changeId, a.action, a.outcome]),
      ids(12).map((id) => [id, 'commit', 'success']),
    );
  });

  it('with groupTransactions: false every change has a transaction of its own', async () => {
    const db = uniqueDbName('grp');
    const { delta, commits } = await counted(
      db,
      ids(5).map((id) => insertChange(id)),
      { groupTransactions: false },
    );
    assert.equal((await delta.commit()).outcome, 'success');
    assert.equal(commits(), 5);
    assert.deepEqual(await effects(db), ids(5));
  });

  it('a change failing inside a group: the changes before it are re-run one per transaction and applied, and it is recorded failed without running again', async () => {
    const db = uniqueDbName('grp');
    const calls = new Map<string, number>();
    const counting = (change: ChangeDefinition): ChangeDefinition => ({
      ...change,
      async commit(context) {
        calls.set(change.id ?? '', (calls.get(change.id ?? '') ?? 0) + 1);
        await change.commit(context);
      },
    });
    const failing = counting({
      id: '003_c',
      async commit({ db: target, session }) {
        await target.collection<{ _id: string }>('effects').insertOne({ _id: '003_c' }, { session });
        throw new Error('disk on fire');
      },
    });
    const { delta, commits } = await counted(db, [counting(insertChange('001_c')), counting(insertChange('002_c')), failing, counting(insertChange('004_c'))]);
    const result = await delta.commit();
    assert.equal(result.outcome, 'failed');
    assert.match(result.error?.message ?? '', /^003_c failed: disk on fire$/);
    assert.deepEqual(
      result.changes.map((c) => [c.id, c.status]),
      [
        ['001_c', 'done'],
        ['002_c', 'done'],
        ['003_c', 'failed'],
        ['004_c', 'not-run'],
      ],
    );
    assert.deepEqual(await effects(db), ['001_c', '002_c'], 'nothing of 003_c, and 004_c never ran');
    assert.deepEqual(
      (await records(db)).map((r) => [r.changeId, r.status]),
      [
        ['001_c', 'applied'],
        ['002_c', 'applied'],
        ['003_c', 'failed'],
      ],
    );
    // The aborted group's records and events went with it: each change is in the audit log once.
    assert.deepEqual(
      (await audit(db)).map((a) => [a.changeId, a.outcome]),
      [
        ['001_c', 'success'],
        ['002_c', 'success'],
        ['003_c', 'failure'],
      ],
    );
    assert.deepEqual(Object.fromEntries(calls), { '001_c': 2, '002_c': 2, '003_c': 1 }, 'the group ran once, then the changes before the failure alone; the failing one is not run again');
    assert.equal(commits(), 2, 'the two changes before the failure, committed alone');
  });

  it('a group takes no new change once its transaction has been open 100 ms', async () => {
    const db = uniqueDbName('grp');
    const slowish = (id: string): ChangeDefinition =>
      insertChange(id, {
        async commit({ db: target, session }) {
          await new Promise((resolve) => setTimeout(resolve, 40));
          await target.collection<{ _id: string }>('effects').insertOne({ _id: id }, { session });
        },
      });
    const { delta, commits } = await counted(db, ids(6).map(slowish));
    assert.equal((await delta.commit()).outcome, 'success');
    assert.ok(commits() >= 2, `6 changes of 40 ms need at least 2 groups, got ${commits()} commit(s)`);
    assert.deepEqual(await effects(db), ids(6));
  });
  it("an aborted group's log lines and events are dropped: each change reports once, in order, its lines before its result", async () => {
    const db = uniqueDbName('grp');
    const logging = (id: string, fails = false): ChangeDefinition =>
      insertChange(id, {
        async commit({ db: target, session, log }) {
          log(`${id} working`);
          await target.collection<{ _id: string }>('effects').insertOne({ _id: id }, { session });
          if (fails) throw new Error('disk on fire');
        },
      });
    const { delta } = await counted(db, [logging('001_c'), logging('002_c'), logging('003_c', true)]);
    const seen: string[] = [];
    delta.on('change:start', (e) => seen.push(`start ${e.changeId}`));
    delta.on('change:log', (e) => seen.push(`log ${e.message}`));
    delta.on('change:success', (e) => seen.push(`ok ${e.changeId}`));
    delta.on('change:failure', (e) => seen.push(`failed ${e.changeId}`));
    assert.equal((await delta.commit()).outcome, 'failed');
    // Each result is reported once and in order, whatever the machine's speed.
    assert.deepEqual(
      seen.filter((line) => /^(ok|failed) /.test(line)),
      ['ok 001_c', 'ok 002_c', 'failed 003_c'],
    );
    // A group older than GROUP_MAX_MS (a loaded machine) lets its lines out as they come, by design;
    // a group that stayed young printed nothing of its aborted attempt.
    const wentLive = seen.indexOf('start 002_c') < seen.indexOf('ok 001_c');
    if (!wentLive) assert.deepEqual(seen, ['start 001_c', 'log 001_c working', 'ok 001_c', 'start 002_c', 'log 002_c working', 'ok 002_c', 'start 003_c', 'log 003_c working', 'failed 003_c']);
  });

  it('with services configured, or for a change with sideEffects: true, no transaction is shared: a failure never runs another change twice', async () => {
    for (const setup of ['services', 'sideEffects'] as const) {
      const db = uniqueDbName('grp');
      const calls: string[] = [];
      const notifying = (id: string, fails = false): ChangeDefinition =>
        insertChange(id, {
          ...(setup === 'sideEffects' ? { sideEffects: true } : {}),
          async commit({ db: target, session }) {
            calls.push(id); // stands for an HTTP call or a queue message
            await target.collection<{ _id: string }>('effects').insertOne({ _id: id }, { session });
            if (fails) throw new Error('webhook refused');
          },
        });
      const { delta, commits } = await counted(db, [notifying('001_c'), notifying('002_c'), notifying('003_c', true)], setup === 'services' ? { services: () => ({ webhooks: {} }) } : {});
      assert.equal((await delta.commit()).outcome, 'failed', setup);
      assert.deepEqual(calls, ['001_c', '002_c', '003_c'], `${setup}: each change ran exactly once`);
      assert.equal(commits(), 2, `${setup}: one transaction per applied change`);
      assert.deepEqual(await effects(db), ['001_c', '002_c']);
    }
  });
});

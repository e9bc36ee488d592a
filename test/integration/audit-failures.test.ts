// Every failure path leaves its reason in the append-only audit log, the same text as in the
// change's record (issue #20 item 1: the audit log stored "[object Object]" for every failure).
// Each case reads back the stored audit event and record, in the MongoDB tracker (internal) and
// the SQLite tracker, and one case goes through the CLI (`delta history --json`).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AuditEvent, Delta, DeltaConfigInput } from '../../src/index.js';
import { createDelta } from '../../src/index.js';
import { STORED_MESSAGE_LIMIT } from '../../src/runner/outcomes.js';
import { insertChange } from '../helpers/changes.js';
import { runCli } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

interface Store {
  readonly name: string;
  config(db: string): DeltaConfigInput;
}

const STORES: readonly Store[] = [
  { name: 'MongoDB tracker', config: (db) => ({ uri: fixture.server.uri, db }) },
  { name: 'SQLite tracker', config: (db) => ({ uri: fixture.server.uri, db, tracker: { uri: `sqlite:${join(fixture.project().dir, 'delta.sqlite')}` } }) },
];

const fail = (id: string, reason: string, extra: Partial<ChangeDefinition> = {}): ChangeDefinition => ({
  ...insertChange(id),
  ...extra,
  commit: async ({ db, session }) => {
    await db.collection('effects').insertOne({ _id: id as never }, { session });
    throw new Error(reason);
  },
});

for (const store of STORES) {
  describe(`failure reasons in the audit log (${store.name})`, () => {
    const open: Delta[] = [];
    after(async () => Promise.all(open.map((d) => d.close())));
    const make = (db: string, changes: readonly ChangeDefinition[], config: DeltaConfigInput = {}) => {
      const delta = createDelta({ config: { ...store.config(db), ...config }, changes, env: {} });
      open.push(delta);
      return delta;
    };
    /** The failure event of a change and its record's error, read back from the tracker. */
    const stored = async (delta: Delta, changeId: string, action: 'commit' | 'rollback' = 'commit') => {
      const events = await delta.history({ changeId });
      const event = events.find((e: AuditEvent) => e.action === action && e.outcome === 'failure');
      const status = await delta.status();
      return { event, record: status.changes.find((c) => c.id === changeId) };
    };

    it('a transactional failure', async () => {
      const delta = make(uniqueDbName('aud'), [insertChange('001_a'), fail('002_b', 'E11000 duplicate key: email a@x')], { groupTransactions: false });
      assert.equal((await delta.commit()).outcome, 'failed');
      const { event, record } = await stored(delta, '002_b');
      assert.deepEqual(event?.error, { message: 'E11000 duplicate key: email a@x' });
      assert.equal(event?.transactional, true);
      assert.equal(record?.error, 'E11000 duplicate key: email a@x', 'record and event say the same');
    });

    it('a failure without a transaction that its rollback compensated', async () => {
      const delta = make(uniqueDbName('aud'), [fail('001_half', 'second half failed', { transaction: 'never' })]);
      assert.equal((await delta.commit()).outcome, 'failed');
      const { event, record } = await stored(delta, '001_half');
      assert.deepEqual(event?.error, { message: 'second half failed (its rollback ran to compensate)', compensated: true });
      assert.equal(record?.error, 'second half failed (its rollback ran to compensate)');
    });

    it('a rollback that fails', async () => {
      const delta = make(uniqueDbName('aud'), [{ ...insertChange('001_a'), rollback: () => Promise.reject(new Error('cannot drop: in use')) }]);
      assert.equal((await delta.commit()).outcome, 'success');
      assert.equal((await delta.rollback()).outcome, 'failed');
      const { event } = await stored(delta, '001_a', 'rollback');
      assert.deepEqual(event?.error, { message: 'cannot drop: in use' });
    });

    it('a timeout', async () => {
      const delta = make(uniqueDbName('aud'), [{ ...insertChange('001_stuck'), timeoutMs: 200, commit: () => new Promise<void>(() => undefined) }]);
      assert.equal((await delta.commit()).outcome, 'failed');
      const { event, record } = await stored(delta, '001_stuck');
      assert.equal(event?.error?.message, 'timed out after 200 ms');
      assert.equal(event?.error?.code, 'CHANGE_FAILED');
      assert.equal(record?.error, 'timed out after 200 ms');
    });

    it('Ctrl-C during a transactional change', async () => {
      const interrupt = new AbortController();
      const delta = make(uniqueDbName('aud'), [
        {
          ...insertChange('001_long'),
          commit: async ({ signal }) => {
            interrupt.abort();
            await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
          },
        },
      ]);
      assert.equal((await delta.commit({ interrupt: interrupt.signal })).outcome, 'interrupted');
      const { event, record } = await stored(delta, '001_long');
      assert.equal(event?.error?.message, 'interrupted (Ctrl-C); its transaction was aborted');
      assert.equal(event?.error?.code, 'INTERRUPTED');
      assert.equal(record?.state, 'failed');
      assert.equal(record?.error, 'interrupted (Ctrl-C); its transaction was aborted');
    });

    it('a failure inside a transaction group', async () => {
      const delta = make(uniqueDbName('aud'), [insertChange('001_a'), insertChange('002_b'), fail('003_c', 'disk on fire')]);
      assert.equal((await delta.commit()).outcome, 'failed');
      const { event, record } = await stored(delta, '003_c');
      assert.deepEqual(event?.error, { message: 'disk on fire' });
      assert.equal(record?.error, 'disk on fire');
      assert.deepEqual(
        (await delta.status()).changes.map((c) => c.state),
        ['applied', 'applied', 'failed'],
      );
    });

    // A record or audit event over 16 MB cannot be written (BSONObjectTooLarge): a change that
    // throws a 20 MB message would go unrecorded. The message is stored cut, start and end kept.
    for (const transaction of ['auto', 'never'] as const) {
      it(`a 20 MB error message (transaction: '${transaction}') is stored cut, and the failure is recorded`, async () => {
        const huge = `huge failure: ${'x'.repeat(20 * 1024 * 1024)} end of the message`;
        const delta = make(uniqueDbName('aud'), [{ ...fail('001_huge', huge), transaction }]);
        const result = await delta.commit();
        assert.equal(result.outcome, 'failed');
        const { event, record } = await stored(delta, '001_huge');
        const message = event?.error?.message ?? '';
        assert.ok(message.length <= STORED_MESSAGE_LIMIT, `stored ${message.length} characters`);
        assert.match(message, /^huge failure: x+ \[…\d+ characters left out…\] x+ end of the message/);
        if (transaction === 'never') assert.match(message, / \(its rollback ran to compensate\)$/, 'what delta appended is kept');
        assert.equal(record?.error, message, 'record and event say the same');
        assert.equal(record?.state, 'failed');
      });
    }

    it('a hook failure', async () => {
      const delta = make(uniqueDbName('aud'), [insertChange('001_a')], {
        hooks: {
          beforeEach: () => {
            throw new Error('change freeze until 18:00');
          },
        },
      });
      assert.equal((await delta.commit()).outcome, 'failed');
      const events = await delta.history({ changeId: '001_a' });
      assert.equal(events.length, 1);
      assert.equal(events[0]?.outcome, 'failure');
      assert.equal(events[0]?.error?.message, 'beforeEach hook failed at 001_a: change freeze until 18:00');
      assert.deepEqual(events[0]?.details, { hook: 'beforeEach' });
    });
  });
}

describe('failure reasons through the CLI', () => {
  it('delta history --json shows the server error of a failed commit, as the record does', async () => {
    const p = fixture.project({
      'migrations/001_users.mjs': `export default {
  async commit({ db }) {
    await db.createCollection('users');
    await db.collection('users').insertOne({ _id: 'a@x' });
  },
};
`,
      'migrations/002_dup.mjs': "export default { async commit({ db }) { await db.collection('users').insertOne({ _id: 'a@x' }); } };\n",
    });
    const db = uniqueDbName('audcli');
    const env = { DELTA_URI: fixture.uriFor(db), DELTA_PATH: './migrations' };
    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 1, commit.stderr);
    const history = await runCli(['history', '--json'], { cwd: p.dir, env });
    assert.equal(history.code, 0, history.stderr);
    const events = (JSON.parse(history.stdout) as { events: { changeId: string; outcome: string; error?: { message: string; code: number } }[] }).events;
    const failure = events.find((e) => e.changeId === '002_dup' && e.outcome === 'failure');
    assert.match(String(failure?.error?.message), /^E11000 duplicate key error collection: .*users/);
    assert.equal(failure?.error?.code, 11000);
    const text = await runCli(['history'], { cwd: p.dir, env });
    assert.doesNotMatch(text.stdout, /\[object Object\]/);
    assert.match(text.stdout, /E11000 duplicate key/);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '002_dup' as never });
    assert.equal(record?.error?.message, failure?.error?.message);
  });
});

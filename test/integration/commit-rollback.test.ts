import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { CreateDeltaOptions, Delta, DeltaEvents } from '../../src/index.js';
import { ChangeFailedError, createDelta } from '../../src/index.js';
import { insertChange } from '../helpers/changes.js';
import { withOption } from '../helpers/connection-string.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();

const IDS = ['001_a', '002_b', '003_c', '004_d'];

interface Mode {
  readonly name: string;
  /** Where history lives for a target database. */
  readonly trackerDb: (target: string) => string;
  readonly config: (target: string) => NonNullable<CreateDeltaOptions['config']>;
  readonly recordId: (target: string, id: string) => string;
}

const MODES: Mode[] = [
  { name: 'internal tracker', trackerDb: (t) => t, config: () => ({}), recordId: (_t, id) => id },
  {
    name: 'external tracker database',
    trackerDb: (t) => `${t}_trk`,
    config: (t) => ({ tracker: { db: `${t}_trk` } }),
    recordId: (t, id) => `${t}/${id}`,
  },
  {
    name: 'external tracker deployment (separate client)',
    trackerDb: (t) => `${t}_ext`,
    // Another connection string to the same server: delta opens a second client for the tracker.
    config: (t) => ({ tracker: { uri: withOption(fixture.server.uri, 'appName', 'tracker'), db: `${t}_ext` } }),
    recordId: (t, id) => `${t}/${id}`,
  },
];

for (const mode of MODES) {
  describe(`commit and rollback (${mode.name})`, () => {
    const open: Delta[] = [];
    after(async () => Promise.all(open.map((d) => d.close())));

    function setup(changes: readonly ChangeDefinition[], config: NonNullable<CreateDeltaOptions['config']> = {}) {
      const db = uniqueDbName('cr');
      const make = (list = changes, more = config) => {
        const delta = createDelta({ config: { uri: fixture.server.uri, db, lock: { waitMs: 10_000 }, ...mode.config(db), ...more }, changes: list, env: {} });
        open.push(delta);
        return delta;
      };
      const effects = async () => (await fixture.client.db(db).collection('effects').find({}).sort({ _id: 1 }).toArray()).map((d) => d._id as unknown as string);
      const records = () => fixture.client.db(mode.trackerDb(db)).collection('delta_migrations').find({}).sort({ changeId: 1 }).toArray();
      const audit = () => fixture.client.db(mode.trackerDb(db)).collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray();
      return { db, make, effects, records, audit };
    }

    it('commit applies every pending change in id order and records each with its audit event', async () => {
      const t = setup([IDS[2], IDS[0], IDS[3], IDS[1]].map((id) => insertChange(id ?? '')));
      const delta = t.make();
      const seen: string[] = [];
      delta.on('change:success', (e: DeltaEvents['change:success']) => seen.push(e.changeId));
      const result = await delta.commit();
      assert.equal(result.outcome, 'success');
      assert.equal(result.error, undefined);
      assert.deepEqual(seen, IDS);
      assert.deepEqual(await t.effects(), IDS);
      const records = await t.records();
      assert.deepEqual(
        records.map((r) => r._id),
        IDS.map((id) => mode.recordId(t.db, id)),
      );
      for (const record of records) {
        assert.equal(record.status, 'applied');
        assert.equal(record.targetDb, t.db);
        assert.equal(record.runId, result.runId);
        assert.equal(record.transactional, true);
        assert.match(record.checksum as string, /^[0-9a-f]{64}$/);
        assert.ok(record.appliedAt instanceof Date);
        assert.equal(typeof record.durationMs, 'number');
        assert.equal(record.executedBy.pid > 0, true);
        assert.equal(typeof record.toolVersion, 'string');
        assert.equal(record.error, undefined);
      }
      const audit = await t.audit();
      assert.deepEqual(
        audit.map((a) => [a.changeId, a.action, a.outcome]),
        IDS.map((id) => [id, 'commit', 'success']),
      );
      if (mode.trackerDb(t.db) !== t.db) {
        const names = (await fixture.client.db(t.db).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
        assert.deepEqual(names, ['effects'], 'external mode leaves no tracker collection in the target');
      }
    });

    it('a second commit has nothing to do and writes nothing', async () => {
      const t = setup(IDS.map((id) => insertChange(id)));
      await t.make().commit();
      const auditBefore = await t.audit();
      const result = await t.make().commit();
      assert.equal(result.outcome, 'nothing-to-do');
      assert.deepEqual(result.changes, []);
      assert.equal((await t.audit()).length, auditBefore.length);
    });

    it('commit --to is inclusive and --only applies one change', async () => {
      const t = setup(IDS.map((id) => insertChange(id)));
      await t.make().commit({ to: '002_b' });
      assert.deepEqual(await t.effects(), ['001_a', '002_b']);
      await t.make().commit({ only: '003_c' });
      assert.deepEqual(await t.effects(), ['001_a', '002_b', '003_c']);
    });

    it('rollback variants: last, --steps, --to, --id, --all; records become rolled_back and commit re-applies', async () => {
      const t = setup(IDS.map((id) => insertChange(id)));
      await t.make().commit();

      const last = await t.make().rollback();
      assert.deepEqual(
        last.changes.map((c) => [c.id, c.status]),
        [['004_d', 'done']],
      );
      assert.deepEqual(await t.effects(), ['001_a', '002_b', '003_c']);

      await t.make().commit();
      const steps = await t.make().rollback({ steps: 2 });
      assert.deepEqual(
        steps.changes.map((c) => c.id),
        ['004_d', '003_c'],
      );
      assert.deepEqual(await t.effects(), ['001_a', '002_b']);

      await t.make().commit();
      const to = await t.make().rollback({ to: '001_a' });
      assert.deepEqual(
        to.changes.map((c) => c.id),
        ['004_d', '003_c', '002_b'],
      );
      assert.deepEqual(await t.effects(), ['001_a'], '--to keeps the named change applied');
      const records = await t.records();
      assert.deepEqual(
        records.map((r) => r.status),
        ['applied', 'rolled_back', 'rolled_back', 'rolled_back'],
      );
      assert.ok(records[1]?.rolledBackAt instanceof Date);

      await t.make().commit();
      assert.deepEqual(await t.effects(), IDS);
      await t.make().rollback({ id: '004_d' });
      assert.deepEqual(await t.effects(), ['001_a', '002_b', '003_c']);
      await t.make().commit();

      const all = await t.make().rollback({ all: true });
      assert.equal(all.changes.length, 4);
      assert.deepEqual(await t.effects(), []);
      const actions = (await t.audit()).map((a) => `${a.action}:${a.changeId}`);
      assert.equal(actions.filter((a) => a.startsWith('rollback:')).length, 1 + 2 + 3 + 1 + 4);
    });

    it('rollback --since reverts what was applied at or after a time', async () => {
      const t = setup(IDS.map((id) => insertChange(id)));
      await t.make().commit({ to: '002_b' });
      await new Promise((resolve) => setTimeout(resolve, 20));
      const since = new Date();
      await t.make().commit();
      const result = await t.make().rollback({ since });
      assert.deepEqual(
        result.changes.map((c) => c.id),
        ['004_d', '003_c'],
      );
      assert.deepEqual(await t.effects(), ['001_a', '002_b']);
    });

    it('rollback with nothing applied has nothing to do', async () => {
      const t = setup(IDS.map((id) => insertChange(id)));
      const result = await t.make().rollback();
      assert.equal(result.outcome, 'nothing-to-do');
    });

    it('a failing transactional change leaves no effect, is recorded failed, stops the run, and the next commit resumes from it', async () => {
      let broken = true;
      const failing: ChangeDefinition = {
        id: '002_b',
        async commit({ db, session }) {
          await db.collection<{ _id: string }>('effects').insertOne({ _id: '002_b' }, { session });
          if (broken) throw new Error('disk on fire');
        },
        async rollback() {},
      };
      const t = setup([insertChange('001_a'), failing, insertChange('003_c')]);
      const result = await t.make().commit();
      assert.equal(result.outcome, 'failed');
      assert.ok(result.error instanceof ChangeFailedError);
      assert.match(result.error.message, /^002_b failed: disk on fire$/);
      assert.deepEqual(
        result.changes.map((c) => [c.id, c.status]),
        [
          ['001_a', 'done'],
          ['002_b', 'failed'],
          ['003_c', 'not-run'],
        ],
      );
      assert.deepEqual(await t.effects(), ['001_a'], 'the aborted transaction left nothing of 002_b');
      const records = await t.records();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [
          ['001_a', 'applied'],
          ['002_b', 'failed'],
        ],
      );
      assert.equal(records[1]?.error?.message, 'disk on fire');
      const failures = (await t.audit()).filter((a) => a.outcome === 'failure');
      assert.deepEqual(
        failures.map((a) => a.changeId),
        ['002_b'],
      );

      broken = false;
      const retry = await t.make().commit();
      assert.equal(retry.outcome, 'success');
      assert.deepEqual(
        retry.changes.map((c) => c.id),
        ['002_b', '003_c'],
      );
      assert.deepEqual(await t.effects(), ['001_a', '002_b', '003_c']);
      assert.equal((await t.records())[1]?.error, undefined, 'the error is cleared once applied');
    });

    it('without a transaction: recorded running first, compensated by its own rollback on failure', async () => {
      const statusesSeen: string[] = [];
      const t = setup([]);
      const failing: ChangeDefinition = {
        id: '001_half',
        transaction: 'never',
        async commit({ db }) {
          const rec = await fixture.client.db(mode.trackerDb(t.db)).collection('delta_migrations').findOne({ changeId: '001_half' });
          statusesSeen.push(String(rec?.status));
          await db.collection('effects').insertOne({ _id: 'first-half' } as never);
          throw new Error('second half failed');
        },
        async rollback({ db }) {
          await db.collection('effects').deleteOne({ _id: 'first-half' } as never);
        },
      };
      const result = await t.make([failing]).commit();
      assert.deepEqual(statusesSeen, ['running']);
      assert.equal(result.outcome, 'failed');
      assert.equal(result.changes[0]?.compensated, true);
      assert.match(result.error?.message ?? '', /001_half failed: second half failed \(its rollback ran to compensate\)/);
      assert.deepEqual(await t.effects(), []);
      const [record] = await t.records();
      assert.equal(record?.status, 'failed');
      assert.equal(record?.transactional, false);
      assert.equal(record?.error?.compensated, true);
    });

    it('--no-auto-rollback (autoRollback: false) leaves a failed non-transactional change as it stopped', async () => {
      const t = setup([]);
      const failing: ChangeDefinition = {
        id: '001_half',
        transaction: 'never',
        async commit({ db }) {
          await db.collection('effects').insertOne({ _id: 'first-half' } as never);
          throw new Error('boom');
        },
        async rollback({ db }) {
          await db.collection('effects').deleteMany({});
        },
      };
      const result = await t.make([failing], { autoRollback: false }).commit();
      assert.equal(result.changes[0]?.compensated, undefined);
      assert.deepEqual(await t.effects(), ['first-half']);
    });

    it("transaction: 'never' for the run records running, then applied, with transactional false", async () => {
      const t = setup(
        IDS.slice(0, 2).map((id) => insertChange(id)),
        { transaction: 'never' },
      );
      const result = await t.make().commit();
      assert.deepEqual(
        result.changes.map((c) => c.transactional),
        [false, false],
      );
      assert.deepEqual(
        (await t.records()).map((r) => [r.status, r.transactional, r.startedAt instanceof Date]),
        [
          ['applied', false, true],
          ['applied', false, true],
        ],
      );
    });

    it('a rollback that throws stops before the next one and leaves the change applied', async () => {
      const t = setup([insertChange('001_a'), { ...insertChange('002_b'), rollback: () => Promise.reject(new Error('cannot undo')) }, insertChange('003_c')]);
      await t.make().commit();
      const result = await t.make().rollback({ all: true });
      assert.equal(result.outcome, 'failed');
      assert.deepEqual(
        result.changes.map((c) => [c.id, c.status]),
        [
          ['003_c', 'done'],
          ['002_b', 'failed'],
          ['001_a', 'not-run'],
        ],
      );
      assert.deepEqual(await t.effects(), ['001_a', '002_b']);
      assert.deepEqual(
        (await t.records()).map((r) => r.status),
        ['applied', 'applied', 'rolled_back'],
      );
    });

    it('status reports every state from one read of history', async () => {
      const t = setup([]);
      const changes = [
        insertChange('001_a'),
        insertChange('002_b'),
        { ...insertChange('003_c'), commit: () => Promise.reject(new Error('no')) },
        insertChange('004_d'),
        insertChange('005_e'),
        insertChange('006_f'),
      ];
      await t.make(changes).commit({ to: '002_b' });
      const early = await t.make(changes).status();
      assert.deepEqual(
        early.changes.map((c) => c.state),
        ['applied', 'applied', 'pending', 'pending', 'pending', 'pending'],
      );
      assert.equal(early.summary.pending, 4);
      await t.make(changes).commit();
      await t.make(changes).commit({ only: '006_f' });
      await t.make(changes).rollback({ id: '002_b' });
      // 005a_late appears after 006_f was applied: out of order. 004_d and 005_e were there when
      // --only left them out: pending, with the reason.
      const edited = [{ ...insertChange('001_a'), commit: async () => undefined }, ...changes.slice(1, 5), insertChange('005a_late')];
      const status = await t.make(edited).status();
      assert.deepEqual(
        status.changes.map((c) => [c.id, c.state]),
        [
          ['001_a', 'modified'],
          ['002_b', 'rolled_back'],
          ['003_c', 'failed'],
          ['004_d', 'pending'],
          ['005_e', 'pending'],
          ['005a_late', 'out_of_order'],
          ['006_f', 'missing'],
        ],
      );
      assert.equal(status.changes[2]?.error, 'no');
      assert.equal(status.changes[3]?.reason, 'left pending by an earlier commit: not selected by --only 006_f');
      assert.equal(status.summary.total, 7);
      assert.equal(status.summary.out_of_order, 1);
      assert.equal(status.lock, undefined);
    });
  });
}

// The tracker and lock contract, run unchanged against both stores delta has: MongoDB
// collections (the sandbox, or MONGODB_URI) and a SQLite file. What the runner relies on:
// states as recorded, the whole history in one read, records written in order with their audit
// events, an append-only audit log, checkpoints, and a lease that waits, names its holder, is
// never stolen while live, notices when it is removed, and can be taken again once free.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openConnection } from '../../src/connection/index.js';
import { LockHeldError, LockLostError } from '../../src/errors.js';
import type { Lease, LockStore } from '../../src/lock/index.js';
import { mongoLockStore, sqliteLockStore } from '../../src/lock/index.js';
import { openSqliteFile } from '../../src/sqlite/sqlite-file.js';
import type { AuditEvent, RecordChange, Tracker } from '../../src/tracker/index.js';
import { MongoTracker, SqliteTracker, executedBy } from '../../src/tracker/index.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import { tempProject } from '../helpers/temp.js';

const fixture = useServer();

interface Store {
  readonly tracker: Tracker;
  readonly locks: LockStore;
  close(): Promise<void>;
}

async function mongoStore(targetDb: string, clientBulkWrite: (supported: boolean) => boolean): Promise<Store> {
  const connection = await openConnection({ uri: fixture.server.uri, source: 'test', connectTimeoutMs: 10_000 });
  return {
    tracker: new MongoTracker({
      client: connection.client,
      trackerDb: targetDb,
      targetDb,
      collections: { migrations: 'delta_migrations', audit: 'delta_audit' },
      sharesTargetClient: true,
      clientBulkWrite: clientBulkWrite(connection.deployment.clientBulkWrite),
    }),
    locks: mongoLockStore(connection.client.db(targetDb).collection('delta_lock')),
    close: () => connection.close(),
  };
}

const STORES: { readonly name: string; open(targetDb: string): Promise<Store> }[] = [
  { name: 'MongoDB', open: (targetDb) => mongoStore(targetDb, (supported) => supported) },
  // What a server before 8.0 gets: records and audit events as two collection-level commands.
  { name: 'MongoDB without client bulkWrite', open: (targetDb) => mongoStore(targetDb, () => false) },
  {
    name: 'SQLite',
    async open(targetDb) {
      const folder = tempProject();
      const file = await openSqliteFile(join(folder.dir, 'delta.sqlite'), 'test');
      return {
        tracker: new SqliteTracker({ db: file, targetDb }),
        locks: sqliteLockStore(file),
        close: () => {
          file.close();
          folder.cleanup();
          return Promise.resolve();
        },
      };
    },
  },
];

const change = (changeId: string, status: RecordChange['status'], extra: Partial<RecordChange> = {}): RecordChange => ({
  changeId,
  status,
  checksum: `sum-${changeId}`,
  file: `${changeId}.js`,
  description: undefined,
  runId: 'run-1',
  transactional: true,
  at: new Date(),
  ...extra,
});

const event = (targetDb: string, changeId: string | undefined, action: AuditEvent['action'], outcome: AuditEvent['outcome'] = 'success'): AuditEvent => ({
  runId: 'run-1',
  changeId,
  targetDb,
  action,
  outcome,
  at: new Date(),
  executedBy: executedBy(),
  toolVersion: 'test',
});

for (const store of STORES) {
  describe(`tracker and lock contract (${store.name})`, () => {
    const opened: Store[] = [];
    const leases: Lease[] = [];
    after(async () => {
      await Promise.all(leases.map((l) => l.release().catch(() => undefined)));
      await Promise.all(opened.map((s) => s.close()));
    });
    const open = async () => {
      const targetDb = uniqueDbName('contract');
      const s = await store.open(targetDb);
      opened.push(s);
      return { ...s, targetDb };
    };
    const lease = (locks: LockStore, options: { leaseMs?: number; waitMs?: number; onLost?: (reason: string) => void } = {}) => {
      const l = locks.lease({ scope: 'app', leaseMs: options.leaseMs ?? 60_000, waitMs: options.waitMs ?? 0, command: 'commit', onLost: options.onLost });
      leases.push(l);
      return l;
    };

    it('keeps each state as recorded and returns the whole history in one read', async () => {
      const { tracker, targetDb } = await open();
      await tracker.prepare();
      assert.deepEqual(await tracker.history(), []);
      await tracker.record(change('001_a', 'running'), undefined);
      await tracker.record(change('001_a', 'applied', { durationMs: 4 }), event(targetDb, '001_a', 'commit'));
      await tracker.record(change('002_b', 'failed', { error: { message: 'disk on fire', code: 11000 } }), event(targetDb, '002_b', 'commit', 'failure'));
      await tracker.record(change('003_c', 'applied'), undefined);
      await tracker.record(change('003_c', 'rolled_back'), event(targetDb, '003_c', 'rollback'));
      const history = [...(await tracker.history())].sort((a, b) => a.changeId.localeCompare(b.changeId));
      assert.deepEqual(
        history.map((r) => [r.changeId, r.status, r.checksum, r.file]),
        [
          ['001_a', 'applied', 'sum-001_a', '001_a.js'],
          ['002_b', 'failed', 'sum-002_b', '002_b.js'],
          ['003_c', 'rolled_back', 'sum-003_c', '003_c.js'],
        ],
      );
      assert.equal(history[0]?.durationMs, 4);
      assert.ok(history[0]?.appliedAt instanceof Date);
      assert.deepEqual(history[1]?.error, { message: 'disk on fire', code: 11000 });
      assert.ok(history[2]?.rolledBackAt instanceof Date);
      // An applied record keeps no error from an earlier failure.
      await tracker.record(change('002_b', 'applied'), undefined);
      assert.equal((await tracker.history()).find((r) => r.changeId === '002_b')?.error, undefined);
    });

    it('recordAll writes the records in order with their audit events; the audit log only grows', async () => {
      const { tracker, targetDb } = await open();
      await tracker.recordAll([
        { change: change('001_a', 'applied'), audit: event(targetDb, '001_a', 'commit') },
        { change: change('002_b', 'running') },
        { change: change('002_b', 'applied'), audit: event(targetDb, '002_b', 'commit') },
      ]);
      assert.deepEqual((await tracker.history()).map((r) => [r.changeId, r.status]).sort(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
      ]);
      await tracker.audit(event(targetDb, undefined, 'unlock'));
      await tracker.removeRecords(['001_a']);
      await tracker.amendRecord('002_b', { status: 'failed', error: { message: 'checked by hand' } }, event(targetDb, '002_b', 'repair'));
      assert.deepEqual(
        (await tracker.history()).map((r) => [r.changeId, r.status]),
        [['002_b', 'failed']],
      );
      // Newest first, every event kept: removing and amending records touches none of them.
      const log = await tracker.auditLog();
      assert.deepEqual(
        log.map((e) => [e.action, e.changeId]),
        [
          ['repair', '002_b'],
          ['unlock', undefined],
          ['commit', '002_b'],
          ['commit', '001_a'],
        ],
      );
      assert.deepEqual(
        (await tracker.auditLog({ changeId: '001_a' })).map((e) => e.action),
        ['commit'],
      );
      assert.equal((await tracker.auditLog({ limit: 1 })).length, 1);
    });

    it('recordAllAuditLater: the audit log shows each event at once, and once only however often it is flushed', async () => {
      const { tracker, targetDb } = await open();
      await tracker.audit(event(targetDb, undefined, 'unlock'));
      await tracker.recordAllAuditLater([{ change: change('001_a', 'applied'), audit: event(targetDb, '001_a', 'commit') }, { change: change('002_b', 'running') }]);
      await tracker.recordAllAuditLater([{ change: change('002_b', 'applied'), audit: event(targetDb, '002_b', 'commit') }]);
      const expected = [
        ['commit', '002_b'],
        ['commit', '001_a'],
        ['unlock', undefined],
      ];
      assert.deepEqual(
        (await tracker.auditLog()).map((e) => [e.action, e.changeId]),
        expected,
      );
      assert.deepEqual(
        (await tracker.auditLog({ changeId: '002_b' })).map((e) => [e.action, e.changeId]),
        [['commit', '002_b']],
      );
      assert.deepEqual(
        (await tracker.auditLog({ limit: 2 })).map((e) => e.changeId),
        ['002_b', '001_a'],
      );
      await tracker.flushAudit();
      await tracker.flushAudit();
      assert.deepEqual(
        (await tracker.auditLog()).map((e) => [e.action, e.changeId]),
        expected,
      );
      const history = await tracker.history();
      assert.deepEqual(history.map((r) => [r.changeId, r.status]).sort(), [
        ['001_a', 'applied'],
        ['002_b', 'applied'],
      ]);
      for (const entry of history) assert.equal('auditLater' in entry, false);
      // A record removed (repair) takes none of its events with it.
      await tracker.recordAllAuditLater([{ change: change('003_c', 'applied'), audit: event(targetDb, '003_c', 'commit') }]);
      await tracker.removeRecords(['003_c']);
      assert.deepEqual(
        (await tracker.auditLog({ changeId: '003_c' })).map((e) => e.action),
        ['commit'],
      );
    });

    it('keeps the checkpoints of an unfinished change until it is applied', async () => {
      const { tracker } = await open();
      await tracker.record(change('001_walk', 'running', { transactional: false }), undefined);
      assert.deepEqual(await tracker.checkpoints('001_walk'), []);
      const checkpoint = { walk: 'users', collection: 'users', lastId: 42, done: 42, batches: 1, complete: false, at: new Date() };
      await tracker.saveCheckpoints('001_walk', [checkpoint]);
      const [saved] = await tracker.checkpoints('001_walk');
      assert.deepEqual([saved?.walk, saved?.lastId, saved?.done, saved?.complete], ['users', 42, 42, false]);
      await tracker.record(change('001_walk', 'applied', { transactional: false }), undefined);
      assert.deepEqual(await tracker.checkpoints('001_walk'), []);
    });

    it('keeps range checkpoints per walk and range, replaced one by one, until cleared or rolled back', async () => {
      const { tracker } = await open();
      await tracker.record(change('001_split', 'running', { transactional: false, metadata: { batches: true } }), undefined);
      assert.deepEqual(await tracker.rangeCheckpoints('001_split', 'users'), []);
      const range = (walk: string, index: number, lastId: unknown, done: number) => ({ walk, split: 's1', range: index, lastId, done, batches: done / 10, complete: false, at: new Date() });
      await tracker.saveRangeCheckpoints('001_split', [range('users', 0, undefined, 0), range('users', 1, undefined, 0), range('orders', 0, undefined, 0)]);
      await tracker.saveRangeCheckpoints('001_split', [range('users', 1, 'u-20', 20)]);
      const users = (await tracker.rangeCheckpoints('001_split', 'users')).sort((a, b) => a.range - b.range);
      assert.deepEqual(
        users.map((c) => [c.range, c.split, c.lastId, c.done]),
        [
          [0, 's1', undefined, 0],
          [1, 's1', 'u-20', 20],
        ],
      );
      // Range checkpoints are no history: the record's history entry does not show them.
      assert.deepEqual(
        (await tracker.history()).map((e) => e.changeId),
        ['001_split'],
      );
      await tracker.clearRangeCheckpoints('001_split', 'users');
      assert.deepEqual(await tracker.rangeCheckpoints('001_split', 'users'), []);
      assert.equal((await tracker.rangeCheckpoints('001_split', 'orders')).length, 1);
      // As the runner writes it: a batched change's record says so (only such a change has range checkpoints).
      await tracker.record(change('001_split', 'rolled_back', { transactional: false, metadata: { batches: true } }), undefined);
      assert.deepEqual(await tracker.rangeCheckpoints('001_split', 'orders'), []);
    });

    it('a lease waits, names its holder, is never removed while live, notices its removal, and is taken again once free', async () => {
      const { locks } = await open();
      const lost: string[] = [];
      const first = lease(locks, { leaseMs: 1_000, onLost: (reason) => lost.push(reason) });
      await first.acquire();
      assert.equal(await first.heldByOther(), false);

      const second = lease(locks, { waitMs: 300 });
      assert.equal(await second.heldByOther(), true);
      const started = Date.now();
      await assert.rejects(second.acquire(), (error: unknown) => error instanceof LockHeldError && /app/.test(error.message) && error.holder?.command === 'commit');
      assert.ok(Date.now() - started >= 250, 'it waited before giving up');

      // The heartbeat keeps the 1 s lease alive past its first expiry.
      await sleep(1_300);
      const holder = await locks.holder('app');
      assert.ok(holder !== undefined && holder.expiresAt.getTime() > Date.now(), 'renewed by the heartbeat');
      assert.equal(await locks.remove('app', holder.owner, false), false, 'a live lease is not removed without force');
      first.assertHeld();

      assert.equal(await locks.remove('app', holder.owner, true), true);
      for (let waited = 0; lost.length === 0 && waited < 3_000; waited += 50) await sleep(50);
      assert.deepEqual(lost, ['the lock was taken or removed by someone else']);
      assert.throws(() => first.assertHeld(), LockLostError);

      await second.acquire();
      assert.equal((await locks.holder('app'))?.owner === holder.owner, false, 'the second lease holds it now');
      await first.release();
      assert.ok((await locks.holder('app')) !== undefined, "releasing a lost lease leaves the new holder's lock alone");
      await second.release();
      assert.equal(await locks.holder('app'), undefined);
    });
  });
}

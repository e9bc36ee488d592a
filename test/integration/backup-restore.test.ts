// Backups before changes and restore, through createDelta() as an application uses them:
// byte-exact round trips with indexes and options, restore elsewhere, refusals that write
// nothing, a failing backup that stops the change, retention.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Binary, Decimal128, Double, Int32, Long, ObjectId } from 'bson';
import type { CreateDeltaOptions, Delta, DeltaEvents } from '../../src/index.js';
import { BackupFailedError, BackupInvalidError, RestoreRefusedError, createDelta } from '../../src/index.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeDefinition } from '../../src/vocabulary/index.js';

const fixture = useServer();
const open: Delta[] = [];
after(async () => Promise.all(open.map((d) => d.close())));

const VALIDATOR = { $jsonSchema: { bsonType: 'object', required: ['email'], properties: { email: { bsonType: 'string' } } } };

function setup(changes: readonly ChangeDefinition[] = [], config: NonNullable<CreateDeltaOptions['config']> = {}) {
  const db = uniqueDbName('bk');
  const dir = join(fixture.project().dir, 'backups');
  const make = (list = changes, more = config) => {
    const delta = createDelta({ config: { uri: fixture.server.uri, db, backup: { dir }, ...more }, changes: list, env: {} });
    open.push(delta);
    return delta;
  };
  return { db, dir, make, target: fixture.client.db(db) };
}

/** Two collections with many BSON types, a validator, a collation and several kinds of index. */
async function seed(db: string): Promise<void> {
  const target = fixture.client.db(db);
  await target.createCollection('users', { validator: VALIDATOR, validationLevel: 'moderate' });
  const users = target.collection('users');
  await users.insertMany(
    Array.from({ length: 250 }, (_, i) => ({
      _id: i === 0 ? (new ObjectId('65f000000000000000000001') as never) : (new Int32(i) as never),
      email: `user${i}@example.com`,
      long: Long.fromString(`${9_000_000_000 + i}`),
      double: new Double(i === 1 ? -0 : i + 0.5),
      whole: new Double(2),
      decimal: Decimal128.fromString(`${i}.10`),
      bin: new Binary(Buffer.from([i % 256, 1, 2]), 4),
      at: new Date(Date.UTC(2024, 0, 1, 0, 0, i % 60)),
      nested: { list: [1, 'two', { three: [new Int32(3)] }], nothing: null },
    })),
  );
  await users.createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
  await users.createIndex({ 'nested.nothing': 1, at: -1 }, { partialFilterExpression: { at: { $exists: true } } });
  await users.createIndex({ at: 1 }, { expireAfterSeconds: 86_400 * 365 * 10, name: 'ttl' });
  await target.createCollection('orders', { collation: { locale: 'fr', strength: 2 } });
  await target.collection('orders').insertMany([
    { _id: 'a' as never, total: 1 },
    { _id: 'b' as never, total: 2 },
  ]);
}

/** Documents (canonical EJSON), indexes and options of every collection but delta's own. */
async function shape(db: string) {
  const snapshot = await snapshotDatabase(fixture.client, db);
  const target = fixture.client.db(db);
  const result: Record<string, unknown> = {};
  for (const name of Object.keys(snapshot).filter((n) => !n.startsWith('delta_'))) {
    const info = (await target.listCollections({ name }).toArray())[0] as { options?: unknown } | undefined;
    const indexes = (await target.collection(name).listIndexes().toArray()).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    result[name] = { documents: snapshot[name], indexes, options: info?.options };
  }
  return result;
}

describe('backup and restore', () => {
  it('round trip: backup, drop, restore gives back every document byte for byte, every index, the validator and the collation', async () => {
    const t = setup();
    await seed(t.db);
    const before = await shape(t.db);
    const rawUsers = () =>
      t.target
        .collection('users')
        .find({}, { raw: true, sort: { _id: 1 } })
        .toArray() as unknown as Promise<Buffer[]>;
    const rawBefore = await rawUsers();
    const delta = t.make();
    const progress: DeltaEvents['backup:progress'][] = [];
    delta.on('backup:progress', (e) => progress.push(e));
    const backup = await delta.backup();
    assert.deepEqual(
      backup.collections.map((c) => [c.name, c.documents]),
      [
        ['orders', 2],
        ['users', 250],
      ],
    );
    assert.deepEqual(backup.skipped, [{ name: 'delta_lock', reason: "delta's tracker collection" }], 'the lock taken for the backup is not in it');
    assert.ok(progress.some((p) => p.phase === 'backup' && p.collection === 'users' && p.done && p.documents === 250));
    assert.deepEqual(readdirSync(backup.path).sort(), ['manifest.json', 'orders.bson', 'orders.metadata.json', 'users.bson', 'users.metadata.json']);

    await t.target.collection('users').drop();
    await t.target.collection('orders').drop();
    const restored = await delta.restore({ backup: backup.id });
    assert.equal(restored.documents, 252);
    assert.deepEqual(await shape(t.db), before);
    // Raw bytes too: the server hands back exactly the BSON that was backed up.
    const rawAfter = await rawUsers();
    assert.equal(rawAfter.length, 250);
    assert.ok(
      rawAfter.every((doc, i) => Buffer.compare(doc, rawBefore[i] ?? Buffer.alloc(0)) === 0),
      'identical BSON bytes',
    );

    const audit = await t.target.collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray();
    assert.deepEqual(
      audit.map((e) => [e.action, e.outcome]),
      [
        ['backup', 'success'],
        ['restore', 'success'],
      ],
    );
    assert.equal(audit[1]?.details?.backupId, backup.id);
  });

  it('restores into another database with toDb, only the collections asked for', async () => {
    const t = setup();
    await seed(t.db);
    const before = await shape(t.db);
    const delta = t.make();
    const backup = await delta.backup({ collections: ['users', 'orders'] });
    const other = uniqueDbName('bk_to');
    const restored = await delta.restore({ backup: backup.id, toDb: other, collections: ['users'] });
    assert.equal(restored.toDb, other);
    assert.deepEqual(await shape(other), { users: (before as Record<string, unknown>).users });
    assert.deepEqual(await shape(t.db), before, 'the source is untouched');
  });

  it("refuses to restore over an external tracker's history, audit log or lock, even with drop, writing nothing", async () => {
    // A team moved its tracker out of the target database: the old delta_* collections stayed
    // there, are ordinary collections now, and so are in a backup of it.
    const t = setup([
      {
        id: '001_x',
        async commit({ db, session }) {
          await db.collection('effects').insertOne({ _id: 1 as never }, { session });
        },
      },
    ]);
    const trackerDb = `${t.db}_trk`;
    await t.target.collection('delta_migrations').insertOne({ changeId: 'old', status: 'applied' });
    await t.target.collection('users').insertOne({ email: 'a@example.com' });
    const delta = t.make(undefined, { tracker: { db: trackerDb } });
    assert.equal((await delta.commit()).outcome, 'success');
    const backup = await delta.backup();
    assert.ok(
      backup.collections.some((c) => c.name === 'delta_migrations'),
      'the leftover collection is in the backup',
    );
    const tracker = await snapshotDatabase(fixture.client, trackerDb);

    await assert.rejects(delta.restore({ backup: backup.id, toDb: trackerDb, drop: true }), (error: unknown) => {
      assert.ok(error instanceof RestoreRefusedError);
      assert.deepEqual(error.collections, ['delta_migrations']);
      assert.equal(error.message, `delta_migrations is delta's own tracker collection in ${trackerDb}; delta never restores them`);
      return true;
    });
    assert.deepEqual(await snapshotDatabase(fixture.client, trackerDb), tracker, 'history, audit log and lock as they were');
    // The same backup still restores elsewhere, its old delta_migrations an ordinary collection there.
    const other = uniqueDbName('bk_to');
    const restored = await delta.restore({ backup: backup.id, toDb: other });
    assert.deepEqual(restored.collections.map((c) => c.name).sort(), ['delta_migrations', 'effects', 'users']);
  });

  it('refuses to restore onto a collection with documents unless drop, writing nothing; a corrupted file is refused naming it', async () => {
    const t = setup();
    await seed(t.db);
    const delta = t.make();
    const backup = await delta.backup();
    await t.target.collection('users').deleteMany({ _id: { $gte: 100 } as never });
    const snapshot = await snapshotDatabase(fixture.client, t.db);

    await assert.rejects(delta.restore({ backup: backup.id }), (error: unknown) => {
      assert.ok(error instanceof RestoreRefusedError);
      assert.deepEqual(error.collections, ['orders', 'users']);
      assert.match(error.message, /already has documents in orders, users: nothing was restored; pass --drop/);
      return true;
    });
    assert.deepEqual(await snapshotDatabase(fixture.client, t.db), snapshot, 'nothing written, not even an audit event');

    const file = join(backup.path, 'users.bson');
    const bytes = Buffer.from(await import('node:fs/promises').then((fs) => fs.readFile(file)));
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] ?? 0) ^ 0xff;
    writeFileSync(file, bytes);
    await assert.rejects(delta.restore({ backup: backup.id, drop: true }), (error: unknown) => {
      assert.ok(error instanceof BackupInvalidError);
      assert.equal(error.file, file);
      assert.match(error.message, /users\.bson: checksum mismatch/);
      return true;
    });
    assert.deepEqual(await snapshotDatabase(fixture.client, t.db), snapshot);

    const partial = await delta.restore({ backup: backup.id, drop: true, collections: ['orders'] });
    assert.deepEqual(
      partial.collections.map((c) => [c.name, c.replaced]),
      [['orders', true]],
    );
  });

  it('a change that breaks data, then restore of its backup, gives back the original documents', async () => {
    const breaking: ChangeDefinition = {
      id: '001_break',
      backup: ['users', 'brand_new'],
      async commit({ db, session }) {
        await db.collection('users').updateMany({}, { $set: { double: 0 }, $unset: { nested: '', long: '' } }, { session });
        await db.collection('brand_new').insertOne({ _id: 1 as never }, { session });
      },
    };
    const t = setup([breaking]);
    await seed(t.db);
    const before = await shape(t.db);
    const delta = t.make();
    const done: DeltaEvents['backup:done'][] = [];
    delta.on('backup:done', (e) => done.push(e));
    const result = await delta.commit();
    assert.equal(result.outcome, 'success', result.error?.message);
    assert.equal(done.length, 1);
    assert.equal(done[0]?.changeId, '001_break');
    assert.deepEqual(done[0]?.collections, ['users', 'brand_new']);

    const { backups } = await delta.backups();
    assert.deepEqual(
      backups.map((b) => [b.changeId, b.reason, b.documents]),
      [['001_break', 'change', 250]],
    );
    const restored = await delta.restore({ backup: backups[0]?.id ?? '', drop: true });
    assert.deepEqual(
      restored.collections.map((c) => [c.name, c.documents, c.absentInBackup]),
      [
        ['users', 250, false],
        ['brand_new', 0, true],
      ],
    );
    const after = await shape(t.db);
    assert.deepEqual(after, before, 'users as before; brand_new, absent at backup time, dropped');
    const audit = await t.target.collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray();
    assert.deepEqual(
      audit.map((e) => [e.action, e.changeId ?? null, e.outcome]),
      [
        ['backup', '001_break', 'success'],
        ['commit', '001_break', 'success'],
        ['restore', null, 'success'],
      ],
    );
  });

  for (const transaction of ['auto', 'never'] as const) {
    it(`a backup that fails stops the run before the change (transaction ${transaction}): nothing recorded but the failed backup's audit event`, async () => {
      const touch = (id: string, backup?: ChangeDefinition['backup']): ChangeDefinition => ({
        id,
        ...(backup === undefined ? {} : { backup }),
        async commit({ db, session }) {
          await db.collection('effects').insertOne({ _id: id as never }, { session });
        },
      });
      const t = setup();
      await t.make([touch('001_first')], { transaction }).commit();
      const notADir = join(fixture.project().dir, 'file');
      writeFileSync(notADir, 'not a folder');
      const before = await snapshotDatabase(fixture.client, t.db);
      const delta = t.make([touch('001_first'), touch('002_a'), touch('003_guarded', ['effects']), touch('004_c')], { transaction, backup: { dir: join(notADir, 'backups') } });
      const result = await delta.commit();
      assert.equal(result.outcome, 'failed');
      assert.ok(result.error instanceof BackupFailedError);
      assert.match(result.error.message, /backup before 003_guarded failed: cannot create .*file\/backups/);
      assert.deepEqual(
        result.changes.map((c) => [c.id, c.status]),
        [
          ['002_a', 'done'],
          ['003_guarded', 'not-run'],
          ['004_c', 'not-run'],
        ],
      );
      const after = await snapshotDatabase(fixture.client, t.db);
      const audit = await t.target.collection('delta_audit').find({}).sort({ at: 1, _id: 1 }).toArray();
      assert.deepEqual(
        audit.slice(-2).map((e) => [e.action, e.changeId, e.outcome]),
        [
          ['commit', '002_a', 'success'],
          ['backup', '003_guarded', 'failure'],
        ],
      );
      const records = await t.target.collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
      assert.deepEqual(
        records.map((r) => [r.changeId, r.status]),
        [
          ['001_first', 'applied'],
          ['002_a', 'applied'],
        ],
        'no record, not even running, for the guarded change',
      );
      assert.deepEqual(after.effects, [...(before.effects ?? []), '{"_id":"002_a"}']);
    });
  }

  it('commit with backup: the whole database once before the first change, tracker collections left out, a warning when large; retention keeps the newest runs', async () => {
    const t = setup(
      [
        {
          id: '001_x',
          async commit({ db, session }) {
            await db.collection('effects').insertOne({ _id: 1 as never }, { session });
          },
        },
      ],
      {
        backup: { keep: 2, warnAboveBytes: 1 },
      },
    );
    await seed(t.db);
    const delta = t.make(undefined, { backup: { dir: t.dir, keep: 2, warnAboveBytes: 1 } });
    const warnings: string[] = [];
    delta.on('backup:warning', (e) => warnings.push(e.message));
    const first = await delta.backup({ collections: ['orders'] });
    const result = await delta.commit({ backup: true });
    assert.equal(result.outcome, 'success', result.error?.message);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /backing up the whole of bk_\w+ \(.* of data\)/);
    const { backups } = await delta.backups();
    const run = backups.find((b) => b.reason === 'run');
    assert.deepEqual(run?.collections, ['orders', 'users'], 'delta_* collections are never backed up');
    assert.equal(backups.length, 2);

    const third = await delta.backup({ collections: ['orders'] });
    assert.deepEqual(third.pruned, [first.id], 'keep: 2 runs -> the oldest run pruned');
    assert.deepEqual(
      (await delta.backups()).backups.map((b) => b.id),
      [run?.id, third.id],
    );
  });

  it('backups are readable by their owner only, never staged by git, and a folder inside a git work tree is warned about once', async () => {
    const project = fixture.project({ '.git/HEAD': 'ref: refs/heads/main\n' });
    const dir = join(project.dir, '.delta', 'backups');
    const t = setup();
    await seed(t.db);
    const delta = t.make(undefined, { backup: { dir } });
    const warnings: string[] = [];
    delta.on('backup:warning', (e) => warnings.push(e.message));
    const first = await delta.backup({ collections: ['orders'] });
    await delta.backup({ collections: ['orders'] });
    const mode = (path: string) => statSync(path).mode & 0o777;
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(first.path), 0o700);
    for (const file of readdirSync(first.path)) assert.equal(mode(join(first.path, file)), 0o600, file);
    assert.match(readFileSync(join(dir, '.gitignore'), 'utf8'), /^\*$/m);
    assert.deepEqual(warnings, [
      `backups go to ${dir}, inside the git work tree ${project.dir}: a .gitignore there keeps them out of commits, but the data sits in the project; set backup.dir to a folder outside it`,
    ]);
    assert.deepEqual((await delta.backups()).backups.length, 2, 'the .gitignore is no backup');
  });

  it('the tracker goes into a backup only when asked (includeTracker), and comes back only into another database', async () => {
    const t = setup([
      {
        id: '001_x',
        async commit({ db, session }) {
          await db.collection('effects').insertOne({ _id: 1 as never }, { session });
        },
      },
    ]);
    const delta = t.make();
    assert.equal((await delta.commit()).outcome, 'success');
    const plain = await delta.backup();
    assert.deepEqual(
      plain.collections.map((c) => c.name),
      ['effects'],
    );
    const full = await delta.backup({ includeTracker: true });
    assert.deepEqual(full.collections.map((c) => c.name).sort(), ['delta_audit', 'delta_lock', 'delta_migrations', 'effects']);
    const before = await snapshotDatabase(fixture.client, t.db);
    await assert.rejects(delta.restore({ backup: full.id, drop: true }), /delta_audit, delta_lock, delta_migrations are delta's own tracker collections in bk_\w+; delta never restores them/);
    assert.deepEqual(await snapshotDatabase(fixture.client, t.db), before);
    const other = uniqueDbName('bk_to');
    await delta.restore({ backup: full.id, toDb: other });
    assert.deepEqual(
      (await fixture.client.db(other).collection('delta_migrations').find({}).toArray()).map((r) => [r.changeId, r.status]),
      [['001_x', 'applied']],
    );
  });
});

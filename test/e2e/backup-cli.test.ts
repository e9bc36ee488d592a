// Backups and restore through the CLI as an operator uses them: a change that breaks data is undone
// with `delta restore`; refusals (corrupted file, non-empty collection) exit 2 and write nothing; a
// backup that cannot be written stops the change (exit 1).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** Uppercases every name, "by mistake" drops the email field, and has no rollback worth the name. */
const BREAKING = `export default {
  description: 'normalise names (wrongly)',
  backup: ['users'],
  async commit({ db, session }) {
    await db.collection('users').updateMany({}, { $set: { name: 'X' }, $unset: { email: '' } }, { session });
  },
};
`;

function setup(files: Record<string, string> = { 'migrations/001_break.js': BREAKING }) {
  const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }), ...files });
  const db = uniqueDbName('bkcli');
  const env = { DELTA_URI: fixture.uriFor(db) };
  const delta = (...args: string[]) => runCli([...args, '--path', './migrations'], { cwd: p.dir, env });
  const users = fixture.client.db(db).collection('users');
  const seed = async () => {
    await fixture.client.db(db).createCollection('users', { validator: { $jsonSchema: { required: ['name'] } } });
    await users.insertMany(Array.from({ length: 50 }, (_, i) => ({ _id: i as never, name: `user ${i}`, email: `u${i}@example.com` })));
    await users.createIndex({ email: 1 }, { unique: true, sparse: true });
  };
  return { p, db, env, delta, users, seed, snapshot: () => snapshotDatabase(fixture.client, db) };
}

describe('delta backup, backups, restore', () => {
  it('a change that breaks data is undone by restoring the backup taken before it', async () => {
    const t = setup();
    await t.seed();
    const original = (await t.snapshot()).users;

    const commit = await t.delta('commit');
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /✓ backed up before 001_break: users, 50 documents/);
    assert.notDeepEqual((await t.snapshot()).users, original, 'the change broke the documents');

    const list = await t.delta('backups', '--json');
    assert.equal(list.code, 0, list.stderr);
    const { backups } = JSON.parse(list.stdout) as { backups: { id: string; changeId: string; collections: string[]; documents: number; db: string }[] };
    assert.deepEqual(
      backups.map((b) => [b.changeId, b.collections, b.documents, b.db]),
      [['001_break', ['users'], 50, t.db]],
    );
    const id = backups[0]?.id ?? '';
    const table = await t.delta('backups');
    assert.match(table.stdout, /ID\s+CREATED\s+DB\s+BEFORE\s+COLLECTIONS\s+DOCUMENTS\s+SIZE/);
    assert.ok(table.stdout.includes(id));

    // Without --drop the broken collection is not overwritten: exit 2, nothing written.
    const before = await t.snapshot();
    const refused = await t.delta('restore', id);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /already has documents in users: nothing was restored; pass --drop/);
    assert.deepEqual(await t.snapshot(), before);

    const restored = await t.delta('restore', id, '--drop');
    assert.equal(restored.code, 0, restored.stderr);
    assert.match(restored.stdout, /Restored 1 collection of backup .* into bkcli_\w+: 50 documents/);
    assert.deepEqual((await t.snapshot()).users, original);
    const indexes = await t.users.listIndexes().toArray();
    assert.deepEqual(indexes.find((i) => i.name === 'email_1')?.unique, true);
    const options = ((await fixture.client.db(t.db).listCollections({ name: 'users' }).toArray())[0] as { options?: { validator?: unknown } } | undefined)?.options;
    assert.deepEqual(options?.validator, { $jsonSchema: { required: ['name'] } });

    const history = await t.delta('history', '--json');
    const events = (JSON.parse(history.stdout) as { events: { action: string; outcome: string }[] }).events.map((e) => `${e.action} ${e.outcome}`);
    assert.deepEqual(events.slice(0, 3), ['restore success', 'commit success', 'backup success']);
  });

  it('delta backup on demand; a corrupted file is refused naming it (exit 2); --to-db restores elsewhere', async () => {
    const t = setup({});
    await t.seed();
    const backup = await t.delta('backup', '--collections', 'users', '--json');
    assert.equal(backup.code, 0, backup.stderr);
    const taken = JSON.parse(backup.stdout) as { id: string; path: string; documents: number };
    assert.equal(taken.documents, 50);

    const other = uniqueDbName('bkcli_to');
    const copy = await t.delta('restore', taken.id, '--to-db', other);
    assert.equal(copy.code, 0, copy.stderr);
    assert.deepEqual((await snapshotDatabase(fixture.client, other)).users, (await t.snapshot()).users);

    const file = join(taken.path, 'users.bson');
    const bytes = readFileSync(file);
    bytes[20] = (bytes[20] ?? 0) ^ 0x01;
    writeFileSync(file, bytes);
    await t.users.drop();
    const before = await t.snapshot();
    const corrupted = await t.delta('restore', taken.id);
    assert.equal(corrupted.code, 2);
    assert.match(corrupted.stderr, /users\.bson: checksum mismatch, the file was changed or damaged after the backup .*nothing was restored/);
    assert.deepEqual(await t.snapshot(), before, 'nothing written');
  });

  it('a backup that cannot be written stops the change: exit 1, database and history unchanged', async () => {
    const t = setup({ 'migrations/000_first.js': "export default { async commit({ db, session }) { await db.collection('effects').insertOne({ _id: 1 }, { session }); } };\n" });
    await t.seed();
    assert.equal((await t.delta('commit')).code, 0);
    t.p.write('migrations/001_break.js', BREAKING);
    writeFileSync(join(t.p.dir, 'not-a-folder'), '');
    const before = await t.snapshot();
    const failed = await t.delta('commit', '--backup-dir', 'not-a-folder/backups');
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /backup before 001_break failed: cannot create .*not-a-folder\/backups/);
    const after = await t.snapshot();
    const { delta_audit: auditAfter, ...rest } = after;
    const { delta_audit: auditBefore, ...restBefore } = before;
    assert.deepEqual(rest, restBefore, 'users, effects and delta_migrations unchanged');
    assert.equal(auditAfter?.length, (auditBefore?.length ?? 0) + 1);
    assert.match(auditAfter?.find((e) => !auditBefore?.includes(e)) ?? '', /"action":"backup".*"outcome":"failure"/);
  });
});

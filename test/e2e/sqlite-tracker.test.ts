// The SQLite tracker through the CLI: `--tracker-uri sqlite:<file>` keeps history, audit and the lock
// in a local file (nothing of delta's in the target database), with the same states and output as the
// MongoDB tracker; racing commits sharing the file apply each change once.
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const require = createRequire(import.meta.url);

interface Row {
  readonly [column: string]: unknown;
}
interface TestDatabase {
  prepare(sql: string): { get(...params: unknown[]): Row | undefined; all(...params: unknown[]): Row[]; run(...params: unknown[]): unknown };
  close(): void;
}
/** Opens the tracker's file the way an operator would inspect it. */
const openFile = (path: string): TestDatabase => new (require('better-sqlite3') as new (path: string) => TestDatabase)(path);

const change = (n: number) => `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ change: ${n} }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: ${n} }, { session }); },
};
`;

describe('SQLite tracker', () => {
  it('commit, status, rollback and history keep their state in the file and none in the target database', async () => {
    const p = fixture.project({ 'migrations/001_one.mjs': change(1), 'migrations/002_two.mjs': change(2) });
    const db = uniqueDbName('sqlite');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const tracker = ['--tracker-uri', 'sqlite:./state/delta.sqlite'];

    const commit = await runCli(['commit', ...tracker], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.equal(await fixture.client.db(db).collection('effects').countDocuments(), 2);
    const collections = (await fixture.client.db(db).listCollections().toArray()).map((c) => c.name).sort();
    assert.deepEqual(collections, ['effects'], 'no delta_migrations, delta_audit or delta_lock in the target');
    const file = join(p.dir, 'state', 'delta.sqlite');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600, 'history, audit and locks: readable by their owner only');

    const status = await runCli(['status', ...tracker], { cwd: p.dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^applied\s+001_one\s/m);
    assert.match(status.stdout, /^applied\s+002_two\s/m);

    const rollback = await runCli(['rollback', ...tracker], { cwd: p.dir, env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.deepEqual(
      (await fixture.client.db(db).collection('effects').find().toArray()).map((d) => d.change),
      [1],
    );
    const after = await runCli(['status', '--json', ...tracker], { cwd: p.dir, env });
    const parsed = JSON.parse(after.stdout) as { changes: { id: string; state: string; runner: string }[] };
    assert.deepEqual(
      parsed.changes.map((c) => `${c.id} ${c.state} ${c.runner}`),
      ['001_one applied driver', '002_two rolled_back driver'],
    );

    const history = await runCli(['history', ...tracker], { cwd: p.dir, env });
    assert.equal(history.code, 0, history.stderr);
    const lines = history.stdout.split('\n').filter((line) => /^\d{4}-/.test(line));
    assert.deepEqual(
      lines.map((line) => line.split(/\s+/).slice(1, 4).join(' ')),
      ['rollback success 002_two', 'commit success 002_two', 'commit success 001_one'],
    );

    const sqlite = openFile(file);
    try {
      assert.deepEqual(sqlite.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), { value: '1' });
      const record = JSON.parse(String(sqlite.prepare('SELECT doc FROM delta_migrations WHERE target_db = ? AND change_id = ?').get(db, '002_two')?.doc)) as Record<string, unknown>;
      assert.equal(record.status, 'rolled_back');
      assert.equal(typeof record.rolledBackAt, 'string');
    } finally {
      sqlite.close();
    }
  });

  it('a held lock in the file stops a commit (exit 3 naming the holder); unlock --force removes it', async () => {
    const p = fixture.project({ 'migrations/001_one.mjs': change(1) });
    const db = uniqueDbName('sqlitelock');
    const env = { DELTA_URI: fixture.uriFor(db), MIGRATIONS_DB_URI: 'sqlite:./delta.sqlite' };
    // The first status creates the file; then a live lease of another (dead) runner is planted in it.
    assert.equal((await runCli(['status'], { cwd: p.dir, env })).code, 0);
    const sqlite = openFile(join(p.dir, 'delta.sqlite'));
    try {
      sqlite
        .prepare('INSERT INTO delta_lock (scope, owner, host, pid, command, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(db, 'someone', 'build-7', 4242, 'commit', Date.now(), Date.now() + 600_000);
    } finally {
      sqlite.close();
    }
    const blocked = await runCli(['commit', '--lock-wait', '0'], { cwd: p.dir, env });
    assert.equal(blocked.code, 3, blocked.stdout + blocked.stderr);
    assert.match(blocked.stderr, new RegExp(`lock ${db} is held by build-7 pid 4242 \\(commit\\)`));
    assert.equal(await fixture.client.db(db).collection('effects').countDocuments(), 0);

    const refused = await runCli(['unlock'], { cwd: p.dir, env });
    assert.equal(refused.code, 3, 'a fresh lease is not removed without --force');
    const unlock = await runCli(['unlock', '--force'], { cwd: p.dir, env });
    assert.equal(unlock.code, 0, unlock.stderr);
    const commit = await runCli(['commit', '--lock-wait', '0'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    const history = await runCli(['history', '--json'], { cwd: p.dir, env });
    const { events } = JSON.parse(history.stdout) as { events: { action: string; executedBy: { host: string } }[] };
    assert.deepEqual(
      events.map((e) => e.action),
      ['commit', 'unlock'],
    );
    assert.equal(events[1]?.executedBy.host, hostname());
  });

  it('racing commits sharing one file apply each change exactly once', async () => {
    const files: Record<string, string> = {};
    for (let n = 1; n <= 20; n += 1) files[`migrations/${String(n).padStart(3, '0')}_change.mjs`] = change(n);
    const p = fixture.project(files);
    const db = uniqueDbName('sqliterace');
    await fixture.client.db(db).createCollection('effects');
    const env = { DELTA_URI: fixture.uriFor(db), MIGRATIONS_DB_URI: 'sqlite:./race.sqlite' };
    const runs = await Promise.all(Array.from({ length: 3 }, () => runCli(['commit', '--lock-wait', '60s'], { cwd: p.dir, env })));
    for (const run of runs) assert.equal(run.code, 0, run.stdout + run.stderr);
    const effects = await fixture.client.db(db).collection('effects').find().toArray();
    assert.equal(effects.length, 20);
    assert.equal(new Set(effects.map((e) => e.change)).size, 20);
    const applied = runs.map((run) => /Done: applied (\d+) change/.exec(run.stdout)?.[1] ?? '0').map(Number);
    assert.equal(
      applied.reduce((a, b) => a + b, 0),
      20,
      `runs applied ${applied.join(' + ')}`,
    );
  });
});

import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { linkDeltaPackage, runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const EXAMPLES = fileURLToPath(new URL('../../migrations-example/', import.meta.url));
const EXAMPLE_IDS = [
  '20240101090000_create_users',
  '20240101090500_users_email_unique',
  '20240102100000_seed_plans',
  '20240103110000_backfill_user_status',
  '20240104120000_rename_fullname',
  '20240105130000_orders_by_customer',
  '20240106140000_plan_limits',
];

/** A project folder holding a copy of the example migrations, as a user's repository would. */
function projectWithExamples() {
  const p = fixture.project({ 'package.json': JSON.stringify({ name: 'app', type: 'module' }) });
  cpSync(EXAMPLES, join(p.dir, 'migrations'), { recursive: true });
  // The examples import 'mongo-delta': link it to this checkout, as an installed package would resolve.
  linkDeltaPackage(p.dir);
  return p;
}

const uriFor = (db: string) => fixture.uriFor(db);

describe('the mission commands, as users type them', () => {
  it('commit --path ./migrations, rollback --to <id>, status: database contents after each step', async () => {
    const p = projectWithExamples();
    const db = uniqueDbName('mission');
    const env = { DELTA_URI: uriFor(db) };

    const initial = await runCli(['status'], { cwd: p.dir, env });
    assert.equal(initial.code, 0, initial.stderr);
    assert.equal(initial.stdout.match(/^pending /gm)?.length, 7);

    const commit = await runCli(['commit', '--path', './migrations'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    for (const id of EXAMPLE_IDS) assert.match(commit.stdout, new RegExp(`✓ applied ${id}`));
    assert.match(commit.stdout, /Done: applied 7 changes/);
    const users = await fixture.client.db(db).collection('users').find({}).sort({ email: 1 }).toArray();
    assert.deepEqual(
      users.map((u) => [u.email, u.name, u.status, u.fullName]),
      [
        ['ada@example.com', 'Ada Lovelace', 'active', undefined],
        ['alan@example.com', 'Alan Turing', 'active', undefined],
        ['grace@example.com', 'Grace Hopper', 'active', undefined],
      ],
    );
    const indexes = (await fixture.client.db(db).collection('users').listIndexes().toArray()).map((i) => i.name);
    assert.ok(indexes.includes('email_unique'));
    const plans = await fixture.client.db(db).collection('plans').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      plans.map((plan) => [plan._id, plan.apiCallsPerMinute]),
      [
        ['business', 6000],
        ['free', 60],
        ['team', 600],
      ],
    );
    assert.equal(await fixture.client.db(db).collection('orders').countDocuments(), 1);

    const applied = await runCli(['status', '--json'], { cwd: p.dir, env });
    assert.equal(applied.code, 0);
    const status = JSON.parse(applied.stdout) as { changes: { id: string; state: string; appliedAt: string }[]; summary: Record<string, number> };
    assert.deepEqual(
      status.changes.map((c) => c.state),
      EXAMPLE_IDS.map(() => 'applied'),
    );
    assert.equal(status.summary.applied, 7);

    const rollback = await runCli(['rollback', '--to', EXAMPLE_IDS[1] ?? ''], { cwd: p.dir, env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, /Done: reverted 5 changes/);
    const after = await fixture.client.db(db).collection('users').find({}).sort({ email: 1 }).toArray();
    assert.deepEqual(
      after.map((u) => [u.email, u.fullName, u.status, u.name]),
      [
        ['ada@example.com', 'Ada Lovelace', undefined, undefined],
        ['alan@example.com', 'Alan Turing', undefined, undefined],
        ['grace@example.com', 'Grace Hopper', undefined, undefined],
      ],
    );
    assert.equal(await fixture.client.db(db).collection('plans').countDocuments(), 0);
    const collections = (await fixture.client.db(db).listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
    assert.ok(!collections.includes('orders'));
    assert.ok(
      (await fixture.client.db(db).collection('users').listIndexes().toArray()).some((i) => i.name === 'email_unique'),
      'the --to change stays applied',
    );

    const mixed = await runCli(['status'], { cwd: p.dir, env });
    assert.equal(mixed.code, 0);
    assert.equal(mixed.stdout.match(/^applied /gm)?.length, 2);
    assert.equal(mixed.stdout.match(/^rolled back /gm)?.length, 5);

    const again = await runCli(['up'], { cwd: p.dir, env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Done: applied 5 changes/);
    const check = await runCli(['status', '--check'], { cwd: p.dir, env });
    assert.equal(check.code, 0);
  });

  it('status --check exits 4 while changes are pending', async () => {
    const p = projectWithExamples();
    const result = await runCli(['status', '--check'], { cwd: p.dir, env: { DELTA_URI: uriFor(uniqueDbName('check')) } });
    assert.equal(result.code, 4);
    assert.match(result.stderr, /status --check: 7 pending/);
  });

  it('commit --json prints one result document on stdout and nothing else', async () => {
    const p = projectWithExamples();
    const result = await runCli(['commit', '--json', '--to', EXAMPLE_IDS[2] ?? ''], { cwd: p.dir, env: { DELTA_URI: uriFor(uniqueDbName('json')) } });
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { outcome: string; changes: { id: string; status: string }[]; error: unknown };
    assert.equal(doc.outcome, 'success');
    assert.deepEqual(
      doc.changes.map((c) => c.id),
      EXAMPLE_IDS.slice(0, 3),
    );
    assert.equal(doc.error, null);
  });

  it('rollback with nothing applied exits 0 and says so', async () => {
    const p = projectWithExamples();
    const result = await runCli(['rollback'], { cwd: p.dir, env: { DELTA_URI: uriFor(uniqueDbName('none')) } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Nothing to roll back/);
  });

  it('an empty folder: exit 0, nothing to do', async () => {
    const p = fixture.project({ 'migrations/.gitkeep': '' });
    const result = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: uriFor(uniqueDbName('empty')) } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Nothing to do/);
  });
});

describe('bad input leaves database and tracker unchanged', () => {
  async function applyTwo(p: { dir: string }, db: string): Promise<void> {
    const first = await runCli(['commit', '--to', EXAMPLE_IDS[1] ?? ''], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(first.code, 0, first.stderr);
  }

  const cases: { name: string; files?: Record<string, string>; args: string[]; code: number; stderr: RegExp }[] = [
    {
      name: 'duplicate ids',
      files: { 'migrations/30000000000000_dup.ts': "export default { id: '20240102100000_seed_plans', async commit() {} };" },
      args: ['commit'],
      code: 2,
      stderr: /30000000000000_dup\.ts, 20240102100000_seed_plans\.ts: duplicate change id|20240102100000_seed_plans\.ts, 30000000000000_dup\.ts: duplicate change id/,
    },
    {
      name: 'a file that throws on import',
      files: { 'migrations/30000000000000_throws.js': 'throw new Error("missing SETTING");' },
      args: ['commit'],
      code: 2,
      stderr: /30000000000000_throws\.js: failed to load: missing SETTING/,
    },
    {
      name: 'a TypeScript syntax error',
      files: { 'migrations/30000000000000_syntax.ts': 'export default {\n  async commit() { const = 1; }\n};\n' },
      args: ['commit'],
      code: 2,
      stderr: /30000000000000_syntax\.ts:2:\d+: syntax error/,
    },
    {
      name: 'a change without commit',
      files: { 'migrations/30000000000000_empty.ts': 'export default { description: "x" };' },
      args: ['commit'],
      code: 2,
      stderr: /30000000000000_empty\.ts: has no commit function/,
    },
    { name: 'an unknown --to id', args: ['commit', '--to', 'nope'], code: 2, stderr: /--to nope: no change file has this id/ },
    { name: 'an unknown rollback --to id', args: ['rollback', '--to', 'nope'], code: 2, stderr: /--to nope: no change has this id/ },
    { name: '--to older than the newest applied change', args: ['commit', '--to', EXAMPLE_IDS[0] ?? ''], code: 2, stderr: /is older than the newest applied change 20240101090500_users_email_unique/ },
    { name: 'a missing --path', args: ['commit', '--path', 'nope'], code: 2, stderr: /change folder .*nope does not exist \(from --path\)/ },
  ];

  for (const c of cases) {
    it(`${c.name}: exit ${c.code}, one line naming the culprit, nothing written`, async () => {
      const p = projectWithExamples();
      const db = uniqueDbName('bad');
      await applyTwo(p, db);
      for (const [path, content] of Object.entries(c.files ?? {})) p.write(path, content);
      const before = await snapshotDatabase(fixture.client, db);
      const result = await runCli(c.args, { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
      assert.equal(result.code, c.code, result.stderr);
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', c.stderr);
      assert.deepEqual(await snapshotDatabase(fixture.client, db), before);
    });
  }

  it('a rollback including a change without rollback is refused before anything is reverted', async () => {
    const p = projectWithExamples();
    p.write('migrations/20240101090600_no_rollback.ts', 'export default { async commit() {} };');
    const db = uniqueDbName('norb');
    const commit = await runCli(['commit', '--to', '20240101090600_no_rollback'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(commit.code, 0, commit.stderr);
    const before = await snapshotDatabase(fixture.client, db);
    const result = await runCli(['rollback', '--all'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(result.code, 2);
    assert.match(result.stderr, /cannot roll back, nothing was reverted: 20240101090600_no_rollback \(20240101090600_no_rollback\.ts\) has no rollback function/);
    assert.deepEqual(await snapshotDatabase(fixture.client, db), before);
  });

  it('an unreachable URI exits 1 within the connect timeout, password redacted', async () => {
    const p = projectWithExamples();
    p.write('delta.config.json', JSON.stringify({ connectTimeoutMs: 1500 }));
    const started = Date.now();
    const result = await runCli(['status'], { cwd: p.dir, env: { DELTA_URI: 'mongodb://admin:S3cr3t%40x@127.0.0.1:9/app?serverSelectionTimeoutMS=1500' } });
    assert.equal(result.code, 1);
    assert.ok(Date.now() - started < 10_000);
    assert.match(result.stderr, /cannot connect to mongodb:\/\/admin:\*\*\*@127\.0\.0\.1:9\/app/);
    assert.ok(!result.stderr.includes('S3cr3t'), result.stderr);
  });
});

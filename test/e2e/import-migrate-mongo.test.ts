// `delta import migrate-mongo` against projects the real migrate-mongo package (devDependency) applied.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Document } from 'mongodb';
import { generateDeltaConfig } from '../../src/adopt/index.js';
import type { MigrateMongoConfig } from '../../src/adopt/index.js';
import { secretsOf } from '../../src/config/redact.js';
import { checksumOf } from '../../src/loader/checksum.js';
import { MongoLease } from '../../src/lock/mongo-lease.js';
import { runCli } from '../helpers/cli.js';
import { withCredentials } from '../helpers/connection-string.js';
import { snapshotDatabase } from '../helpers/database.js';
import type { ProjectOptions, StatusJson } from '../helpers/migrate-mongo.js';
import {
  FILES,
  FIRST,
  SECOND,
  THIRD,
  changelogOf as changelogIn,
  idOf,
  migrateMongo,
  migrateMongoProject as project,
  migrateMongoStatus,
  oneLine,
  seedChangelog as seed,
} from '../helpers/migrate-mongo.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const migrateMongoProject = (prefix: string, options: ProjectOptions = {}) => project(fixture, prefix, options);
const changelogOf = (db: string, collection?: string) => changelogIn(fixture, db, collection);
const seedChangelog = (db: string, files: readonly string[], extra?: Document) => seed(fixture, db, files, extra);

describe('delta import migrate-mongo', () => {
  it('adopts a project migrate-mongo applied: dry run, import, status, commit and rollback of the rest', async () => {
    const p = migrateMongoProject('mm_adopt');
    const up = await migrateMongo(['up'], p.dir);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`MIGRATED UP: ${FIRST}\\nMIGRATED UP: ${SECOND}`));
    p.write(`migrations/${THIRD}`, FILES[THIRD]);
    const mmStatus = await migrateMongoStatus(p.dir);
    assert.equal(mmStatus[THIRD], 'PENDING');
    const changelog = await changelogOf(p.db);
    assert.equal(changelog.length, 2);
    const before = await snapshotDatabase(fixture.client, p.db);

    const dry = await runCli(['import', 'migrate-mongo', '--dry-run'], { cwd: p.dir });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Dry run: no lock taken, nothing written/);
    assert.match(dry.stdout, /Would import 2 applied changes into delta history of mm_adopt_/);
    for (const file of [FIRST, SECOND]) assert.match(dry.stdout, new RegExp(`${idOf(file)}\\s+2\\d{3}-\\S+Z\\s+[0-9a-f]{12}…\\s+${file}`));
    assert.match(dry.stdout, new RegExp(`Next: delta commit will run ${idOf(THIRD)}\\.`));
    assert.match(dry.stdout, /Would write .*delta\.config\.mjs:\n/);
    assert.match(dry.stdout, /\| {3}db: "mm_adopt_[0-9a-f]+",/);
    assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before, 'a dry run writes nothing');
    assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));

    const imported = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /Imported 2 applied changes into delta history of mm_adopt_\w+ \(run [0-9a-f-]{36}\)/);
    assert.match(imported.stdout, /Wrote .*delta\.config\.mjs/);
    assert.deepEqual(await changelogOf(p.db), changelog, 'the changelog is untouched, byte for byte');

    const config = readFileSync(join(p.dir, 'delta.config.mjs'), 'utf8');
    assert.equal(statSync(join(p.dir, 'delta.config.mjs')).mode & 0o777, 0o600, "the generated configuration is its owner's only");
    assert.match(config, /^\/\/ delta configuration, written by `delta import migrate-mongo` from migrate-mongo-config\.js/);
    assert.match(
      config,
      new RegExp(
        `  db: "${p.db}",\\n  path: "\\./migrations",\\n  // How delta create names new changes: every id starts with a yyyymmddHHMMss timestamp\\.\\n  create: \\{ id: "\\{timestamp\\}-\\{name\\}" \\},\\n\\};\\n$`,
      ),
    );
    if (Object.keys(p.env).length === 0) assert.ok(config.includes(`  uri: ${JSON.stringify(p.url)},`));
    else assert.match(config, /\/\/ uri: not copied: the URL in migrate-mongo-config\.js holds a password/);

    // History: one record per applied file, migrate-mongo's times, delta's checksums, one run.
    const entries = await fixture.client.db(p.db).collection('changelog').find({}).toArray();
    const records = await fixture.client.db(p.db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
    assert.deepEqual(
      records.map((r) => r._id),
      [idOf(FIRST), idOf(SECOND)],
    );
    for (const record of records) {
      const file = `${String(record._id)}.js`;
      assert.equal(record.status, 'applied');
      assert.equal(record.file, file);
      assert.equal(record.transactional, false);
      assert.equal(record.checksum, checksumOf(readFileSync(join(p.dir, 'migrations', file))));
      assert.deepEqual(record.appliedAt, entries.find((e) => e.fileName === file)?.appliedAt);
    }
    const runId = records[0]?.runId as string;
    assert.equal(records[1]?.runId, runId);
    const audit = await fixture.client.db(p.db).collection('delta_audit').find({ runId }).sort({ changeId: 1 }).toArray();
    assert.deepEqual(
      audit.map((e) => [e.action, e.outcome, e.changeId]),
      [
        ['baseline', 'success', undefined],
        ['baseline', 'success', idOf(FIRST)],
        ['baseline', 'success', idOf(SECOND)],
      ],
    );
    assert.deepEqual(audit[1]?.details, { importedFrom: 'migrate-mongo', changelogCollection: 'changelog', appliedAt: entries.find((e) => e.fileName === FIRST)?.appliedAt });
    assert.equal(audit[0]?.details.imported, 2);
    assert.deepEqual(audit[0]?.details.pending, [idOf(THIRD)]);

    // delta status shows what migrate-mongo's status showed.
    const status = await runCli(['status', '--json'], { cwd: p.dir, env: p.env });
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as StatusJson;
    assert.deepEqual(
      parsed.changes.map((c) => [c.file, c.state, c.appliedAt ?? 'PENDING']),
      [FIRST, SECOND, THIRD].map((file) => [file, mmStatus[file] === 'PENDING' ? 'pending' : 'applied', mmStatus[file]]),
    );

    // The rest runs unchanged: up(db, client), then down(db, client).
    const commit = await runCli(['commit'], { cwd: p.dir, env: p.env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, new RegExp(`✓ applied ${idOf(THIRD)}`));
    assert.match(commit.stdout, /Done: applied 1 change/);
    const users = await fixture.client.db(p.db).collection('users').find({}).sort({ email: 1 }).toArray();
    assert.deepEqual(
      users.map((u) => [u.email, u.status]),
      [
        ['ada@example.com', 'active'],
        ['alan@example.com', 'active'],
      ],
    );
    assert.deepEqual(await changelogOf(p.db), changelog, 'delta never writes the changelog');

    const rollback = await runCli(['rollback'], { cwd: p.dir, env: p.env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.match(rollback.stdout, new RegExp(`reverted ${idOf(THIRD)}`));
    const reverted = await fixture.client.db(p.db).collection('users').find({}).sort({ email: 1 }).toArray();
    assert.deepEqual(
      reverted.map((u) => [u.email, u.status]),
      [
        ['ada@example.com', undefined],
        ['alan@example.com', undefined],
      ],
    );
    const after = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir, env: p.env })).stdout) as StatusJson;
    assert.deepEqual([after.summary.applied, after.summary.rolled_back, after.summary.total], [2, 1, 3]);
  });

  it('with useFileHash, a file edited since migrate-mongo applied it stays pending, as migrate-mongo shows it', async () => {
    const p = migrateMongoProject('mm_hash', { config: { useFileHash: true } });
    const up = await migrateMongo(['up'], p.dir);
    assert.equal(up.code, 0, up.stderr);
    p.write(`migrations/${SECOND}`, `${FILES[SECOND]}// edited after it ran\n`);
    const mmStatus = await migrateMongoStatus(p.dir);
    assert.notEqual(mmStatus[FIRST], 'PENDING');
    assert.equal(mmStatus[SECOND], 'PENDING');

    const imported = await runCli(['import', 'migrate-mongo', '--json'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    const result = JSON.parse(imported.stdout) as { records: { id: string; fileHash: string }[]; pending: { id: string; reason: string }[] };
    assert.deepEqual(
      result.records.map((r) => r.id),
      [idOf(FIRST)],
    );
    assert.match(result.records[0]?.fileHash ?? '', /^[0-9a-f]{64}$/);
    assert.deepEqual(result.pending, [{ id: idOf(SECOND), file: SECOND, reason: 'changed' }]);
    assert.match(imported.stderr, new RegExp(`note: ${SECOND}: applied, but changed since and useFileHash is on`));
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir, env: p.env })).stdout) as StatusJson;
    assert.deepEqual(
      status.changes.map((c) => [c.id, c.state]),
      [
        [idOf(FIRST), 'applied'],
        [idOf(SECOND), 'pending'],
      ],
    );
  });

  it('reads an ES module project (moduleSystem esm) and runs its export const up/down files', async () => {
    const db = uniqueDbName('mm_esm');
    const url = fixture.uriFor(db);
    const p = fixture.project({
      'package.json': JSON.stringify({ name: 'app', type: 'module' }),
      'migrate-mongo-config.js': `const config = {\n  mongodb: { url: ${JSON.stringify(url)}, databaseName: ${JSON.stringify(db)}, options: {} },\n  migrationsDir: 'db/migrations',\n  changelogCollectionName: 'migrations_changelog',\n  migrationFileExtension: '.js',\n  moduleSystem: 'esm',\n};\nexport default config;\n`,
      'db/migrations/20240101090000-plans.js':
        "export const up = async (db) => { await db.collection('plans').insertOne({ _id: 'free' }); };\nexport const down = async (db) => { await db.collection('plans').deleteOne({ _id: 'free' }); };\n",
      'db/migrations/20240102090000-pro_plan.js':
        "export const up = async (db) => { await db.collection('plans').insertOne({ _id: 'pro' }); };\nexport const down = async (db) => { await db.collection('plans').deleteOne({ _id: 'pro' }); };\n",
    });
    await fixture.client
      .db(db)
      .collection('migrations_changelog')
      .insertOne({ fileName: '20240101090000-plans.js', appliedAt: new Date('2024-01-01T10:00:00Z') });
    const env = secretsOf(url).length > 0 ? { DELTA_URI: url } : {};
    const imported = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(readFileSync(join(p.dir, 'delta.config.mjs'), 'utf8'), / {2}path: "\.\/db\/migrations",/);
    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /✓ applied 20240102090000-pro_plan/);
    assert.deepEqual(await fixture.client.db(db).collection('plans').find({}).sort({ _id: 1 }).toArray(), [{ _id: 'pro' }], 'only the pending file ran');
  });

  describe('refuses, leaving the database and the project as they were', { concurrency: 4 }, () => {
    it('a missing config file: exit 2 naming it', async () => {
      const p = migrateMongoProject('mm_noconfig');
      await seedChangelog(p.db, [FIRST, SECOND]);
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo', '--config', 'config/nope-config.js'], { cwd: p.dir });
      assert.equal(result.code, 2);
      assert.match(oneLine(result.stderr), /^delta: error: migrate-mongo config file config\/nope-config\.js does not exist$/);
      const fallback = await runCli(['import', 'migrate-mongo'], { cwd: join(p.dir, 'migrations') });
      assert.equal(fallback.code, 2);
      assert.match(
        oneLine(fallback.stderr),
        /migrate-mongo config file migrate-mongo-config\.js does not exist \(run delta import in the folder of migrate-mongo-config\.js, or pass --config <file>\)/,
      );
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
      assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));
    });

    it('a config that throws: exit 2 with its message', async () => {
      const p = migrateMongoProject('mm_throws');
      p.write('throwing-config.js', "if (!process.env.MONGO_URL) throw new Error('MONGO_URL is not set');\nmodule.exports = {};\n");
      const result = await runCli(['import', 'migrate-mongo', '--config', 'throwing-config.js'], { cwd: p.dir });
      assert.equal(result.code, 2);
      assert.match(oneLine(result.stderr), /^delta: error: throwing-config\.js: cannot be loaded: MONGO_URL is not set$/);
      assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));
      p.write('bad-config.js', 'module.exports = { mongodb: { url: "mongodb://h/x" } };\n');
      const shapeless = await runCli(['import', 'migrate-mongo', '--config', 'bad-config.js'], { cwd: p.dir });
      assert.equal(shapeless.code, 2);
      assert.match(oneLine(shapeless.stderr), /bad-config\.js: changelogCollectionName must be the name of migrate-mongo's changelog collection/);
    });

    it('an existing delta configuration: exit 2 naming it', async () => {
      const p = migrateMongoProject('mm_hasconfig');
      await seedChangelog(p.db, [FIRST, SECOND]);
      p.write('delta.config.json', '{ "path": "elsewhere" }\n');
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(result.code, 2);
      assert.match(oneLine(result.stderr), /delta\.config\.json already exists: the import writes delta\.config\.mjs and never overwrites a configuration/);
      // --force replaces only the file the import writes; another one would still win.
      const forced = await runCli(['import', 'migrate-mongo', '--force'], { cwd: p.dir });
      assert.equal(forced.code, 2);
      assert.match(oneLine(forced.stderr), /delta\.config\.json would still be loaded instead of delta\.config\.mjs/);
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
      assert.equal(readFileSync(join(p.dir, 'delta.config.json'), 'utf8'), '{ "path": "elsewhere" }\n');
      assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));
    });

    it('delta history already there: exit 4 naming the changes; --force rewrites it', async () => {
      const p = migrateMongoProject('mm_twice');
      await seedChangelog(p.db, [FIRST, SECOND]);
      const first = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(first.code, 0, first.stderr);
      unlinkSync(join(p.dir, 'delta.config.mjs'));
      const before = await snapshotDatabase(fixture.client, p.db);
      const again = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(again.code, 4);
      assert.match(oneLine(again.stderr), new RegExp(`import refused: delta history already exists for ${idOf(FIRST)} \\(applied\\), ${idOf(SECOND)} \\(applied\\); pass --force`));
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
      assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));

      const forced = await runCli(['import', 'migrate-mongo', '--force', '--json'], { cwd: p.dir });
      assert.equal(forced.code, 0, forced.stderr);
      const result = JSON.parse(forced.stdout) as { runId: string; records: { id: string; replaces: string }[]; config: { written: boolean } };
      assert.deepEqual(
        result.records.map((r) => [r.id, r.replaces]),
        [
          [idOf(FIRST), 'applied'],
          [idOf(SECOND), 'applied'],
        ],
      );
      assert.ok(result.config.written);
      const records = await fixture.client.db(p.db).collection('delta_migrations').find({}).toArray();
      assert.deepEqual(
        records.map((r) => r.runId),
        [result.runId, result.runId],
      );
      const replaced = await fixture.client.db(p.db).collection('delta_audit').countDocuments({ runId: result.runId, 'details.replaced.status': 'applied' });
      assert.equal(replaced, 2);
    });

    it('changelog entries whose file is gone: exit 4 naming them; --skip-missing leaves them out', async () => {
      const p = migrateMongoProject('mm_missing');
      await seedChangelog(p.db, ['20231201000000-removed_long_ago.js', FIRST]);
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(result.code, 4);
      assert.match(
        oneLine(result.stderr),
        /changelog "changelog" in mm_missing_\w+ lists a file the migrations folder does not have: 20231201000000-removed_long_ago\.js; restore them, or pass --skip-missing/,
      );
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);

      const skipped = await runCli(['import', 'migrate-mongo', '--skip-missing'], { cwd: p.dir });
      assert.equal(skipped.code, 0, skipped.stderr);
      assert.match(skipped.stdout, /Left out \(no file\): 20231201000000-removed_long_ago\.js/);
      const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir, env: p.env })).stdout) as StatusJson;
      assert.deepEqual(
        status.changes.map((c) => [c.id, c.state]),
        [
          [idOf(FIRST), 'applied'],
          [idOf(SECOND), 'pending'],
        ],
      );
      const summary = await fixture.client
        .db(p.db)
        .collection('delta_audit')
        .findOne({ changeId: { $exists: false } });
      assert.deepEqual(summary?.details.skippedMissing, ['20231201000000-removed_long_ago.js']);
    });

    it('a file migrate-mongo ignores but delta would run (its sample-migration template): exit 2 naming it', async () => {
      const p = migrateMongoProject('mm_sample');
      p.write('migrations/sample-migration.js', 'module.exports = { async up() {}, async down() {} };\n');
      await seedChangelog(p.db, [FIRST]);
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(result.code, 2);
      assert.match(
        oneLine(result.stderr),
        /sample-migration\.js: migrate-mongo ignores this file \(it is migrate-mongo's template for new migrations\) but delta would run it as a change; move it out of migrations/,
      );
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
    });

    it('a .js file migrate-mongo would run but delta never reads as a change (a test beside the migrations): exit 2 naming it', async () => {
      const p = migrateMongoProject('mm_testfile');
      p.write('migrations/20240101090000-users.test.js', 'module.exports = { async up() {}, async down() {} };\n');
      // A package.json (ESM projects keep one here) is neither's migration: it is no problem.
      p.write('migrations/package.json', JSON.stringify({ type: 'commonjs' }));
      await seedChangelog(p.db, [FIRST]);
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(result.code, 2);
      assert.match(
        oneLine(result.stderr),
        /^delta: error: 20240101090000-users\.test\.js: migrate-mongo runs this file but delta never reads test files as changes; rename it, or move it out of migrations$/,
      );
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
    });

    it("another run holding delta's lock: exit 3, nothing written", async () => {
      const p = migrateMongoProject('mm_locked');
      await seedChangelog(p.db, [FIRST]);
      const lock = new MongoLease({ collection: fixture.client.db(p.db).collection('delta_lock'), scope: p.db, leaseMs: 60_000, waitMs: 0, command: 'commit' });
      await lock.acquire();
      try {
        const { delta_lock: _held, ...before } = await snapshotDatabase(fixture.client, p.db);
        const result = await runCli(['import', 'migrate-mongo', '--lock-wait', '0'], { cwd: p.dir });
        assert.equal(result.code, 3);
        assert.match(oneLine(result.stderr), new RegExp(`lock ${p.db} is held by .* \\(commit\\)`));
        const { delta_lock: _still, ...after } = await snapshotDatabase(fixture.client, p.db);
        assert.deepEqual(after, before);
        assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));
      } finally {
        await lock.release();
      }
    });

    it("migrate-mongo's own lock in place (a migrate-mongo up running): exit 3", async () => {
      const p = migrateMongoProject('mm_mmlock', { config: { lockTtl: 300 } });
      await seedChangelog(p.db, [FIRST]);
      await fixture.client.db(p.db).collection('changelog_lock').insertOne({ createdAt: new Date() });
      const before = await snapshotDatabase(fixture.client, p.db);
      const result = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
      assert.equal(result.code, 3);
      assert.match(oneLine(result.stderr), /migrate-mongo's lock \(changelog_lock in mm_mmlock_\w+\) is in place since .*: a migrate-mongo run is in progress/);
      assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
    });

    it('a URL with a password: never printed, never written to delta.config.mjs', async () => {
      const db = uniqueDbName('mm_secret');
      const url = withCredentials(fixture.uriFor(db), 'intruder', 's3cretPassw0rd');
      const p = migrateMongoProject('mm_secret', { url });
      const result = await runCli(['import', 'migrate-mongo', '--dry-run'], { cwd: p.dir });
      // The sandbox, like mongod with a wrong password, refuses the login.
      assert.equal(result.code, 2);
      assert.match(oneLine(result.stderr), /authentication failed for mongodb(\+srv)?:\/\/intruder:\*\*\*@/);
      assert.ok(!`${result.stdout}${result.stderr}`.includes('s3cretPassw0rd'));
      assert.ok(!existsSync(join(p.dir, 'delta.config.mjs')));

      const source: MigrateMongoConfig = {
        file: join(p.dir, 'migrate-mongo-config.js'),
        label: 'migrate-mongo-config.js',
        url,
        urlIsLiteral: true,
        databaseName: db,
        ignoredOptions: [],
        migrationsDir: 'migrations',
        changelogCollectionName: 'changelog',
        lockCollectionName: undefined,
        migrationFileExtension: '.js',
        useFileHash: false,
        moduleSystem: 'commonjs',
        environmentVariables: [],
        readsDotenv: false,
      };
      const generated = generateDeltaConfig(source, join(p.dir, 'migrations'), new Date());
      assert.ok(!generated.content.includes('s3cretPassw0rd'));
      assert.ok(!/^\s*uri:/m.test(generated.content));
      assert.match(generated.content, /\/\/ uri: not copied: the URL in migrate-mongo-config\.js holds a password, which delta does not copy into a file \(mongodb(\+srv)?:\/\/intruder:\*\*\*@/);
      assert.match(generated.content, /\/\/ Set DELTA_URI \(or MONGODB_URI\)/);
      // Nor a password of characters no pattern over the text is sure of: the driver's own parse decides.
      for (const password of ['S3cr(et)x', 'it"s[a]{b}<c>']) {
        const odd = generateDeltaConfig({ ...source, url: `mongodb://admin:${password}@db.example/app` }, join(p.dir, 'migrations'), new Date());
        assert.ok(!odd.content.includes(password), odd.content);
        assert.match(odd.content, /\/\/ uri: not copied: the URL in migrate-mongo-config\.js holds a password, which delta does not copy into a file \(mongodb:\/\/admin:\*\*\*@db\.example\/app\)/);
      }
      // A URL computed from the environment is not frozen into the file either.
      const computed = generateDeltaConfig({ ...source, url: fixture.uriFor(db), urlIsLiteral: false }, join(p.dir, 'migrations'), new Date());
      assert.match(computed.content, /\/\/ uri: not copied: migrate-mongo-config\.js computes its URL/);
    });
  });
});

// After `delta import migrate-mongo`: what the import says the next commit and create will do,
// migrate-mongo's changelog kept in step for teammates who still run it (--keep-changelog, with the
// real migrate-mongo 14 CLI), and the environment variables the old configuration read.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import type { StatusJson } from '../helpers/migrate-mongo.js';
import { FILES, FIRST, SECOND, THIRD, idOf, migrateMongo, migrateMongoProject as project, migrateMongoStatus } from '../helpers/migrate-mongo.js';
import { useServer } from '../helpers/server.js';

const fixture = useServer();
const migrateMongoProject = (prefix: string, options: Parameters<typeof project>[2] = {}) => project(fixture, prefix, options);

describe('after delta import migrate-mongo', () => {
  it('import says exactly what the next commit does: an edited file older than the newest applied one makes commit refuse, and names the flag', async () => {
    const p = migrateMongoProject('mm_next', { config: { useFileHash: true }, files: [FIRST, SECOND, THIRD] });
    assert.equal((await migrateMongo(['up'], p.dir)).code, 0);
    p.write(`migrations/${SECOND}`, `${FILES[SECOND]}// edited after it ran\n`);

    const imported = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      new RegExp(
        `Next: delta commit will refuse to run \\(exit 4, nothing run\\): ${idOf(SECOND)} \\(edited since migrate-mongo applied it\\) is pending but older than the newest applied change ${idOf(THIRD)}\\. ` +
          'To run it as migrate-mongo up would: delta commit --out-of-order',
      ),
    );
    assert.doesNotMatch(imported.stdout, /delta commit will run/);

    // What it said is what commit does: refuses, runs nothing; then the command it named runs the file.
    const before = await snapshotDatabase(fixture.client, p.db);
    const refused = await runCli(['commit'], { cwd: p.dir, env: p.env });
    assert.equal(refused.code, 4, refused.stderr);
    assert.match(refused.stderr, new RegExp(`${idOf(SECOND)}.*older than the newest applied change ${idOf(THIRD)}`));
    assert.deepEqual(await snapshotDatabase(fixture.client, p.db), before);
    const ran = await runCli(['commit', '--out-of-order'], { cwd: p.dir, env: p.env });
    assert.equal(ran.code, 0, ran.stderr);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir, env: p.env })).stdout) as StatusJson;
    assert.deepEqual(
      status.changes.map((c) => c.state),
      ['applied', 'applied', 'applied'],
    );
  });

  it('import names the pending files commit will run, in order, when none is out of order', async () => {
    const p = migrateMongoProject('mm_next_run', { files: [FIRST, SECOND, THIRD] });
    assert.equal((await migrateMongo(['up'], p.dir)).code, 0);
    await fixture.client
      .db(p.db)
      .collection('changelog')
      .deleteMany({ fileName: { $in: [SECOND, THIRD] } });
    const imported = await runCli(['import', 'migrate-mongo', '--dry-run'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, new RegExp(`Next: delta commit will run ${idOf(SECOND)}, ${idOf(THIRD)}, in this order\\.`));
  });

  it('a project whose files have no timestamp: import says how create will name changes, and the first create commits in order', async () => {
    const p = migrateMongoProject('mm_names', { files: [] });
    for (const name of ['add-users', 'add-orders']) {
      p.write(`migrations/${name}.js`, `module.exports = { async up(db) { await db.collection('${name}').insertOne({ _id: 1 }); }, async down(db) { await db.collection('${name}').drop(); } };\n`);
    }
    assert.equal((await migrateMongo(['up'], p.dir)).code, 0);
    const imported = await runCli(['import', 'migrate-mongo'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stdout,
      /delta create will name new changes z\{timestamp\}-\{name\} \(the ids share no timestamp or number prefix; new ids start with z so that they sort after every existing one\), e\.g\. z\d{14}-next_change\./,
    );
    assert.match(readFileSync(join(p.dir, 'delta.config.mjs'), 'utf8'), /^ {2}create: \{ id: "z\{timestamp\}-\{name\}" \},$/m);

    const created = await runCli(['create', 'add-index', '--js'], { cwd: p.dir, env: p.env });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /Created migrations\/z\d{14}-add-index\.js/);
    const commit = await runCli(['commit'], { cwd: p.dir, env: p.env });
    assert.equal(commit.code, 0, commit.stderr);
    const status = JSON.parse((await runCli(['status', '--json'], { cwd: p.dir, env: p.env })).stdout) as StatusJson;
    assert.deepEqual(
      status.changes.map((c) => [c.id.replace(/\d{14}/, '<ts>'), c.state]),
      [
        ['add-orders', 'applied'],
        ['add-users', 'applied'],
        ['z<ts>-add-index', 'applied'],
      ],
    );
  });

  it('--keep-changelog: migrate-mongo 14 sees what delta commits and rolls back; a failed change leaves no entry', async () => {
    const p = migrateMongoProject('mm_keep', { config: { useFileHash: true } });
    assert.equal((await migrateMongo(['up'], p.dir)).code, 0);
    p.write(`migrations/${THIRD}`, FILES[THIRD]);
    const imported = await runCli(['import', 'migrate-mongo', '--keep-changelog'], { cwd: p.dir });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(readFileSync(join(p.dir, 'delta.config.mjs'), 'utf8'), /^ {2}migrateMongo: \{ changelog: "changelog", fileExtension: "\.js", useFileHash: true \},$/m);
    assert.equal((await migrateMongoStatus(p.dir))[THIRD], 'PENDING');

    const commit = await runCli(['commit'], { cwd: p.dir, env: p.env });
    assert.equal(commit.code, 0, commit.stderr);
    const applied = await migrateMongoStatus(p.dir);
    assert.deepEqual(
      [FIRST, SECOND, THIRD].map((file) => applied[file] !== 'PENDING' && applied[file] !== undefined),
      [true, true, true],
      'migrate-mongo status shows every file applied',
    );
    const entry = await fixture.client.db(p.db).collection('changelog').findOne({ fileName: THIRD });
    assert.equal(entry?.fileHash, createHash('sha256').update(FILES[THIRD]).digest('hex'), "migrate-mongo's own fileHash");
    const users = await fixture.client
      .db(p.db)
      .collection('users')
      .find({}, { projection: { _id: 0 } })
      .toArray();
    const up = await migrateMongo(['up'], p.dir);
    assert.equal(up.code, 0, up.stderr);
    assert.doesNotMatch(up.stdout, /MIGRATED UP/);
    assert.deepEqual(
      await fixture.client
        .db(p.db)
        .collection('users')
        .find({}, { projection: { _id: 0 } })
        .toArray(),
      users,
      'migrate-mongo up ran nothing',
    );

    // An entry of an older version of the file, as migrate-mongo writes one when useFileHash sees it edited.
    await fixture.client
      .db(p.db)
      .collection('changelog')
      .insertOne({ fileName: THIRD, fileHash: 'an-older-version', appliedAt: new Date(Date.UTC(2024, 0, 3)), migrationBlock: 1 });
    const rollback = await runCli(['rollback'], { cwd: p.dir, env: p.env });
    assert.equal(rollback.code, 0, rollback.stderr);
    assert.equal((await migrateMongoStatus(p.dir))[THIRD], 'PENDING');
    assert.equal(await fixture.client.db(p.db).collection('changelog').countDocuments({ fileName: THIRD }), 0);

    // A change that fails inside its transaction: neither its effects nor its changelog entry stay.
    p.write('migrations/20240104090000-fails.js', "module.exports = { async up(db) { await db.collection('users').insertOne({ email: 'x' }); throw new Error('boom'); }, async down() {} };\n");
    const failed = await runCli(['commit'], { cwd: p.dir, env: p.env });
    assert.equal(failed.code, 1, failed.stderr);
    const after = await migrateMongoStatus(p.dir);
    assert.notEqual(after[THIRD], 'PENDING', 'the change before it ran again, and says so');
    assert.equal(after['20240104090000-fails.js'], 'PENDING');
    assert.equal(await fixture.client.db(p.db).collection('changelog').countDocuments({ fileName: '20240104090000-fails.js' }), 0);
    assert.equal(await fixture.client.db(p.db).collection('users').countDocuments({ email: 'x' }), 0);
  });

  it('a config that reads the environment: the import names the variables and the ones delta reads instead', async () => {
    const p = migrateMongoProject('mm_envvars');
    p.write(
      'migrate-mongo-config.js',
      `module.exports = { mongodb: { url: process.env.MM_TEST_URL, databaseName: process.env['MM_TEST_DB'] }, migrationsDir: 'migrations', changelogCollectionName: 'changelog' };\n`,
    );
    const imported = await runCli(['import', 'migrate-mongo', '--dry-run'], { cwd: p.dir, env: { MM_TEST_URL: fixture.uriFor(p.db), MM_TEST_DB: p.db } });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(
      imported.stderr,
      /note: migrate-mongo-config\.js reads MM_TEST_URL, MM_TEST_DB from the environment: delta reads \.\/\.env itself \(and --dotenv <file>\), but only its own variables: DELTA_URI \(or MONGODB_URI\)/,
    );
  });
});

// Stages through the CLI as a person uses them: a configured parallel stage, --stage, the
// stage column of status and history, JSON event lines, and bad stage input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const indexChange = (collection: string) => `export default {
  async commit({ db, session }) {
    await db.collection('${collection}').createIndex({ createdAt: 1 }, { session });
  },
  async rollback({ db, session }) {
    await db.collection('${collection}').dropIndex('createdAt_1', { session });
  },
};
`;

const seedChange = `export default {
  async commit({ db, session }) {
    await db.collection('plans').insertOne({ _id: 'free' }, { session });
  },
  async rollback({ db, session }) {
    await db.collection('plans').deleteOne({ _id: 'free' }, { session });
  },
};
`;

function stagedProject() {
  return fixture.project({
    'delta.config.json': JSON.stringify({ stages: [{ name: 'indexes', parallel: true, concurrency: 2 }, 'seed'] }),
    'migrations/indexes/001_orders_created.mjs': indexChange('orders'),
    'migrations/indexes/002_users_created.mjs': indexChange('users'),
    'migrations/seed/001_plans.mjs': seedChange,
  });
}

describe('stages through the CLI', () => {
  it("commit runs the stages in order and says so; status and history show each change's stage", async () => {
    const project = stagedProject();
    const db = uniqueDbName('stagecli');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const commit = await runCli(['commit'], { cwd: project.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /^Stage indexes \(2 changes, up to 2 at once\)$/m);
    assert.match(commit.stdout, /^Stage seed \(1 change\)$/m);
    assert.ok(commit.stdout.indexOf('Stage seed') > commit.stdout.indexOf('applied 002_users_created'), 'the seed stage starts after the indexes stage');
    const indexes = await fixture.client.db(db).collection('users').indexes();
    assert.ok(indexes.some((index) => index.name === 'createdAt_1'));

    const status = await runCli(['status'], { cwd: project.dir, env });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^STATE\s+STAGE\s+ID\s+APPLIED AT/m);
    assert.match(status.stdout, /^applied\s+indexes\s+001_orders_created\s/m);
    assert.match(status.stdout, /^applied\s+seed\s+001_plans\s/m);

    const json = await runCli(['status', '--json'], { cwd: project.dir, env });
    const parsed = JSON.parse(json.stdout) as { stages: string[]; changes: { id: string; stage: string }[] };
    assert.deepEqual(parsed.stages, ['indexes', 'seed']);
    assert.deepEqual(
      parsed.changes.map((c) => `${c.stage}/${c.id}`),
      ['indexes/001_orders_created', 'indexes/002_users_created', 'seed/001_plans'],
    );

    const history = await runCli(['history'], { cwd: project.dir, env });
    assert.match(history.stdout, /^AT\s+ACTION\s+OUTCOME\s+STAGE\s+ID/m);
    assert.match(history.stdout, /commit\s+success\s+seed\s+001_plans/);
  });

  it('--stage runs one stage; --log-format json writes stage events as JSON lines on stderr', async () => {
    const project = stagedProject();
    const db = uniqueDbName('stagecli');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const seedOnly = await runCli(['commit', '--stage', 'seed', '--log-format', 'json'], { cwd: project.dir, env });
    assert.equal(seedOnly.code, 0, seedOnly.stderr);
    const events = seedOnly.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { event: string; stage?: string; changeId?: string });
    assert.deepEqual(
      events.filter((e) => e.event.startsWith('stage:') || e.event === 'change:success').map((e) => `${e.event} ${e.stage ?? e.changeId ?? ''}`),
      ['stage:start seed', 'change:success 001_plans', 'stage:end seed'],
    );
    assert.deepEqual(await fixture.client.db(db).collection('plans').find({}).toArray(), [{ _id: 'free' }]);
    assert.deepEqual(
      await fixture.client
        .db(db)
        .collection('users')
        .indexes()
        .catch(() => []),
      [],
      'the indexes stage did not run',
    );
    assert.doesNotMatch(seedOnly.stdout, /Stage seed/, 'json replaces the human view');

    const both = await runCli(['commit', '--log-format', 'both'], { cwd: project.dir, env });
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, /^Stage indexes \(2 changes, up to 2 at once\)$/m);
    assert.match(both.stderr, /^\{"event":"stage:start".*"stage":"indexes"/m);
  });

  it('refuses an unknown stage and bad stage settings with one line and exit 2, writing nothing', async () => {
    const project = stagedProject();
    const db = uniqueDbName('stagecli');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const before = await snapshotDatabase(fixture.client, db);
    const unknown = await runCli(['commit', '--stage', 'nope'], { cwd: project.dir, env });
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr.trim(), 'delta: error: --stage nope: no such stage (stages: indexes, seed)');

    const flat = fixture.project({ 'migrations/001_a.mjs': seedChange });
    const noStages = await runCli(['rollback', '--stage', 'seed'], { cwd: flat.dir, env });
    assert.equal(noStages.code, 2);
    assert.match(noStages.stderr.trim(), /^delta: error: --stage seed: this project has no stages/);

    project.write('delta.config.json', JSON.stringify({ stages: [{ name: 'indexes', timeoutMs: -1 }] }));
    const negative = await runCli(['commit'], { cwd: project.dir, env });
    assert.equal(negative.code, 2);
    assert.equal(negative.stderr.trim(), 'delta: error: delta.config.json: stages.0.timeoutMs must be greater than 0');

    project.write('delta.config.json', JSON.stringify({ stages: ['indexes'] }));
    const outside = await runCli(['commit'], { cwd: project.dir, env });
    assert.equal(outside.code, 2);
    assert.match(outside.stderr.trim(), /^delta: error: \S*migrations: seed\/001_plans\.mjs is in no stage: move it into a stage's folder, declare its folder as a stage/);
    assert.deepEqual(await snapshotDatabase(fixture.client, db), before);
  });
});

describe('hooks, services and time limits through the CLI', () => {
  const twoChanges = {
    'migrations/001_first.mjs': `export default { async commit({ db, session, services }) { await db.collection('effects').insertOne({ _id: 'first', label: services.label?.() }, { session }); } };\n`,
    'migrations/002_second.mjs': `export default { async commit({ db, session }) { await db.collection('effects').insertOne({ _id: 'second' }, { session }); } };\n`,
  };

  it('a configured beforeEach that throws stops the run before that change (exit 1, named on stderr); services reach the changes', async () => {
    const project = fixture.project({
      ...twoChanges,
      'delta.config.mjs': `export default {
  services: async () => ({ label: () => 'from-services' }),
  hooks: {
    beforeEach: async ({ change }) => { if (change.id === '002_second') throw new Error('freeze window'); },
  },
};
`,
    });
    const db = uniqueDbName('hookcli');
    const result = await runCli(['commit'], { cwd: project.dir, env: { DELTA_URI: fixture.uriFor(db) } });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /beforeEach hook failed at 002_second: freeze window/);
    assert.deepEqual(await fixture.client.db(db).collection('effects').find({}).toArray(), [{ _id: 'first', label: 'from-services' }]);
  });

  it('refuses a hook or services that is not a function, and negative time limits, with one line naming the key (exit 2), writing nothing', async () => {
    const db = uniqueDbName('hookcli');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const cases: [Record<string, string>, string[], RegExp][] = [
      [{ 'delta.config.mjs': 'export default { hooks: { beforeAll: 42 } };\n' }, ['commit'], /^delta: error: delta\.config\.mjs: hooks\.beforeAll must be a function/],
      [{ 'delta.config.mjs': "export default { services: 'queue' };\n" }, ['commit'], /^delta: error: delta\.config\.mjs: services must be a function/],
      [{}, ['commit', '--timeout', '-5'], /--timeout/],
      [{ 'migrations/003_neg.mjs': 'export default { timeoutMs: -1, async commit() {} };\n' }, ['commit'], /^delta: error: 003_neg\.mjs: timeoutMs must be a positive number of milliseconds$/],
    ];
    for (const [files, args, expected] of cases) {
      const project = fixture.project({ ...twoChanges, ...files });
      const before = await snapshotDatabase(fixture.client, db);
      const result = await runCli(args, { cwd: project.dir, env });
      assert.equal(result.code, 2, `${args.join(' ')} ${JSON.stringify(files)}: ${result.stderr}`);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr.trim(), expected);
      assert.deepEqual(await snapshotDatabase(fixture.client, db), before);
    }
  });
});

// What a careful user keeps beside changes (a package.json that makes .js changes ES modules, a
// tsconfig.json, a README, declarations, source maps, dotfiles, lint configs, tests) is never a
// change: commit applies exactly the real changes, status lists only them, validate is clean,
// in the change folder and in stage folders alike. The rule: src/loader/ignored-files.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** An ES module change (`export default`): it loads only if the folder's package.json is honoured. */
const esmChange = (id: string) => `export default {
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${id}', at: import.meta.url }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${id}' }, { session }); },
};
`;

/** Everything that is not a change; imported or parsed as one, each would fail or run something. */
function bystanders(prefix: string): Record<string, string> {
  const at = (name: string) => `${prefix}${name}`;
  return {
    [at('package.json')]: JSON.stringify({ type: 'module' }),
    [at('tsconfig.json')]: JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext' } }),
    [at('jsconfig.json')]: JSON.stringify({ compilerOptions: { checkJs: true } }),
    [at('README.md')]: '# Migrations\n\nRun them with delta commit.\n',
    [at('types.d.ts')]: 'export interface User { readonly email: string }\n',
    [at('helpers.d.mts')]: 'export declare const x: number;\n',
    [at('001_seed.js.map')]: JSON.stringify({ version: 3, sources: ['001_seed.ts'], mappings: '' }),
    [at('.eslintrc.json')]: JSON.stringify({ rules: {} }),
    [at('.DS_Store')]: '\u0000\u0000\u0000\u0001Bud1',
    [at('.gitkeep')]: '',
    [at('eslint.config.js')]: "throw new Error('eslint.config.js was imported as a change');\n",
    [at('20240101000000_first.test.js')]: "throw new Error('a test file was imported as a change');\n",
  };
}

interface StatusJson {
  readonly stages: readonly string[];
  readonly changes: readonly { readonly id: string; readonly state: string; readonly stage?: string }[];
}

async function readBack(db: string) {
  const effects = await fixture.client.db(db).collection('effects').find({}).sort({ _id: 1 }).toArray();
  const records = await fixture.client.db(db).collection('delta_migrations').find({}).sort({ _id: 1 }).toArray();
  return {
    effects: effects.map((doc) => String(doc._id)),
    records: records.map((record) => [record._id, record.status, record.file]),
  };
}

describe('files beside changes are not changes', () => {
  it('a change folder that is an ES module package: commit, status --json and validate see only the changes', async () => {
    const p = fixture.project({
      ...bystanders('migrations/'),
      'migrations/20240101000000_first.js': esmChange('20240101000000_first'),
      'migrations/20240102000000_second.js': esmChange('20240102000000_second'),
      'migrations/20240103000000_third.yaml':
        'commit:\n  - insertMany: { collection: effects, documents: [ { _id: "20240103000000_third" } ] }\nrollback:\n  - deleteMany: { collection: effects, filter: { _id: "20240103000000_third" } }\n',
    });
    const db = uniqueDbName('folderfiles');
    const env = { DELTA_URI: fixture.uriFor(db) };
    const ids = ['20240101000000_first', '20240102000000_second', '20240103000000_third'];

    const pending = await runCli(['status', '--json'], { cwd: p.dir, env });
    assert.equal(pending.code, 0, pending.stderr);
    assert.deepEqual(
      (JSON.parse(pending.stdout) as StatusJson).changes.map((c) => [c.id, c.state]),
      ids.map((id) => [id, 'pending']),
    );

    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.equal(commit.stderr, '');
    assert.match(commit.stdout, /Done: applied 3 changes/);
    const stored = await readBack(db);
    assert.deepEqual(stored.effects, ids);
    assert.deepEqual(stored.records, [
      ['20240101000000_first', 'applied', '20240101000000_first.js'],
      ['20240102000000_second', 'applied', '20240102000000_second.js'],
      ['20240103000000_third', 'applied', '20240103000000_third.yaml'],
    ]);
    const first = await fixture.client
      .db(db)
      .collection('effects')
      .findOne({ _id: '20240101000000_first' as never });
    assert.match(String(first?.at), /^file:\/\/.*\/migrations\/20240101000000_first\.js$/, 'loaded as an ES module (import.meta.url)');

    const status = await runCli(['status', '--json'], { cwd: p.dir, env });
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as StatusJson;
    assert.deepEqual(parsed.stages, []);
    assert.deepEqual(
      parsed.changes.map((c) => [c.id, c.state]),
      ids.map((id) => [id, 'applied']),
    );

    const validate = await runCli(['validate', '--json'], { cwd: p.dir, env });
    assert.equal(validate.code, 0, validate.stderr);
    const report = JSON.parse(validate.stdout) as { ok: boolean; problems: unknown[]; changes: number };
    assert.deepEqual([report.ok, report.problems, report.changes], [true, [], 3]);

    const again = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await readBack(db), stored, 'nothing more to apply');
  });

  it('stage folders: bystanders in each stage and beside them are ignored, and a folder holding only them is no stage', async () => {
    const p = fixture.project({
      ...bystanders('migrations/'),
      ...bystanders('migrations/1-schema/'),
      ...bystanders('migrations/2-data/'),
      'migrations/docs/README.md': '# Notes\n',
      'migrations/docs/.gitkeep': '',
      'migrations/1-schema/20240201000000_users.js': esmChange('20240201000000_users'),
      'migrations/2-data/20240101000000_seed.js': esmChange('20240101000000_seed'),
    });
    const db = uniqueDbName('stagefiles');
    const env = { DELTA_URI: fixture.uriFor(db) };

    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /Done: applied 2 changes/);
    assert.deepEqual(await readBack(db), {
      effects: ['20240101000000_seed', '20240201000000_users'],
      records: [
        ['20240101000000_seed', 'applied', '2-data/20240101000000_seed.js'],
        ['20240201000000_users', 'applied', '1-schema/20240201000000_users.js'],
      ],
    });

    const status = await runCli(['status', '--json'], { cwd: p.dir, env });
    assert.equal(status.code, 0, status.stderr);
    const parsed = JSON.parse(status.stdout) as StatusJson;
    assert.deepEqual(parsed.stages, ['1-schema', '2-data'], 'docs/ holds no change: no stage');
    assert.deepEqual(
      parsed.changes.map((c) => `${c.stage}/${c.id}/${c.state}`),
      ['1-schema/20240201000000_users/applied', '2-data/20240101000000_seed/applied'],
    );

    const validate = await runCli(['validate', '--json'], { cwd: p.dir, env });
    assert.equal(validate.code, 0, validate.stderr);
    assert.equal((JSON.parse(validate.stdout) as { ok: boolean }).ok, true);
  });
});

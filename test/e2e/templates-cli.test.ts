import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { snapshotDatabase } from '../helpers/database.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();
const { project, uriFor } = fixture;

describe('declarative changes through the CLI', () => {
  it('create --yaml writes a commented template that loads; once filled in it commits with a configured custom operation', async () => {
    const p = project({
      'delta.config.mjs': `export default {
  path: './migrations',
  operations: {
    seedPlans: {
      async run({ db, session }, args) {
        await db.collection('plans').insertMany(args.plans.map((name) => ({ _id: name })), { session });
      },
    },
  },
};
`,
    });
    const db = uniqueDbName('tplcli');
    const env = { DELTA_URI: uriFor(db) };
    const created = await runCli(['create', 'seed plans', '--yaml'], { cwd: p.dir, env });
    assert.equal(created.code, 0, created.stderr);
    const [file] = readdirSync(join(p.dir, 'migrations'));
    assert.match(file ?? '', /^\d{14}_seed_plans\.yaml$/);
    const path = join(p.dir, 'migrations', file ?? '');
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^# A declarative change/);
    assert.match(created.stdout, new RegExp(`Created migrations/${file}`));

    const pending = await runCli(['status'], { cwd: p.dir, env });
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /^pending /m);

    writeFileSync(path, text.replace(/^commit:\n/m, 'commit:\n  - seedPlans: { plans: [ free, pro ] }\n  - createIndex: { collection: plans, keys: { tier: 1 } }\n'));
    const commit = await runCli(['commit'], { cwd: p.dir, env });
    assert.equal(commit.code, 0, commit.stderr);
    assert.match(commit.stdout, /✓ applied \d{14}_seed_plans .*no transaction/);
    assert.deepEqual(await fixture.client.db(db).collection('plans').find({}).sort({ _id: 1 }).toArray(), [{ _id: 'free' }, { _id: 'pro' }]);

    const rollback = await runCli(['rollback'], { cwd: p.dir, env });
    assert.equal(rollback.code, 2, 'seedPlans has no inverse, so no rollback is derived');
    assert.match(rollback.stderr, /seed_plans \(\d{14}_seed_plans\.yaml\) has no rollback/);
    assert.equal(await fixture.client.db(db).collection('plans').countDocuments(), 2);
  });

  it('an invalid template: exit 2, one line naming file, line, path and expectation; nothing written', async () => {
    const p = project({
      'migrations/001_orders.yaml': 'commit:\n  - createCollection: { name: orders }\n',
      'migrations/002_orders_index.yaml': 'description: index\ncommit:\n  - createIndex: { collection: orders, keys: { customerId: ascending } }\n',
    });
    const db = uniqueDbName('tplbad');
    const before = await snapshotDatabase(fixture.client, db);
    const result = await runCli(['commit', '--path', 'migrations'], { cwd: p.dir, env: { DELTA_URI: uriFor(db) } });
    assert.equal(result.code, 2);
    const lines = result.stderr.trim().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(lines[0] ?? '', /002_orders_index\.yaml:3: commit\[0\]\.createIndex\.keys\.customerId: expected 1, -1, "text", "2d", "2dsphere" or "hashed" \(got a string "ascending"\)$/);
    assert.deepEqual(await snapshotDatabase(fixture.client, db), before);
  });
});

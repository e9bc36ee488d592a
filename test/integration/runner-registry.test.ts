// A runner registered in the configuration's `runners`: it claims its files by name, turns them into
// changes through the same contract as the built-in runners, and its name is kept in each record.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import type { Delta } from '../../src/index.js';
import { ChangeFileError, ConfigError, createDelta } from '../../src/index.js';
import { uniqueDbName, useServer } from '../helpers/server.js';
import type { ChangeFormat } from '../../src/vocabulary/index.js';
import { NO_METADATA } from '../../src/vocabulary/index.js';

const fixture = useServer();
const open: Delta[] = [];

/** `<id>.collections`: one collection name per line, created on commit and dropped on rollback. */
const collectionsRunner: ChangeFormat = {
  name: 'collections',
  paired: false,
  match: (fileName) => (fileName.endsWith('.collections') ? { id: fileName.slice(0, -'.collections'.length), role: 'change' } : undefined),
  async load(file) {
    const names = (await readFile(file.absolutePath, 'utf8'))
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
    const bad = names.find((name) => !/^\w+$/.test(name));
    if (bad !== undefined) throw new ChangeFileError(`${file.file}: ${JSON.stringify(bad)} is not a collection name`, file.file);
    return {
      id: file.id,
      file: file.file,
      checksum: file.checksum,
      description: `creates ${names.join(', ')}`,
      stage: undefined,
      metadata: NO_METADATA,
      transaction: 'never',
      timeoutMs: undefined,
      backup: undefined,
      style: 'delta',
      async commit({ db }) {
        for (const name of names) await db.createCollection(name);
      },
      async rollback({ db }) {
        for (const name of names) await db.collection(name).drop();
      },
    };
  },
};

function setup(files: Record<string, string>, runners: unknown[] = [collectionsRunner]) {
  const project = fixture.project(files);
  const db = uniqueDbName('runners');
  const delta = createDelta({ config: { uri: fixture.server.uri, db, path: project.dir, runners: runners as ChangeFormat[] }, cwd: project.dir, env: {} });
  open.push(delta);
  return { db, delta };
}

const names = async (db: string) =>
  (await fixture.client.db(db).listCollections({}, { nameOnly: true }).toArray())
    .map((c) => c.name)
    .filter((name) => !name.startsWith('delta_'))
    .sort();

describe('configured runners', () => {
  after(async () => {
    await Promise.all(open.map((delta) => delta.close()));
  });

  it('claim their files, run through the same commit/rollback contract, and are named in records and status', async () => {
    const { db, delta } = setup({
      '001_base.collections': 'users\norders\n',
      '002_seed.mjs':
        "export default { async commit({ db }) { await db.collection('users').insertOne({ _id: 1 }); }, async rollback({ db }) { await db.collection('users').deleteOne({ _id: 1 }); } };\n",
    });
    const result = await delta.commit();
    assert.equal(result.outcome, 'success', result.error?.message);
    assert.deepEqual(await names(db), ['orders', 'users']);
    const record = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .findOne({ _id: '001_base' as never });
    assert.equal(record?.runner, 'collections');
    const status = await delta.status();
    assert.deepEqual(
      status.changes.map((c) => `${c.id} ${c.runner}`),
      ['001_base collections', '002_seed driver'],
    );
    const rollback = await delta.rollback({ all: true });
    assert.equal(rollback.outcome, 'success', rollback.error?.message);
    assert.deepEqual(await names(db), []);
  });

  it("a runner's bad input stops the run before anything is written", async () => {
    const { db, delta } = setup({ '001_base.collections': 'users\nnot a name\n' });
    await assert.rejects(delta.commit(), (error: unknown) => error instanceof ChangeFileError && /001_base\.collections: "not a name" is not a collection name/.test(error.message));
    assert.deepEqual(await fixture.client.db(db).listCollections().toArray(), []);
  });

  it('an entry that is not a runner is a configuration error naming the key', async () => {
    const { delta } = setup({}, [{ name: 'broken' }]);
    await assert.rejects(delta.status(), (error: unknown) => error instanceof ConfigError && /runners\.0/.test(error.message));
  });
});

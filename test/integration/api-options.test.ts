// createDelta() refuses keys it does not know, naming the key and where it belongs, before it
// touches anything: `createDelta({ uri, path })` used to ignore both and fail later on a folder.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDelta } from '../../src/index.js';
import type { DeltaConfigInput } from '../../src/index.js';
import { ConfigError, UsageError } from '../../src/errors.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

describe('createDelta options', () => {
  it('configuration beside config is refused, naming the key and saying it goes inside config; nothing is written', async () => {
    const db = uniqueDbName('apiopts');
    const p = fixture.project({ 'changes/001_one.js': 'export default { async commit({ db }) { await db.collection("x").insertOne({}); } };\n' });
    // As a user would write it: the keys outside config (the type forbids it; JavaScript callers are not checked).
    const misplaced = { uri: fixture.uriFor(db), path: './changes', cwd: p.dir, env: {} } as Parameters<typeof createDelta>[0];
    assert.throws(
      () => createDelta(misplaced),
      (error: unknown) => error instanceof UsageError && /unknown option "uri"/.test(error.message) && /createDelta\(\{ config: \{ uri: \.\.\. \} \}\)/.test(error.message),
    );
    const names = await fixture.client.db(db).listCollections().toArray();
    assert.deepEqual(names, [], 'nothing was written');
  });

  it('a key that is neither an option nor configuration lists what createDelta takes', () => {
    const typo = { config: {}, chnages: [] } as Parameters<typeof createDelta>[0];
    assert.throws(
      () => createDelta(typo),
      (error: unknown) => error instanceof UsageError && /unknown option "chnages"/.test(error.message) && /config, flags, env, cwd, client, changes/.test(error.message),
    );
  });

  it('an unknown key inside config is refused when the configuration is first needed, naming it', async () => {
    const delta = createDelta({ config: { uri: fixture.uriFor(uniqueDbName('apiopts')), bogus: true } as DeltaConfigInput, changes: [], env: {} });
    await assert.rejects(delta.status(), (error: unknown) => error instanceof ConfigError && /bogus/.test(error.message));
    await delta.close();
  });
});

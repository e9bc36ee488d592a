// `.env` and `--dotenv`, as a project that keeps its connection string in a file uses them:
// the file is read, a variable already set wins, a missing file is one line (exit 2), and a
// password in a file is starred out like any other.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { withCredentials } from '../helpers/connection-string.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

const CHANGE = `export default { async commit({ db, session }) { await db.collection('effects').insertOne({ _id: 'one' }, { session }); } };\n`;

async function effects(db: string): Promise<number> {
  return fixture.client.db(db).collection('effects').countDocuments();
}

describe('environment files', () => {
  it('.env in the current folder gives DELTA_URI; a variable already set wins over it', async () => {
    const fromFile = uniqueDbName('envfile');
    const fromProcess = uniqueDbName('envproc');
    const p = fixture.project({ 'package.json': JSON.stringify({ type: 'module' }), 'migrations/001_one.js': CHANGE, '.env': `# the app's settings\nDELTA_URI=${fixture.uriFor(fromFile)}\n` });
    const first = await runCli(['commit'], { cwd: p.dir, env: {} });
    assert.equal(first.code, 0, first.stderr);
    assert.equal(await effects(fromFile), 1);
    const second = await runCli(['commit'], { cwd: p.dir, env: { DELTA_URI: fixture.uriFor(fromProcess) } });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(await effects(fromProcess), 1, 'the environment won over .env');
  });

  it('--dotenv names others (later files win); a missing one is one line, exit 2, nothing written', async () => {
    const db = uniqueDbName('envflag');
    const p = fixture.project({
      'package.json': JSON.stringify({ type: 'module' }),
      'migrations/001_one.js': CHANGE,
      'deploy/base.env': `MONGODB_URI=${fixture.uriFor(uniqueDbName('envbase'))}\n`,
      'deploy/prod.env': `MONGODB_URI=${fixture.uriFor(db)}\n`,
    });
    const missing = await runCli(['commit', '--dotenv', 'deploy/none.env'], { cwd: p.dir, env: {} });
    assert.equal(missing.code, 2, missing.stderr);
    assert.equal(missing.stderr.trim(), 'delta: error: --dotenv deploy/none.env: cannot be read (ENOENT)');
    const run = await runCli(['commit', '--dotenv', 'deploy/base.env', '--dotenv', 'deploy/prod.env'], { cwd: p.dir, env: {} });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await effects(db), 1);
  });

  it("a password in .env is starred out of the output, like the environment's", async () => {
    const db = uniqueDbName('envpw');
    const p = fixture.project({ 'migrations/001_one.js': CHANGE, '.env': `DELTA_URI=${withCredentials(fixture.uriFor(db), 'deploy', 'Env%40Secr3t')}\n` });
    const result = await runCli(['status', '--json'], { cwd: p.dir, env: {} });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /DELTA_URI: authentication failed for mongodb(\+srv)?:\/\/deploy:\*\*\*@/);
    assert.ok(!`${result.stdout}${result.stderr}`.includes('Env%40Secr3t') && !`${result.stdout}${result.stderr}`.includes('Env@Secr3t'));
  });
});

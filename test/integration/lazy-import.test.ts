// Files applied and unchanged since are known from their records and never imported unless they
// must run: an up-to-date application starts without evaluating a single change file. Each step
// runs the CLI in its own process, so no module cache hides an import.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { withDatabase } from '../helpers/connection-string.js';
import type { TestServer } from '../helpers/server.js';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import { tempProject } from '../helpers/temp.js';

let server: TestServer;
const projects: { cleanup(): void }[] = [];
before(async () => {
  server = await openTestServer();
});
after(async () => {
  projects.forEach((p) => p.cleanup());
  await server?.close();
});

/** A change file that appends its name to imports.log when it is evaluated. */
function tracedChange(name: string, description = name): string {
  return `import { appendFileSync } from 'node:fs';
appendFileSync(new URL('../imports.log', import.meta.url), '${name}\\n');
export default {
  description: '${description}',
  async commit({ db, session }) { await db.collection('effects').insertOne({ _id: '${name}' }, { session }); },
  async rollback({ db, session }) { await db.collection('effects').deleteOne({ _id: '${name}' }, { session }); },
};
`;
}

describe('lazy import of applied change files', () => {
  it('imports only what it may run: pending files, modified files, and the targets of a rollback', async () => {
    const p = tempProject({ 'package.json': JSON.stringify({ type: 'module' }), 'imports.log': '' });
    projects.push(p);
    for (const name of ['001_a', '002_b', '003_c']) p.write(`migrations/${name}.mjs`, tracedChange(name));
    const env = { DELTA_URI: withDatabase(server.uri, uniqueDbName('lazy')) };
    const delta = async (...args: string[]) => {
      writeFileSync(join(p.dir, 'imports.log'), '');
      const result = await runCli([...args, '--path', './migrations'], { cwd: p.dir, env });
      assert.equal(result.code, 0, result.stderr);
      return readFileSync(join(p.dir, 'imports.log'), 'utf8').split('\n').filter(Boolean).sort();
    };

    assert.deepEqual(await delta('commit'), ['001_a', '002_b', '003_c']);
    assert.deepEqual(await delta('commit'), [], 'nothing to do imports nothing');
    assert.deepEqual(await delta('status'), []);

    p.write('migrations/004_d.mjs', tracedChange('004_d'));
    assert.deepEqual(await delta('status'), ['004_d'], 'status imports only the file it does not know');
    assert.deepEqual(await delta('rollback', '--to', '002_b'), ['003_c', '004_d'], 'the rollback target is imported when it must run');

    p.write('migrations/001_a.mjs', tracedChange('001_a', 'edited'));
    assert.deepEqual(await delta('status'), ['001_a', '003_c', '004_d'], 'a modified file is imported again; 002_b, applied and unchanged, is not');
  });
});

/** NODE_OPTIONS that log every module of delta's build a process loads (a loader hook) to `log`. */
function logModules(log: string): string {
  const hook = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { if (url.includes('/dist/')) appendFileSync(${JSON.stringify(log)}, url.replace(/^.*\\/dist\\//, '') + '\\n'); return next(url, context); }`;
  const preload = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
  return `--import data:text/javascript,${encodeURIComponent(preload)}`;
}

describe("lazy loading of delta's own modules", () => {
  it('status, validate and history load no runner; commit loads it', async () => {
    const p = tempProject({ 'package.json': JSON.stringify({ type: 'module' }), 'modules.log': '' });
    projects.push(p);
    p.write('migrations/001_a.mjs', tracedChange('001_a'));
    const log = join(p.dir, 'modules.log');
    const env = { DELTA_URI: withDatabase(server.uri, uniqueDbName('lazymod')), NODE_OPTIONS: logModules(log) };
    const modules = async (...args: string[]) => {
      writeFileSync(log, '');
      const result = await runCli([...args, '--path', './migrations'], { cwd: p.dir, env });
      assert.equal(result.code, 0, result.stderr);
      return readFileSync(log, 'utf8').split('\n').filter(Boolean);
    };

    const committed = await modules('commit');
    assert.ok(committed.includes('runner/runner.js'), committed.join(' '));
    assert.ok(committed.includes('cli/main.js'), "the hook sees delta's modules");
    for (const command of ['status', 'validate', 'history']) {
      const loaded = await modules(command);
      assert.ok(loaded.includes('tracker/mongo-tracker.js'), `${command}: ${loaded.join(' ')}`);
      assert.deepEqual(
        loaded.filter((m) => m === 'runner/runner.js' || m === 'api/run-wiring.js' || m.startsWith('runner/step-')),
        [],
        `${command} loads no runner`,
      );
    }
  });
});

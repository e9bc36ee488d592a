// delta run through `npx mongo-delta` or a global install, in a project that does not install it:
// the packed tarball is installed into a temporary global prefix, and the files `init` and
// `create` write must load without 'mongo-delta' resolvable from the project, and type-check
// (once the types are reachable) without @types/node.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { childEnvironment, ROOT, runNode } from '../helpers/cli.js';
import { uniqueDbName, useServer } from '../helpers/server.js';

const fixture = useServer();

/** npm with the output we need on failure; never the project's own scripts. */
function npm(args: readonly string[], cwd: string): { code: number | null; output: string } {
  const result = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts'], { cwd, encoding: 'utf8', env: childEnvironment() });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('a global install (npx, npm install -g) in a project without mongo-delta', () => {
  let prefix = '';
  let scratch = '';

  before(() => {
    scratch = fixture.project().dir;
    const packed = npm(['pack', '--pack-destination', scratch], ROOT);
    assert.equal(packed.code, 0, packed.output);
    const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
    assert.ok(tarball !== undefined, packed.output);
    prefix = join(scratch, 'prefix');
    // From npm's cache when it holds every dependency (as after `npm ci`), else from the registry.
    let installed = npm(['install', '--global', '--prefix', prefix, '--offline', join(scratch, tarball)], scratch);
    if (installed.code !== 0) installed = npm(['install', '--global', '--prefix', prefix, '--prefer-offline', join(scratch, tarball)], scratch);
    assert.equal(installed.code, 0, installed.output);
  });

  it('init, create (TypeScript and JavaScript), commit and status run; the files type-check without @types/node', async () => {
    const db = uniqueDbName('global');
    const project = fixture.project({ 'package.json': JSON.stringify({ name: 'app', private: true }) });
    const env = { ...childEnvironment(), NO_COLOR: '1', DELTA_URI: fixture.uriFor(db) };
    const delta = (args: readonly string[]) => runNode([join(prefix, 'bin', 'delta'), ...args], { cwd: project.dir, env });

    const init = await delta(['init']);
    assert.equal(init.code, 0, init.stderr);
    for (const args of [
      ['create', 'add_users'],
      ['create', '--js', 'add_orders'],
    ]) {
      const created = await delta(args);
      assert.equal(created.code, 0, created.stderr);
    }
    const status = await delta(['status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /2 changes \(2 pending\)/);
    const commit = await delta(['commit']);
    assert.equal(commit.code, 0, commit.stderr);
    const records = await fixture.client
      .db(db)
      .collection('delta_migrations')
      .find({}, { projection: { _id: 1, status: 1 } })
      .toArray();
    assert.deepEqual(
      records.map((r) => r.status),
      ['applied', 'applied'],
    );

    // The types: mongo-delta reachable as a project's editor would see it, @types/node not at all.
    mkdirSync(join(project.dir, 'node_modules'));
    symlinkSync(join(prefix, 'lib', 'node_modules', 'mongo-delta'), join(project.dir, 'node_modules', 'mongo-delta'), 'dir');
    const compilerOptions = { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [], skipLibCheck: true };
    writeFileSync(join(project.dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['delta.config.ts', 'migrations/*.ts'] }));
    const tsc = (cwd: string) => spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd, encoding: 'utf8' });
    const checked = tsc(project.dir);
    assert.equal(checked.status, 0, checked.stdout);
    // A wrong value is caught: the check is real.
    writeFileSync(join(project.dir, 'delta.config.ts'), "import type { DeltaConfigInput } from 'mongo-delta';\nexport default { transaction: 'sometimes' } satisfies DeltaConfigInput;\n");
    const wrong = tsc(project.dir);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stdout, /sometimes/);
  });
});

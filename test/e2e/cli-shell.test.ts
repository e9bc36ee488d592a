import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertOneLineError, runCli } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp.js';

const projects: { cleanup(): void }[] = [];
function project(files: Record<string, string> = {}) {
  const p = tempProject(files);
  projects.push(p);
  return p;
}
after(() => projects.forEach((p) => p.cleanup()));

describe('delta CLI shell', () => {
  it('--help lists the commands with examples and exits 0', async () => {
    const result = await runCli(['--help']);
    assert.equal(result.code, 0);
    for (const command of ['commit|up', 'rollback|down', 'status', 'validate', 'create', 'init', 'sandbox']) assert.ok(result.stdout.includes(command), command);
    assert.match(result.stdout, /Examples:/);
    assert.match(result.stdout, /delta rollback --to/);
  });

  it('<command> --help shows its options, the global ones and examples', async () => {
    const result = await runCli(['rollback', '--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /--steps <n>/);
    assert.match(result.stdout, /Global Options:/);
    assert.match(result.stdout, /\$ delta rollback --to/);
  });

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await runCli(['--version']);
    assert.equal(result.code, 0);
    assert.equal(result.stdout.trim(), pkg.version);
  });

  it('an unknown command exits 2 naming it', async () => {
    const result = await runCli(['comit']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /unknown command 'comit'/);
    assert.match(result.stderr, /Did you mean commit\?/);
  });

  // Bad flags, arguments, configuration files and URIs: test/e2e/bad-input.test.ts (one table,
  // with the database checked unchanged).

  it('restore of a backup that does not exist exits 2 naming it, before connecting', async () => {
    const p = project();
    const result = await runCli(['restore', 'nope', '--uri', 'mongodb://127.0.0.1:9/app'], { cwd: p.dir });
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /no backup 'nope' in .*\.delta\/backups \(delta backups lists them\)/);
  });

  it('init writes a commented delta.config.ts and refuses to overwrite it', async () => {
    const p = project();
    const first = await runCli(['init'], { cwd: p.dir });
    assert.equal(first.code, 0, first.stderr);
    const text = readFileSync(join(p.dir, 'delta.config.ts'), 'utf8');
    assert.match(text, /^import type \{ DeltaConfigInput \} from 'mongo-delta';$/m);
    assert.match(text, /^\} satisfies DeltaConfigInput;$/m);
    assert.match(text, /\/\/ /);
    // The database goes in the default URI's path, so that a DELTA_URI naming another one wins (issue #20 item 10).
    assert.match(text, /^ {2}uri: 'mongodb:\/\/127\.0\.0\.1:27017\/app\?replicaSet=rs0',$/m);
    assert.doesNotMatch(text, /^\s*db:/m, 'no database hard-coded beside the uri');
    assert.doesNotMatch(text, /process\.env/, 'the environment already wins over the file');
    const second = await runCli(['init'], { cwd: p.dir });
    assert.equal(second.code, 2);
    assertOneLineError(second.stderr, /delta\.config\.ts already exists/);
    assert.equal(readFileSync(join(p.dir, 'delta.config.ts'), 'utf8'), text, 'unchanged');
  });

  it('create writes <path>/<UTC timestamp>_<name>.ts from the template', async () => {
    const p = project();
    const before = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 8);
    const result = await runCli(['create', 'add users index', '--path', 'db/changes'], { cwd: p.dir });
    assert.equal(result.code, 0, result.stderr);
    const files = readdirSync(join(p.dir, 'db/changes'));
    assert.equal(files.length, 1);
    assert.match(files[0] ?? '', new RegExp(`^${before}\\d{6}_add_users_index\\.ts$`));
    assert.match(readFileSync(join(p.dir, 'db/changes', files[0] ?? ''), 'utf8'), /^import type \{ ChangeDefinition \} from 'mongo-delta';[^]*\} satisfies ChangeDefinition;\n$/);
  });

  it("create follows the folder's convention: the next number, the migrate-mongo dash, a z prefix after names without one", async () => {
    const cases = [
      { files: ['001_users.js', '002_orders.js'], expected: /^003_add_index\.ts$/ },
      { files: ['20240101090000-users.js', '20240102090000-orders.js'], expected: /^\d{14}-add_index\.ts$/ },
      { files: ['add-users.js', 'zap-orders.js'], expected: /^zz\d{14}-add_index\.ts$/ },
    ];
    for (const { files, expected } of cases) {
      const p = project(Object.fromEntries(files.map((file) => [`migrations/${file}`, 'module.exports = { async up() {} };\n'])));
      const result = await runCli(['create', 'add_index'], { cwd: p.dir });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      const created = readdirSync(join(p.dir, 'migrations')).filter((file) => !files.includes(file));
      assert.equal(created.length, 1);
      assert.match(created[0] ?? '', expected);
      assert.ok([...files, created[0] ?? ''].sort().at(-1) === created[0], `${created[0] ?? ''} sorts after every existing file`);
    }
  });

  it('create uses create.id from the configuration, and warns when the id would sort before the newest change', async () => {
    const p = project({ 'delta.config.json': JSON.stringify({ create: { id: 'v{seq:2}-{name}' } }), 'migrations/v07-users.js': 'module.exports = { async up() {} };\n' });
    const next = await runCli(['create', 'orders'], { cwd: p.dir });
    assert.equal(next.code, 0, next.stderr);
    assert.ok(readdirSync(join(p.dir, 'migrations')).includes('v08-orders.ts'));
    p.write('migrations/zz-last.js', 'module.exports = { async up() {} };\n');
    const early = await runCli(['create', 'late'], { cwd: p.dir });
    assert.equal(early.code, 0, early.stderr);
    assert.match(early.stderr, /^delta: warning: v09-late sorts before zz-last, the newest change in the folder: delta commit will refuse it as out of order/);
  });

  it('create --js writes CommonJS or ESM depending on the nearest package.json', async () => {
    const cjs = project({ 'package.json': '{"name":"a"}' });
    assert.equal((await runCli(['create', 'x', '--js'], { cwd: cjs.dir })).code, 0);
    const cjsFile = readdirSync(join(cjs.dir, 'migrations'))[0] ?? '';
    assert.match(readFileSync(join(cjs.dir, 'migrations', cjsFile), 'utf8'), /^module\.exports = \{/);
    const esm = project({ 'package.json': '{"name":"b","type":"module"}' });
    assert.equal((await runCli(['create', 'x', '--js'], { cwd: esm.dir })).code, 0);
    const esmFile = readdirSync(join(esm.dir, 'migrations'))[0] ?? '';
    assert.match(readFileSync(join(esm.dir, 'migrations', esmFile), 'utf8'), /^export default \{/);
  });

  for (const bad of ['../escape', 'a/b', 'name.ts', '', '"quoted"']) {
    it(`create refuses the unsafe name ${JSON.stringify(bad)}`, async () => {
      const p = project();
      const result = await runCli(['create', bad], { cwd: p.dir });
      assert.equal(result.code, 2);
      assertOneLineError(result.stderr, /create: /);
      assert.ok(!existsSync(join(p.dir, 'migrations')) || readdirSync(join(p.dir, 'migrations')).length === 0);
    });
  }
});

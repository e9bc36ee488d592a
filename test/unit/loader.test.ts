import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { ChangeFileError } from '../../src/errors.js';
import { checksumOf, scanChangeFiles } from '../../src/loader/index.js';
import { loadChangeFolder } from '../helpers/changes.js';
import { ignoredBecause } from '../../src/loader/ignored-files.js';
import { ROOT } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}/`, import.meta.url));
const projects: { cleanup(): void }[] = [];
after(() => projects.forEach((p) => p.cleanup()));

async function loadError(name: string): Promise<ChangeFileError> {
  try {
    await loadChangeFolder({ path: fixture(name) });
  } catch (error) {
    assert.ok(error instanceof ChangeFileError, `expected ChangeFileError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the folder to be refused');
}

describe('loader', () => {
  it('loads TS, MTS, JS, CJS and MJS files in id order, ignoring _helper folders, .d.ts and other files', async () => {
    const changes = await loadChangeFolder({ path: fixture('loader-mixed') });
    assert.deepEqual(
      changes.map((c) => [c.id, c.file, c.style]),
      [
        ['001_typescript', '001_typescript.ts', 'delta'],
        ['002_javascript', '002_javascript.js', 'delta'],
        ['003_commonjs', '003_commonjs.cjs', 'delta'],
        ['004_named', '004_named.mjs', 'delta'],
        ['005_legacy', '005_legacy.cjs', 'migrate-mongo'],
        ['007_custom_id', '006_overridden.mts', 'delta'],
      ],
    );
    const [ts, js, , named, legacy] = changes;
    assert.equal(ts?.description, 'a typescript change');
    assert.equal(ts?.transaction, 'always');
    assert.equal(ts?.timeoutMs, 5000);
    assert.equal(typeof ts?.rollback, 'function');
    assert.equal(js?.rollback, undefined);
    assert.equal(named?.description, 'named exports');
    assert.equal(named?.transaction, 'never');
    assert.equal(legacy?.transaction, undefined, "migrate-mongo files take the run's mode: up(db, client) gets a db bound to the change's session");
  });

  it('checksums the file bytes with line endings normalised', async () => {
    const unix = tempProject({ '001_a.js': 'export default {\n  async commit() {},\n};\n' });
    const windows = tempProject({ '001_a.js': 'export default {\r\n  async commit() {},\r\n};\r\n' });
    projects.push(unix, windows);
    const [a] = await loadChangeFolder({ path: unix.dir });
    const [b] = await loadChangeFolder({ path: windows.dir });
    assert.equal(a?.checksum, b?.checksum);
    assert.equal(a?.checksum, checksumOf('export default {\n  async commit() {},\n};\n'));
    assert.match(a?.checksum ?? '', /^[0-9a-f]{64}$/);
  });

  it('checksums files of every size through one buffer: each as its own bytes hash, large ones whole', async () => {
    // 200 kB and 70 kB files grow the 64 kB buffer (twice, then not again); the small files
    // after them must hash only their own bytes, not what the large ones left in it.
    const big = `export default { async commit() {} };\n// ${'x'.repeat(200_000)}\n`;
    const files: Record<string, string> = {
      '001_small.js': 'export default { async commit() {} };\n',
      '002_big.js': big,
      '003_crlf.js': big.slice(0, 70_000).replace(/\n/g, '\r\n'),
      '004_small.js': 'export default { async commit() {} };\r\n',
      '005_empty.json': '',
    };
    const project = tempProject(files);
    projects.push(project);
    const { files: scanned } = await scanChangeFiles({ path: project.dir });
    assert.deepEqual(
      scanned.map((f) => [f.file, f.checksum]),
      Object.entries(files).map(([name, content]) => [name, checksumOf(content)]),
    );
    assert.equal(scanned[3]?.checksum, scanned[0]?.checksum, 'CRLF is normalised');
    assert.equal(scanned[1]?.absolutePath, join(project.dir, '002_big.js'));
  });

  it('an empty folder loads nothing', async () => {
    const empty = tempProject();
    projects.push(empty);
    assert.deepEqual(await loadChangeFolder({ path: empty.dir }), []);
  });

  it('refuses duplicate ids naming both files', async () => {
    const error = await loadError('loader-duplicate');
    assert.equal(error.message, '001_first.ts, 002_second.js: duplicate change id "same"');
  });

  it('reports a file that throws on import with its name and message', async () => {
    const error = await loadError('loader-throws');
    assert.equal(error.message, '001_boom.ts: failed to load: REQUIRED_SETTING is not set');
  });

  it('reports a TypeScript syntax error with file and line', async () => {
    const error = await loadError('loader-syntax');
    assert.match(error.message, /^001_broken\.ts:3:\d+: syntax error: /);
  });

  it('refuses a change without a commit function', async () => {
    assert.match((await loadError('loader-no-commit')).message, /^001_nothing\.ts: has no commit function/);
  });

  it('refuses a non-string id', async () => {
    assert.equal((await loadError('loader-bad-id')).message, '001_numeric.ts: id must be a string, got number');
  });

  it("accepts migrate-mongo up/down with transaction: 'always' (they run in the change's transaction)", async () => {
    const units = await loadChangeFolder({ path: fixture('loader-legacy-always') });
    assert.equal(units[0]?.transaction, 'always');
    assert.equal(units[0]?.style, 'migrate-mongo');
  });

  it('reports every broken file at once, one line each', async () => {
    const p = tempProject({ '001_a.ts': 'export default { description: 1, async commit() {} };', '002_b.js': 'throw new Error("nope");', '003_ok.js': 'export async function commit() {}' });
    projects.push(p);
    await assert.rejects(loadChangeFolder({ path: p.dir }), (error: unknown) => {
      assert.ok(error instanceof ChangeFileError);
      assert.deepEqual(error.message.split('\n'), ['001_a.ts: description must be a string', '002_b.js: failed to load: nope']);
      return true;
    });
  });

  it('leaves no TypeScript hook registered after loading', () => {
    // In a fresh process: load TS changes through the built loader, then a native import of a .ts file must fail.
    const script = `
      const { importChangeFiles, scanChangeFiles } = await import('./dist/loader/index.js');
      const units = await importChangeFiles((await scanChangeFiles({ path: ${JSON.stringify(fixture('loader-mixed'))} })).files);
      if (!units.some((unit) => unit.file.endsWith('.ts'))) throw new Error('no TypeScript change was loaded');
      try { await import(${JSON.stringify(new URL('../fixtures/loader-mixed/006_overridden.mts', import.meta.url).href + '?again')}); console.log('HOOK LEFT'); }
      catch (error) { console.log(error.code); }
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout.trim(), 'ERR_UNKNOWN_FILE_EXTENSION');
  });
});

describe('files that are never changes (src/loader/ignored-files.ts)', () => {
  const ignored = [
    'package.json',
    'package-lock.json',
    'pnpm-lock.yaml',
    'tsconfig.json',
    'tsconfig.build.json',
    'jsconfig.json',
    'README.md',
    'readme.txt',
    'LICENSE',
    'CHANGELOG.md',
    'types.d.ts',
    'types.d.mts',
    'types.d.cts',
    '001_a.js.map',
    '001_a.ts.map',
    '.eslintrc.json',
    '.DS_Store',
    '.gitkeep',
    '.deltarc.yaml',
    'eslint.config.js',
    'vitest.config.mts',
    'delta.config.ts',
    '001_users.test.ts',
    '001_users.spec.js',
    '001_users.test.mjs',
  ];
  // What `delta create` writes and what the runners claim must all stay changes.
  const changes = [
    '20240101120000_create_users.ts',
    '20240101120000_create_users.js',
    '20240101120000_seed.yaml',
    '001_plans.json',
    '002_x.mts',
    '003_y.cjs',
    '004_z.commit.sh',
    '004_z.rollback.sh',
    '005_m.commit.mongosh.js',
    '20240101_app_config.yaml',
    '20240101_testing.ts',
    '006_readme_links.ts',
  ];
  for (const name of ignored) it(`${name} is ignored`, () => assert.notEqual(ignoredBecause(name), undefined));
  for (const name of changes) it(`${name} may be a change`, () => assert.equal(ignoredBecause(name), undefined));

  it('a folder of them alone loads no change', async () => {
    const p = tempProject(Object.fromEntries(ignored.map((name) => [name, '{}'])));
    projects.push(p);
    assert.deepEqual(await loadChangeFolder({ path: p.dir }), []);
  });
});

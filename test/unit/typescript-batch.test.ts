// TypeScript change files compiled in one batch on a cold tsx cache (src/loader/typescript-batch.ts):
// what loads, what fails and what tsx caches must be exactly what tsx gives when it compiles
// every file itself (DELTA_TS_BATCH=0). Each load runs in a fresh process with an empty TMPDIR,
// where tsx keeps its compile cache.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { tempProject } from '../helpers/temp.js';

const files: Record<string, string> = {
  'package.json': JSON.stringify({ type: 'module' }),
  'migrations/_helpers/label.ts': 'export const label = (n: number): string => `helper ${n}`;\n',
  'migrations/021_meta.ts': `export default { description: new URL(import.meta.url).pathname.split('/').pop() as string, async commit(): Promise<void> {} };\n`,
  'migrations/022_uses_helper.ts': `import { label } from './_helpers/label.ts';\nexport default { description: label(22), async commit(): Promise<void> {} };\n`,
  'migrations/023_broken.ts': 'export default {\n  description: "broken",\n  async commit(: void {},\n};\n',
  'migrations/024_common.cts': `const change: { description: string; commit(): Promise<void> } = { description: 'cts', async commit() {} };\nmodule.exports = change;\n`,
};
for (let i = 1; i <= 20; i += 1) {
  const id = String(i).padStart(3, '0');
  files[`migrations/${id}_item.ts`] = `enum Kind { Plain = 'plain', Typed = 'typed' }
interface Shape { readonly n: number }
const shape = { n: ${i} } satisfies Shape;
export default {
  description: \`\${Kind.Typed} \${shape.n}\`,
  async commit(): Promise<void> {},
};
`;
}

interface Loaded {
  readonly units: { id: string; description: string | undefined }[];
  readonly problems: string[];
  readonly stats: { compiled: number; used: number };
  /** tsx's cache entries, name (without its time bucket) -> content. */
  readonly cache: Record<string, string>;
}

const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((cleanup) => cleanup()));

/** A fresh, empty TMPDIR (tsx's compile cache lives there), removed after the file's tests. */
function freshTemp(): string {
  const temp = mkdtempSync(join(tmpdir(), 'delta-tsx-'));
  cleanups.push(() => rmSync(temp, { recursive: true, force: true }));
  return temp;
}

/** Loads the project's changes in a fresh process whose TMPDIR is `temp`; what loaded, and what tsx cached there. */
function loadIn(dir: string, temp: string, env: Record<string, string> = {}): Loaded {
  const script = `
    const { scanChangeFiles } = await import('./dist/loader/change-folder.js');
    const { tryImportChangeFiles } = await import('./dist/loader/file-loader.js');
    const { batchStats } = await import('./dist/loader/typescript-batch.js');
    const { units, problems } = await tryImportChangeFiles((await scanChangeFiles({ path: ${JSON.stringify(join(dir, 'migrations'))} })).files);
    console.log(JSON.stringify({ units: units.map((u) => ({ id: u.id, description: u.description })), problems: problems.map((p) => p.message), stats: batchStats() }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TMPDIR: temp, ...env } });
  assert.equal(result.status, 0, result.stderr);
  const cache: Record<string, string> = {};
  for (const folder of readdirSync(temp).filter((name) => name.startsWith('tsx'))) {
    for (const name of readdirSync(join(temp, folder))) cache[name.replace(/^\d+-/, '')] = readFileSync(join(temp, folder, name), 'utf8');
  }
  return { ...(JSON.parse(result.stdout) as Omit<Loaded, 'cache'>), cache };
}

describe('TypeScript files compiled in one batch on a cold cache', () => {
  const project = tempProject(files);
  cleanups.push(project.cleanup);

  it('loads, fails and caches exactly what tsx does compiling each file itself', () => {
    const batched = loadIn(project.dir, freshTemp());
    const single = loadIn(project.dir, freshTemp(), { DELTA_TS_BATCH: '0' });

    // The batch was used: the 23 .ts changes were compiled ahead, and tsx took all but two: the
    // file using import.meta (its options name its own URL) and the broken one (tsx reports it).
    assert.deepEqual(batched.stats, { compiled: 23, used: 21 });
    assert.deepEqual(single.stats, { compiled: 0, used: 0 });

    const expected = [
      ...Array.from({ length: 20 }, (_, k) => ({ id: `${String(k + 1).padStart(3, '0')}_item`, description: `typed ${k + 1}` })),
      { id: '021_meta', description: '021_meta.ts' },
      { id: '022_uses_helper', description: 'helper 22' },
      { id: '024_common', description: 'cts' },
    ];
    assert.deepEqual(batched.units, expected);
    assert.deepEqual(single.units, expected);
    assert.equal(batched.problems.length, 1);
    assert.match(batched.problems[0] ?? '', /^023_broken\.ts:3:\d+: syntax error: /);
    assert.deepEqual(batched.problems, single.problems);

    // Byte for byte the same compiled files in tsx's cache, one per file that compiled.
    assert.ok(Object.keys(single.cache).length >= 23, `tsx cached ${Object.keys(single.cache).length} files`);
    assert.deepEqual(Object.keys(batched.cache).sort(), Object.keys(single.cache).sort());
    for (const [name, content] of Object.entries(single.cache)) assert.equal(batched.cache[name], content, `cache entry ${name}`);
  });

  it('a warm cache compiles nothing ahead and loads the same changes', () => {
    const temp = freshTemp();
    const first = loadIn(project.dir, temp);
    assert.equal(first.units.length, 23);
    // The second process finds every file in tsx's cache: nothing is compiled, ahead or otherwise.
    const second = loadIn(project.dir, temp);
    assert.deepEqual(second.units, first.units);
    assert.deepEqual(second.problems, first.problems);
    assert.deepEqual(second.stats, { compiled: 0, used: 0 });

    // The first file edited: it compiles again (the batch's result of it is taken), the others still come from the cache.
    project.write('migrations/001_item.ts', files['migrations/001_item.ts']?.replace('${Kind.Typed}', 'edited') ?? '');
    const third = loadIn(project.dir, temp);
    assert.deepEqual(third.units[0], { id: '001_item', description: 'edited 1' });
    assert.deepEqual(third.units.slice(1), first.units.slice(1));
    assert.equal(third.stats.used, 1);
  });
});

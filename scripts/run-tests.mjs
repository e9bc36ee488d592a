// Runs every test file under test/ with Node's built-in runner, TypeScript through tsx.
// Node 20's `--test` takes no globs, so the files are listed here.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = [];
for (const root of roots.length > 0 ? roots : ['test']) {
  walk(root);
}
function walk(dir) {
  if (dir.endsWith('.test.ts')) {
    files.push(dir);
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      // test/bench (the bench harness's smoke run, a minute of process spawning) runs with npm run test:stress.
      if (entry.name !== 'fixtures' && !(dir === 'test' && entry.name === 'bench')) walk(path);
    } else if (entry.name.endsWith('.test.ts')) {
      files.push(path);
    }
  }
}
files.sort();
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...flags, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);

// Issue 26: a fleet commit over 200 databases on two deployments (100 each), as a whole
// `delta` process, against two sandbox servers on two ports. Not part of `npm test` or
// `npm run bench`: `npm run build && node --import tsx bench/fleet-deployments.ts [reps] [--one-deployment] [delta flags]`.
// `--one-deployment` puts all 200 databases on the first server (the baseline: one pool).
// Each repetition commits two small changes to fresh databases (default concurrency: 4 per
// deployment), then times the same command again with nothing to do, and `status --targets`.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../src/sandbox/index.js';
import { timeNode } from './process-timer.js';
import { DELTA_BIN } from './tool-projects.js';

const PER_DEPLOYMENT = 100;
const reps = Number(process.argv[2] ?? 3);
const oneDeployment = process.argv.includes('--one-deployment');
const extra = process.argv.slice(3).filter((arg) => arg !== '--one-deployment');

const CHANGES: Record<string, string> = {
  'package.json': JSON.stringify({ type: 'module' }),
  'migrations/001_users.js': `export default {
  async commit({ db, session }) { await db.collection('users').insertOne({ _id: 'admin', role: 'owner' }, { session }); },
  async rollback({ db, session }) { await db.collection('users').deleteOne({ _id: 'admin' }, { session }); },
};
`,
  'migrations/002_flags.js': `export default {
  async commit({ db, session }) { await db.collection('flags').insertMany([{ _id: 'a' }, { _id: 'b' }], { session }); },
  async rollback({ db, session }) { await db.collection('flags').deleteMany({}, { session }); },
};
`,
};

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const [a, b] = await Promise.all([startSandbox({ port: 0 }), startSandbox({ port: 0 })]);
  const dir = mkdtempSync(join(tmpdir(), 'delta-fleet-bench-'));
  mkdirSync(join(dir, 'migrations'));
  for (const [file, text] of Object.entries(CHANGES)) writeFileSync(join(dir, file), text);
  const env = { ...process.env, DELTA_URI: a.uri, B_URI: b.uri, NO_COLOR: '1' };
  const times = { commit: [] as number[], again: [] as number[], status: [] as number[] };
  try {
    for (let rep = 0; rep < reps; rep += 1) {
      const names = Array.from({ length: PER_DEPLOYMENT }, (_, i) => `bench${rep}_${String(i).padStart(3, '0')}`);
      const list = names.join(', ');
      const second = oneDeployment ? `- db: [${names.map((n) => `${n}_b`).join(', ')}]\n` : `- uri: \${B_URI}\n  db: [${list}]\n`;
      writeFileSync(join(dir, 'fleet.yaml'), `- db: [${list}]\n${second}`);
      const args = [DELTA_BIN, 'commit', '--targets', '@fleet.yaml', '--json', ...extra];
      const commit = await timeNode(args, { cwd: dir, env });
      const result = JSON.parse(commit.stdout) as { outcome: string; targets: { outcome: string }[] };
      if (result.outcome !== 'success' || result.targets.length !== 2 * PER_DEPLOYMENT) throw new Error(`unexpected result: ${result.outcome}, ${result.targets.length} targets`);
      times.commit.push(commit.ms);
      times.again.push((await timeNode(args, { cwd: dir, env })).ms);
      times.status.push((await timeNode([DELTA_BIN, 'status', '--targets', '@fleet.yaml', '--json', ...extra.filter((x) => !x.startsWith('--total'))], { cwd: dir, env })).ms);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await Promise.all([a.stop(), b.stop()]);
  }
  const show = (label: string, values: readonly number[]) => console.log(`${label.padEnd(44)} median ${Math.round(median(values))} ms  (${values.map((v) => Math.round(v)).join(', ')})`);
  console.log(
    `fleet of ${2 * PER_DEPLOYMENT} databases on ${oneDeployment ? '1 sandbox deployment' : '2 sandbox deployments'}, 2 changes each, ${reps} reps${extra.length > 0 ? `, ${extra.join(' ')}` : ''}`,
  );
  show('commit (fresh databases)', times.commit);
  show('commit again (nothing to do)', times.again);
  show('status --targets', times.status);
  console.log(
    `load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

await main();

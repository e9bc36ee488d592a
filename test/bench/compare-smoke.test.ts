// `npm run bench` in tiny mode (1 repetition, 10 changes, no 1,000/10,000 scenarios), only to
// check that the harness still runs both tools end to end and writes its report. No timing is
// asserted: the figures of a tiny run on a busy test machine mean nothing. About a minute of process
// spawning, so it runs with `npm run test:stress` (scripts/run-tests.mjs leaves test/bench out).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { BenchReport } from '../../bench/compare-report.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LATEST = join(ROOT, 'bench', 'results', 'latest.json');
const dir = mkdtempSync(join(tmpdir(), 'delta-bench-smoke-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function runTinyBench(out: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, BENCH_TINY: '1', BENCH_OUT: out };
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/compare.ts'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run bench, tiny mode', () => {
  it('runs every scenario with both tools, prints the tables and writes the JSON report to BENCH_OUT', { timeout: 120_000 }, async () => {
    const latestBefore = existsSync(LATEST) ? statSync(LATEST).mtimeMs : undefined;
    const out = join(dir, 'tiny.json');
    const result = await runTinyBench(out);
    assert.equal(result.code, 0, result.stderr);

    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    assert.equal(report.tiny, true);
    assert.ok(report.machine.cpus > 0);
    assert.equal(typeof report.machine.cpuModel, 'string');
    assert.equal(report.machine.node, process.version);
    assert.ok(!Number.isNaN(Date.parse(report.machine.date)));
    assert.equal(typeof report.machine.loadAverage.start, 'number');
    assert.match(report.versions.migrateMongo, /^\d+\.\d+\.\d+/);

    assert.deepEqual(
      report.scenarios.map((s) => s.id),
      [
        'help',
        'commit-10-js',
        'commit-10-js-never',
        'commit-10-ts',
        'floor-never-10',
        'commit-noop-10',
        'floor-noop-10',
        'status-10-applied',
        'floor-status-10-applied',
        'commit-10-ts-cold',
        'status-10',
        'floor-status-10',
        'rollback-10',
        'race-3x10',
        'race-floor-3x10',
        ...(report.server === 'sandbox'
          ? [
              'commit-noop-10-latency',
              'floor-noop-10-latency',
              'status-10-applied-latency',
              'floor-status-10-applied-latency',
              'commit-10-js-latency',
              'commit-10-js-never-latency',
              'commit-10-ts-latency',
              'floor-never-10-latency',
            ]
          : []),
      ],
    );
    for (const s of report.scenarios) {
      for (const side of [s.delta, s.other]) {
        assert.equal(side.summary.runsMs.length, 1, s.id);
        assert.ok(side.summary.minMs > 0 && side.summary.minMs <= side.summary.medianMs && side.summary.medianMs <= side.summary.maxMs, s.id);
      }
      assert.ok(Number.isFinite(s.ratio) && s.ratio > 0, s.id);
    }

    if (report.server === 'sandbox') {
      assert.deepEqual(
        report.roundTrips.map((r) => r.tool),
        ['delta commit (transaction auto)', 'delta commit --transaction never', 'migrate-mongo up'],
      );
      // Each tool's own insert is counted once per change, whatever else it sends.
      for (const r of report.roundTrips) assert.ok((r.perChange.insert ?? 0) >= 1, r.tool);
    }

    assert.equal(report.goals.length, 17);
    // Tiny mode measures the race (3 × 10) and its floor, --help and, on the sandbox, the round trips; the other goals are about 1,000 or 10,000 changes.
    const unmeasured = report.goals.filter((g) => g.measured === null).map((g) => g.text);
    assert.equal(unmeasured.length, report.server === 'sandbox' ? 12 : 14, unmeasured.join('; '));
    // A floor is a measured figure with no limit: never PASS or MISS.
    const floors = report.goals.filter((g) => g.limit === '—');
    assert.deepEqual(
      floors.map((g) => g.measured !== null),
      [false, false, false, false, true],
    );
    for (const g of report.goals) assert.equal(g.pass === null, g.measured === null || g.limit === '—', g.text);

    assert.match(result.stdout, /\| scenario \|/);
    assert.match(result.stdout, /\| goal \| limit \| measured \| result \|/);
    assert.equal(existsSync(LATEST) ? statSync(LATEST).mtimeMs : undefined, latestBefore, 'tiny mode must not touch bench/results/latest.json');
  });
});

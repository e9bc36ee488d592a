// Documents per second of a `ctx.batches` backfill with concurrency 1, 2 and 4, through the real
// CLI (`bin/delta.js`, built) against a sandbox in this process, with no added latency and through
// a latency proxy (a server a few milliseconds away, where walking ranges side by side hides the
// round trips). Each run walks a fresh database; the callback `$inc`s its batch in the batch's
// transaction, as a backfill does.
//
//   npm run build && node --import tsx bench/parallel-backfill.ts
//
// Environment: BENCH_DOCS (default 100000), BENCH_BATCH (batchSize, default 500), BENCH_LATENCY_MS
// (comma-separated round trips of the proxy, default "0,5"; 0 = direct), BENCH_REPS (default 1).
// Reports the walk's own rate (the last progress line: from the walk's start, after the split) and
// the whole process's (documents ÷ wall time of `delta commit`, start-up and split included).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../src/sandbox/index.js';
import { startLatencyProxy, hostAndPort } from './latency-proxy.js';
import { timeNode } from './process-timer.js';

const BIN = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
const DOCS = Number(process.env.BENCH_DOCS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const LATENCIES = (process.env.BENCH_LATENCY_MS ?? '0,5').split(',').map(Number);
const REPS = Number(process.env.BENCH_REPS ?? 1);
const CONCURRENCY = [1, 2, 4];

const change = (concurrency: number) => `export default {
  batches: true,
  async commit({ db, batches }) {
    await batches('items', { batchSize: ${BATCH}, concurrency: ${concurrency} }, async (docs, { session }) => {
      await db.collection('items').updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $inc: { touched: 1 } }, { session });
    });
  },
};
`;

const sandbox = await startSandbox({ port: 0 });
const client = await new MongoClient(sandbox.uri).connect();
const rows: string[] = [];
try {
  console.log(
    `load before: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; ${DOCS} documents, batchSize ${BATCH}`,
  );
  for (const latency of LATENCIES) {
    const { host, port } = hostAndPort(sandbox.uri);
    const proxy = latency > 0 ? await startLatencyProxy(host, port, latency) : undefined;
    try {
      for (let rep = 0; rep < REPS; rep += 1) {
        for (const concurrency of CONCURRENCY) {
          const db = `bench_ranges_${latency}_${concurrency}_${rep}`;
          const items = client.db(db).collection('items');
          for (let start = 0; start < DOCS; start += 50_000) {
            const end = Math.min(DOCS, start + 50_000);
            await items.insertMany(Array.from({ length: end - start }, (_, i) => ({ _id: (start + i) as never, n: start + i, note: 'x'.repeat(40) })));
          }
          const uri = proxy === undefined ? `${sandbox.uri.replace(/\/\?/, `/${db}?`)}` : `mongodb://127.0.0.1:${proxy.port}/${db}?directConnection=true`;
          const dir = mkdtempSync(join(tmpdir(), 'delta-bench-ranges-'));
          mkdirSync(join(dir, 'migrations'));
          writeFileSync(join(dir, 'migrations', '001_backfill.mjs'), change(concurrency));
          try {
            const run = await timeNode([BIN, 'commit', '--path', './migrations'], { cwd: dir, env: { ...process.env, NO_COLOR: '1', DELTA_URI: uri } });
            const walkRate = /(\d+) docs\/s, done/.exec(run.stdout)?.[1];
            const touched = await items.countDocuments({ touched: 1 });
            if (touched !== DOCS) throw new Error(`concurrency ${concurrency}: ${touched} of ${DOCS} documents touched once`);
            const row = `latency ${String(latency).padStart(2)} ms  concurrency ${concurrency}  walk ${String(walkRate).padStart(6)} docs/s  process ${String(Math.round((DOCS * 1000) / run.ms)).padStart(6)} docs/s  (${(run.ms / 1000).toFixed(1)} s)`;
            console.log(row);
            rows.push(row);
          } finally {
            rmSync(dir, { recursive: true, force: true });
            await client.db(db).dropDatabase();
          }
        }
      }
    } finally {
      await proxy?.close();
    }
  }
  console.log(
    `load after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
} finally {
  await client.close();
  await sandbox.stop();
}

// The `scale` scenarios of bench/sandbox-ops.ts (issue 23): on 200,000 documents of ~100 bytes,
// updateMany with $in of 2,000 _ids, an _id range page with sort and limit, a secondary-index
// equality, hello latency from a second client during a full-collection updateMany scan, resident
// memory per 100,000 documents, and a ctx.batches-style walk (a transaction per batch of 1,000:
// read after the checkpoint, update the batch, write the checkpoint) over 1,000,000 documents.
// A benchmark measures and prints; nothing here asserts a time.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { MongoClient } from 'mongodb';
import type { Collection } from 'mongodb';

const SCALE_DOCS = Number(process.env.SCALE_DOCS ?? 200_000);
const WALK_DOCS = Number(process.env.WALK_DOCS ?? 1_000_000);

interface Row {
  _id: number;
  n: number;
  email: string;
  group: number;
  payload: string;
  done?: boolean;
}

function rssMb(child: ChildProcess): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function line(label: string, value: string): void {
  process.stdout.write(`  ${label.padEnd(62)} ${value}\n`);
}

async function load(c: Collection<Row>, count: number): Promise<void> {
  for (let i = 0; i < count; i += 10_000) {
    const batch: Row[] = [];
    for (let j = i; j < Math.min(count, i + 10_000); j++) batch.push({ _id: j, n: j, email: `user${j}@example.com`, group: j % 100, payload: 'x'.repeat(40) });
    await c.insertMany(batch, { ordered: false });
  }
}

/** One untimed run (JIT warm-up), then `runs` timed ones. */
async function timed<T>(op: () => Promise<T>, runs = 7): Promise<{ min: number; max: number; median: number }> {
  await op();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await op();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { min: times[0] ?? 0, max: times[times.length - 1] ?? 0, median: times[Math.floor(times.length / 2)] ?? 0 };
}

function ms(t: { min: number; max: number; median: number }): string {
  return `${t.median.toFixed(1)} ms (min ${t.min.toFixed(1)}, max ${t.max.toFixed(1)})`;
}

/** Round trips of `ping` from a second client while `work` runs: the slowest answer. */
async function latencyDuring(uri: string, work: () => Promise<unknown>): Promise<{ max: number; count: number; workMs: number }> {
  const probe = await new MongoClient(uri).connect();
  try {
    await probe.db('admin').command({ ping: 1 });
    let running = true;
    let max = 0;
    let count = 0;
    const pinger = (async () => {
      while (running) {
        const started = performance.now();
        await probe.db('admin').command({ hello: 1 });
        max = Math.max(max, performance.now() - started);
        count++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    const started = performance.now();
    await work();
    const workMs = performance.now() - started;
    running = false;
    await pinger;
    return { max, count, workMs };
  } finally {
    await probe.close();
  }
}

export async function runScale(startChild: () => Promise<{ uri: string; child: ChildProcess }>): Promise<void> {
  const { uri, child } = await startChild();
  const client = await new MongoClient(uri).connect();
  try {
    process.stdout.write(`sandbox in a child process, ${SCALE_DOCS.toLocaleString('en-US')} documents of ~100 bytes (load average ${os.loadavg()[0]?.toFixed(1)}):\n`);
    const base = rssMb(child);
    const c = client.db('scale').collection<Row>('rows');
    let started = performance.now();
    await load(c, SCALE_DOCS);
    line('load with insertMany (10,000 per call)', `${((performance.now() - started) / 1000).toFixed(2)} s`);
    await c.createIndex({ email: 1 });
    const loadedRss = rssMb(child);
    line('RSS per 100,000 documents after load (email index built)', `${(((loadedRss - base) * 100_000) / SCALE_DOCS).toFixed(0)} MB (RSS ${loadedRss.toFixed(0)} MB, empty ${base.toFixed(0)} MB)`);

    const ids = (offset: number) => Array.from({ length: 2000 }, (_, i) => (offset + i * 97) % SCALE_DOCS);
    let round = 0;
    line('updateMany({ _id: { $in: 2,000 ids } }, { $inc })', ms(await timed(() => c.updateMany({ _id: { $in: ids(round++ * 13) } }, { $inc: { n: 1 } }))));
    line(
      'find({ _id: { $gt } }).sort({ _id: 1 }).limit(2000)',
      ms(
        await timed(() =>
          c
            .find({ _id: { $gt: (round++ * 7919) % SCALE_DOCS } })
            .sort({ _id: 1 })
            .limit(2000)
            .toArray(),
        ),
      ),
    );
    line('find().sort({ _id: 1 }).limit(2000)', ms(await timed(() => c.find().sort({ _id: 1 }).limit(2000).toArray())));
    line('find({ email }) on a secondary index', ms(await timed(() => c.find({ email: `user${(round++ * 7919) % SCALE_DOCS}@example.com` }).toArray(), 50)));
    line('countDocuments({ group: 7 }) (no index: full scan)', ms(await timed(() => c.countDocuments({ group: 7 }), 3)));
    process.stdout.write(`  (one untimed warm-up run each; median of 7 runs, 50 for the equality, 3 for the scan)\n`);

    const scan = await latencyDuring(uri, () => c.updateMany({ payload: { $ne: 'y' } }, { $set: { flag: round++ } }));
    line('hello from a second client during a full-scan updateMany', `max ${scan.max.toFixed(1)} ms over ${scan.count} hellos (updateMany ${scan.workMs.toFixed(0)} ms)`);
    const count = await latencyDuring(uri, () => c.countDocuments({ group: 7 }));
    line('hello from a second client during a full-scan countDocuments', `max ${count.max.toFixed(1)} ms over ${count.count} hellos (count ${count.workMs.toFixed(0)} ms)`);
    await c.updateMany({ group: { $lt: 50 } }, { $set: { payload: 'y'.repeat(40) } });
    const updatedRss = rssMb(child);
    line('RSS per 100,000 documents after the updates', `${(((updatedRss - base) * 100_000) / SCALE_DOCS).toFixed(0)} MB (RSS ${updatedRss.toFixed(0)} MB)`);
    await c.drop();

    if (WALK_DOCS > 0) {
      const w = client.db('scale').collection<Row>('walk');
      started = performance.now();
      await load(w, WALK_DOCS);
      line(`load ${WALK_DOCS.toLocaleString('en-US')} documents`, `${((performance.now() - started) / 1000).toFixed(1)} s, RSS ${rssMb(child).toFixed(0)} MB`);
      const checkpoints = client.db('scale').collection<{ _id: string; lastId: number; done: number }>('checkpoints');
      let lastId: number | undefined;
      let done = 0;
      started = performance.now();
      for (;;) {
        const session = client.startSession();
        let size = 0;
        try {
          await session.withTransaction(async () => {
            const docs = await w.find(lastId === undefined ? {} : { _id: { $gt: lastId } }, { session, sort: { _id: 1 }, limit: 1000 }).toArray();
            size = docs.length;
            if (size === 0) return;
            await w.updateMany({ _id: { $in: docs.map((d) => d._id) } }, { $set: { done: true } }, { session });
            lastId = docs[docs.length - 1]?._id;
            await checkpoints.updateOne({ _id: 'walk' }, { $set: { lastId: lastId ?? 0, done: done + size } }, { session, upsert: true });
          });
        } finally {
          await session.endSession();
        }
        done += size;
        if (size < 1000) break;
      }
      const seconds = (performance.now() - started) / 1000;
      line(`ctx.batches-style walk, batches of 1,000, over ${WALK_DOCS.toLocaleString('en-US')}`, `${Math.round(done / seconds).toLocaleString('en-US')} docs/s (${seconds.toFixed(1)} s)`);
      await w.drop();
    }
  } finally {
    await client.close();
    child.stdin?.end();
    await new Promise((resolve) => child.once('exit', resolve));
  }
}

// Operations per second of the sandbox through the real driver: insertOne round trips, and
// find-one-by-_id in a 100,000-document collection. The sandbox runs once in this process (as the
// test suite uses it) and once in a child process (so the driver's own CPU cost is not counted
// against the server).
//   node --import tsx bench/sandbox-ops.ts        (BENCH_MS=3000 per measurement by default)
//
// `scale` measures the query planner, time slicing and memory at realistic sizes instead (the
// sandbox in a child process, whose resident memory is read from /proc):
//   node --import tsx bench/sandbox-ops.ts scale  (SCALE_DOCS=200000, WALK_DOCS=1000000)
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BSON, MongoClient, ObjectId } from 'mongodb';
import { startSandbox } from '../src/sandbox/index.js';

const DURATION_MS = Number(process.env.BENCH_MS ?? 3000);
const COLLECTION_SIZE = 100_000;

async function measure(label: string, op: (i: number) => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 200; i++) await op(i); // warm-up
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < DURATION_MS) {
    await op(n);
    n++;
  }
  const seconds = (performance.now() - started) / 1000;
  const rate = n / seconds;
  process.stdout.write(`  ${label.padEnd(46)} ${Math.round(rate).toLocaleString('en-US').padStart(8)} ops/s  (${n} ops in ${seconds.toFixed(2)} s)\n`);
  return rate;
}

async function run(uri: string): Promise<void> {
  const client = await new MongoClient(uri).connect();
  try {
    const db = client.db('bench');
    await db.dropDatabase();
    const inserts = db.collection<{ n: number; payload: string }>('inserts');
    await measure('insertOne (driver round trip)', (i) => inserts.insertOne({ n: i, payload: 'x'.repeat(64) }));

    const big = db.collection<{ _id: number; n: number; name: string }>('big');
    const batch: Array<{ _id: number; n: number; name: string }> = [];
    const loadStarted = performance.now();
    for (let i = 0; i < COLLECTION_SIZE; i++) {
      batch.push({ _id: i, n: i, name: `user-${i}` });
      if (batch.length === 10_000) {
        await big.insertMany(batch, { ordered: false });
        batch.length = 0;
      }
    }
    process.stdout.write(`  loaded ${COLLECTION_SIZE.toLocaleString('en-US')} documents with insertMany in ${((performance.now() - loadStarted) / 1000).toFixed(2)} s\n`);
    await measure(`findOne({ _id }) in ${COLLECTION_SIZE.toLocaleString('en-US')} docs`, (i) => big.findOne({ _id: (i * 7919) % COLLECTION_SIZE }));
    await measure(`updateOne({ _id }, $inc) in ${COLLECTION_SIZE.toLocaleString('en-US')} docs`, (i) => big.updateOne({ _id: (i * 7919) % COLLECTION_SIZE }, { $inc: { n: 1 } }));
    const scanStarted = performance.now();
    const matched = await big.countDocuments({ name: 'user-99999' });
    process.stdout.write(`  countDocuments on a non-indexed field (full scan): ${(performance.now() - scanStarted).toFixed(1)} ms, ${matched} match\n`);
  } finally {
    await client.close();
  }
}

export async function startChild(): Promise<{ uri: string; child: ChildProcess }> {
  const entry = fileURLToPath(new URL('../src/sandbox/index.ts', import.meta.url));
  const script = `const { startSandbox } = await import(${JSON.stringify(entry)}); const s = await startSandbox(); process.stdout.write(s.uri + '\\n'); process.stdin.on('end', () => s.stop().then(() => process.exit(0))); process.stdin.resume();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const uri = await new Promise<string>((resolve, reject) => {
    child.stdout?.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`sandbox child exited with ${code}`)));
  });
  return { uri, child };
}

/** The same operations as hand-built OP_MSG round trips: the server's cost without the driver's. */
async function runRaw(uri: string): Promise<void> {
  const url = new URL(uri);
  const socket = connect({ host: url.hostname, port: Number(url.port) });
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  let buffered = Buffer.alloc(0);
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.length >= 4 && buffered.length >= buffered.readInt32LE(0)) {
      buffered = Buffer.alloc(0);
      waiting?.();
    }
  });
  const roundTrip = (command: Record<string, unknown>): Promise<void> => {
    const body = BSON.serialize({ ...command, $db: 'rawbench' });
    const message = Buffer.alloc(21 + body.length);
    message.writeInt32LE(message.length, 0);
    message.writeInt32LE(2013, 12);
    Buffer.from(body).copy(message, 21);
    return new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(message);
    });
  };
  try {
    await measure('insert (one document)', (i) => roundTrip({ insert: 'inserts', documents: [{ _id: new ObjectId(), n: i, payload: 'x'.repeat(64) }] }));
    for (let i = 0; i < COLLECTION_SIZE; i += 10_000) {
      await roundTrip({ insert: 'big', documents: Array.from({ length: 10_000 }, (_, j) => ({ _id: i + j, n: i + j, name: `user-${i + j}` })) });
    }
    await measure(`find { _id } limit 1 in ${COLLECTION_SIZE.toLocaleString('en-US')} docs`, (i) =>
      roundTrip({ find: 'big', filter: { _id: (i * 7919) % COLLECTION_SIZE }, limit: 1, singleBatch: true }),
    );
    await measure(`update { _id } $inc in ${COLLECTION_SIZE.toLocaleString('en-US')} docs`, (i) =>
      roundTrip({ update: 'big', updates: [{ q: { _id: (i * 7919) % COLLECTION_SIZE }, u: { $inc: { n: 1 } } }] }),
    );
  } finally {
    socket.destroy();
  }
}

if (process.argv[2] === 'scale') {
  const { runScale } = await import('./sandbox-scale.js');
  await runScale(startChild);
  process.exit(0);
}

process.stdout.write(`sandbox in this process (client and server share one thread):\n`);
const sandbox = await startSandbox();
try {
  await run(sandbox.uri);
} finally {
  await sandbox.stop();
}

process.stdout.write(`sandbox in a child process, raw OP_MSG round trips (no driver):\n`);
const raw = await startChild();
try {
  await runRaw(raw.uri);
} finally {
  raw.child.stdin?.end();
  await new Promise((resolve) => raw.child.once('exit', resolve));
}

process.stdout.write(`sandbox in a child process:\n`);
const { uri, child } = await startChild();
try {
  await run(uri);
} finally {
  child.stdin?.end();
  await new Promise((resolve) => child.once('exit', resolve));
}

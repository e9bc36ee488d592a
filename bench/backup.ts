// Backup and restore of one large collection through the real CLI (`bin/delta.js`, built) against a
// sandbox: wall time and peak RSS of the delta process for `delta backup` and `delta restore --drop`.
//
//   npm run build && node --import tsx bench/backup.ts          (BACKUP_DOCS=1000000 by default)
//
// The sandbox runs in this process, so its memory is not in the figures: they are delta's own.
// The sandbox is single-threaded: building the unique index over a million documents blocks it for
// longer than the driver's default 10 s monitor timeout, so delta runs here with connectTimeoutMs 120 s.
// Documents are about 200 bytes of BSON each; the collection has a unique index besides _id.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../src/sandbox/index.js';
import { timeNode } from './process-timer.js';

const BIN = fileURLToPath(new URL('../bin/delta.js', import.meta.url));
const DOCS = Number(process.env.BACKUP_DOCS ?? 1_000_000);
const DB = 'bench_backup';
const BATCH = 10_000;

function documentAt(i: number) {
  return {
    _id: i,
    email: `user${String(i).padStart(8, '0')}@example.com`,
    name: `User number ${i}`,
    age: 18 + (i % 60),
    score: i / 7,
    active: i % 3 !== 0,
    createdAt: new Date(Date.UTC(2024, 0, 1) + i * 1000),
    tags: ['alpha', 'beta', i % 2 === 0 ? 'even' : 'odd'],
    note: 'x'.repeat(40),
  };
}

const sandbox = await startSandbox();
const client = await new MongoClient(sandbox.uri).connect();
const dir = mkdtempSync(join(tmpdir(), 'delta-bench-backup-'));
try {
  const [base, query] = sandbox.uri.split('?');
  const env = { ...process.env, DELTA_URI: `${base?.replace(/\/$/, '')}/${DB}?${query ?? ''}`, NO_COLOR: '1' };
  writeFileSync(join(dir, 'delta.config.json'), JSON.stringify({ connectTimeoutMs: 120_000 }));
  const items = client.db(DB).collection('items');
  const seeded = performance.now();
  for (let start = 0; start < DOCS; start += BATCH) {
    await items.insertMany(Array.from({ length: Math.min(BATCH, DOCS - start) }, (_, k) => documentAt(start + k)) as never[], { ordered: false });
  }
  const indexed = performance.now();
  await items.createIndex({ email: 1 }, { unique: true });
  const indexMs = Math.round(performance.now() - indexed);
  process.stdout.write(
    `delta backup benchmark: ${DOCS.toLocaleString('en-US')} documents (node ${process.version}); seeded in ${Math.round(indexed - seeded)} ms, unique index built by the sandbox in ${indexMs} ms\n`,
  );

  const backup = await timeNode([BIN, 'backup', '--collections', 'items', '--backup-dir', dir, '--json'], { cwd: dir, env });
  const taken = JSON.parse(backup.stdout) as { id: string; documents: number; bytes: number };
  if (taken.documents !== DOCS) throw new Error(`backup holds ${taken.documents} documents, expected ${DOCS}`);
  const mb = taken.bytes / 1024 / 1024;
  process.stdout.write(
    `  delta backup:           ${Math.round(backup.ms)} ms, ${Math.round(DOCS / (backup.ms / 1000)).toLocaleString('en-US')} docs/s, ` +
      `${mb.toFixed(1)} MB written (${Math.round(taken.bytes / DOCS)} B/doc), peak RSS ${backup.peakRssMb?.toFixed(0) ?? '?'} MB\n`,
  );

  const restore = await timeNode([BIN, 'restore', taken.id, '--drop', '--backup-dir', dir, '--json'], { cwd: dir, env });
  const restored = JSON.parse(restore.stdout) as { documents: number };
  const count = await items.estimatedDocumentCount();
  if (restored.documents !== DOCS || count !== DOCS) throw new Error(`restore gave ${restored.documents} documents (${count} in the collection), expected ${DOCS}`);
  process.stdout.write(
    `  delta restore --drop:   ${Math.round(restore.ms)} ms, ${Math.round(DOCS / (restore.ms / 1000)).toLocaleString('en-US')} docs/s, peak RSS ${restore.peakRssMb?.toFixed(0) ?? '?'} MB\n`,
  );
} finally {
  await client.close();
  await sandbox.stop();
  rmSync(dir, { recursive: true, force: true });
}

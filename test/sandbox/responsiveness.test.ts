// Conformance: a long operation does not starve other connections. While an updateMany scans
// 200,000 documents (its filter is on an unindexed field), a second client's hello and ping are
// answered within 100 ms: the sandbox works in time slices and gives the event loop back between
// them, as mongod yields between documents.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MongoClient } from 'mongodb';
import { useConformanceServer } from './conformance-helpers.js';

const ctx = useConformanceServer();
const DOCUMENTS = 200_000;

/** The slowest hello/ping round trip from `probe` while `work` runs, and how many were sent. */
async function slowestReplyDuring(probe: MongoClient, work: () => Promise<unknown>): Promise<{ slowest: number; replies: number }> {
  let running = true;
  let slowest = 0;
  let replies = 0;
  const admin = probe.db('admin');
  const probing = (async () => {
    while (running) {
      const started = performance.now();
      await admin.command(replies % 2 === 0 ? { hello: 1 } : { ping: 1 });
      slowest = Math.max(slowest, performance.now() - started);
      replies++;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await probing;
  }
  return { slowest, replies };
}

describe('responsiveness during long operations', () => {
  it('answers hello and ping from another client within 100 ms during a 200,000-document updateMany scan', { timeout: 60_000 }, async () => {
    const c = ctx.db('responsive').collection<{ _id: number; g: number; pad: string; touched?: boolean }>('c');
    for (let i = 0; i < DOCUMENTS; i += 20_000) {
      await c.insertMany(
        Array.from({ length: 20_000 }, (_, k) => ({ _id: i + k, g: (i + k) % 1000, pad: 'x'.repeat(60) })),
        { ordered: false },
      );
    }
    const probe = await ctx.connect();
    await probe.db('admin').command({ ping: 1 });
    let matched = 0;
    const { slowest, replies } = await slowestReplyDuring(probe, async () => {
      matched = (await c.updateMany({ g: 7 }, { $set: { touched: true } })).matchedCount;
    });
    assert.equal(matched, DOCUMENTS / 1000);
    assert.ok(replies >= 3, `the probe got ${replies} replies while the scan ran`);
    assert.ok(slowest < 100, `slowest hello/ping took ${slowest.toFixed(1)} ms`);
    assert.equal(await c.countDocuments({ touched: true }), DOCUMENTS / 1000);
  });
});

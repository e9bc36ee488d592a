import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LockHeldError } from '../../src/errors.js';
import { waitForLock } from '../../src/lock/wait-for-lock.js';
import type { LockHolder } from '../../src/vocabulary/index.js';

const holder = (owner: string): LockHolder => ({ owner, host: 'h', pid: 1, command: 'commit', acquiredAt: new Date(0), expiresAt: new Date(60_000) });

/** A lock held by the owners listed, one per failed attempt (the last one stays), free from attempt `freeAt`. */
function scriptedLock(owners: readonly string[], freeAt = Number.POSITIVE_INFINITY) {
  let attempts = 0;
  return {
    get attempts() {
      return attempts;
    },
    tryAcquire: () => ++attempts >= freeAt,
    holder: () => holder(owners[Math.min(attempts, owners.length) - 1] ?? 'nobody'),
  };
}

describe('waiting for a held lock', () => {
  it('asks whether the wait is still needed only when the lock changes hands, and stops without the lock when it is not', async () => {
    const lock = scriptedLock(['a', 'a', 'a', 'b']);
    const asked: number[] = [];
    const taken = await waitForLock({
      scope: 'db',
      waitMs: 10_000,
      tryAcquire: lock.tryAcquire,
      holder: lock.holder,
      stopWaiting: () => {
        asked.push(lock.attempts);
        return Promise.resolve(true);
      },
    });
    assert.equal(taken, false);
    // Owner a for three attempts: no question; at the fourth, b holds it (a's run ended).
    assert.deepEqual(asked, [4]);
  });

  it('keeps waiting, and takes the lock, while the answer is that the wait is still needed', async () => {
    const lock = scriptedLock(['a', 'b', 'c'], 4);
    let asked = 0;
    const taken = await waitForLock({
      scope: 'db',
      waitMs: 10_000,
      tryAcquire: lock.tryAcquire,
      holder: lock.holder,
      stopWaiting: () => Promise.resolve(++asked < 0),
    });
    assert.equal(taken, true);
    assert.equal(asked, 2, 'asked when b, then c, took over from the holder before');
  });

  it('still gives up naming the holder when the wait is over', async () => {
    const lock = scriptedLock(['a']);
    await assert.rejects(
      waitForLock({ scope: 'db', waitMs: 200, tryAcquire: lock.tryAcquire, holder: lock.holder, stopWaiting: () => Promise.resolve(true) }),
      (error: unknown) => error instanceof LockHeldError && /held by h pid 1 \(commit\)/.test(error.message),
    );
  });
});

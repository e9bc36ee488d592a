import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { LockLostError } from '../../src/errors.js';
import { HeartbeatLease } from '../../src/lock/heartbeat-lease.js';
import type { LockHolder } from '../../src/vocabulary/index.js';

/** A lease over a store whose renewals follow a script: 'ok', 'fail' (throws) or 'hang' (never answers). */
class ScriptedLease extends HeartbeatLease {
  readonly renewals: string[] = [];
  readonly #script: readonly ('ok' | 'fail' | 'hang')[];
  lost: string | undefined;

  constructor(script: readonly ('ok' | 'fail' | 'hang')[], leaseMs: number) {
    super({ scope: 'lease-test', leaseMs, waitMs: 0, command: 'commit', onLost: (reason) => (this.lost = reason) });
    this.#script = script;
  }

  protected tryAcquire(): boolean {
    return true;
  }
  protected currentHolder(): LockHolder | undefined {
    return undefined;
  }
  protected async renew(): Promise<boolean> {
    const step = this.#script[this.renewals.length] ?? 'ok';
    this.renewals.push(step);
    if (step === 'fail') throw new Error('WriteConflict (transient)');
    if (step === 'hang') await new Promise(() => undefined);
    return true;
  }
  protected removeOwn(): void {}
}

describe('the heartbeat of a lease', () => {
  it('survives one failed renewal: the lease still runs past the next beat', async () => {
    const lease = new ScriptedLease(['fail', 'ok', 'ok'], 900);
    await lease.acquire();
    await sleep(1000);
    assert.deepEqual(lease.renewals.slice(0, 3), ['fail', 'ok', 'ok']);
    assert.equal(lease.lost, undefined);
    assert.doesNotThrow(() => lease.assertHeld());
    await lease.release();
  });

  it('is lost when two renewals in a row fail, before the lease runs out, naming the error', async () => {
    const lease = new ScriptedLease(['fail', 'fail'], 900);
    await lease.acquire();
    await sleep(750);
    assert.match(lease.lost ?? '', /^the heartbeat failed: WriteConflict \(transient\)$/);
    assert.throws(
      () => lease.assertHeld(),
      (error: unknown) => error instanceof LockLostError && /lost the lock on lease-test: the heartbeat failed/.test(error.message),
    );
    await lease.release();
  });

  it('is lost when a renewal hangs for a whole lease: the work stops at its next step', async () => {
    const lease = new ScriptedLease(['hang'], 600);
    await lease.acquire();
    await sleep(300);
    assert.doesNotThrow(() => lease.assertHeld());
    await sleep(400);
    assert.throws(() => lease.assertHeld(), /no heartbeat renewed the lease in time/);
    assert.equal(lease.lost, 'no heartbeat renewed the lease in time');
  });
});

import { setTimeout as sleep } from 'node:timers/promises';
import { InterruptedError, LockHeldError } from '../errors.js';
import type { LockHolder } from '../vocabulary/index.js';

export interface LockAttempt {
  readonly scope: string;
  readonly waitMs: number;
  /** One attempt to take the lock: whether it is ours now. */
  tryAcquire(): Promise<boolean> | boolean;
  /** Who holds it, to name them when the wait is over. */
  holder(): Promise<LockHolder | undefined> | LockHolder | undefined;
  /**
   * Asked after a failed attempt whenever the lock has changed hands since the last one (a run
   * ended): true when the wait is no longer needed (what the caller waited to do is done).
   */
  readonly stopWaiting?: (() => Promise<boolean>) | undefined;
}

/**
 * Tries to take a lock until `waitMs` has passed, with jittered back-off capped at a quarter
 * second; throws `LockHeldError` naming the holder after, `InterruptedError` on `signal`.
 * Returns true once the lock is taken, false when `stopWaiting` said the wait was no longer
 * needed. Shared by the MongoDB and SQLite leases, so both wait and report alike.
 */
export async function waitForLock(attempt: LockAttempt, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + attempt.waitMs;
  let delay = 50;
  // The owner seen at the last failed attempt: when it changes, a run ended (see stopWaiting).
  let lastOwner: string | undefined;
  let seen = false;
  for (;;) {
    if (signal?.aborted === true) throw new InterruptedError('interrupted while waiting for the lock');
    if (await attempt.tryAcquire()) return true;
    if (attempt.stopWaiting !== undefined) {
      // Racing runners that all found the same work: the first applies it, and each of the others
      // learns it is done from one read after that run ends, instead of queueing to take the lock
      // in turn only to find nothing left (8 racers: each waited for every earlier one's turn).
      const owner = (await attempt.holder())?.owner;
      if (seen && owner !== lastOwner && (await attempt.stopWaiting())) return false;
      lastOwner = owner;
      seen = true;
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      const holder = await attempt.holder();
      throw new LockHeldError(heldMessage(attempt.scope, holder, attempt.waitMs), holder);
    }
    // Full jitter keeps racing runners from retrying in lock-step.
    const pause = Math.min(remaining, Math.round(delay / 2 + Math.random() * delay));
    try {
      await sleep(pause, undefined, { signal });
    } catch {
      throw new InterruptedError('interrupted while waiting for the lock');
    }
    // A short cap: a waiter notices a released lock within a quarter second.
    delay = Math.min(delay * 2, 250);
  }
}

function heldMessage(scope: string, holder: LockHolder | undefined, waitMs: number): string {
  const waited = waitMs === 0 ? 'not waiting (--lock-wait 0)' : `waited ${formatSeconds(waitMs)}`;
  if (holder === undefined) return `lock ${scope} is held by another runner; ${waited}`;
  return (
    `lock ${scope} is held by ${holder.host} pid ${holder.pid} (${holder.command}) since ${holder.acquiredAt.toISOString()}, ` +
    `lease until ${holder.expiresAt.toISOString()}; ${waited}. If that run is dead, the lock frees itself at expiry, or run delta unlock`
  );
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

// Cooperative time slicing: the sandbox answers every connection on one thread, so a long
// operation (a scan of 200,000 documents, an updateMany) gives the event loop back every few
// milliseconds; other connections' commands (the driver's hello and ping monitors included) are
// answered in between instead of timing out.
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Work between two yields to the event loop. */
export const SLICE_MS = 10;

/** Yielded by a sliced document source when its slice ran out: await `resume()` and read on. */
export const PAUSE: unique symbol = Symbol('pause');
export type Pause = typeof PAUSE;

export class TimeSlice {
  #started = performance.now();
  #ticks = 0;

  /** Cheap to call per item: looks at the clock every 64 calls. */
  expired(): boolean {
    if ((++this.#ticks & 63) !== 0) return false;
    return performance.now() - this.#started >= SLICE_MS;
  }

  /** Starts a new slice (after the event loop had its turn). */
  restart(): void {
    this.#started = performance.now();
    this.#ticks = 0;
  }

  /** Lets the event loop run pending I/O, then starts a new slice. */
  async resume(): Promise<void> {
    await nextTurn();
    this.restart();
  }
}

/** Gives the event loop its turn (for readers of a source that yielded PAUSE). */
export function yieldToEventLoop(): Promise<void> {
  return nextTurn();
}

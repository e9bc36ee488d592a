// Fault injection for tests: drop the connection instead of answering (before or after executing),
// delay replies, or answer a chosen error — counted over the commands the server receives.
import type { Document } from 'bson';
import { codeNameOf } from './errors.js';

export interface FaultMatchOptions {
  /**
   * Only commands with this name count. Handshake and monitoring `hello`/`isMaster` commands are
   * never counted unless this is `'hello'` (which then matches every hello spelling).
   */
  readonly command?: string;
}

export interface FailCommandOptions extends FaultMatchOptions {
  readonly code: number;
  readonly codeName?: string;
  readonly errmsg?: string;
  readonly errorLabels?: readonly string[];
}

export interface DelayOptions extends FaultMatchOptions {
  /** How many matching replies to delay (default: every one until clear()). */
  readonly times?: number;
}

/** The programmatic fault controls exposed as `sandbox.faults`. */
export interface SandboxFaults {
  /** Closes the connection that receives the n-th matching command from now, without executing it. */
  closeAfter(n: number, options?: FaultMatchOptions): void;
  /** Executes the n-th matching command from now, then closes its connection instead of replying. */
  closeAfterReply(n: number, options?: FaultMatchOptions): void;
  /** Delays the replies of matching commands by `ms`. */
  delay(ms: number, options?: DelayOptions): void;
  /** Answers the n-th matching command from now with this error instead of executing it. */
  failCommand(n: number, options: FailCommandOptions): void;
  /**
   * Reports a secondary `ms` behind the primary in replSetGetStatus (0: no secondary, as before),
   * for tests of what throttles on replication lag. Nothing is replicated either way.
   */
  replicationLag(ms: number): void;
  /** Removes every pending fault (the simulated replication lag included). */
  clear(): void;
}

export type FaultDecision =
  { readonly action: 'close' } | { readonly action: 'fail'; readonly reply: Document } | { readonly action: 'run'; readonly closeAfterReply: boolean; readonly delayMs: number };

type CountedFault =
  | { readonly kind: 'close'; remaining: number; readonly command: string | undefined }
  | { readonly kind: 'closeAfterReply'; remaining: number; readonly command: string | undefined }
  | { readonly kind: 'fail'; remaining: number; readonly command: string | undefined; readonly reply: Document };

interface DelayFault {
  readonly ms: number;
  readonly command: string | undefined;
  remaining: number;
}

function positiveInteger(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${what} must be a positive integer, got ${n}`);
  return n;
}

export class FaultInjector implements SandboxFaults {
  #counted: CountedFault[] = [];
  #delays: DelayFault[] = [];
  /** Read by replSetGetStatus. */
  replicationLagMs = 0;

  replicationLag(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`replicationLag(ms) must be >= 0, got ${ms}`);
    this.replicationLagMs = ms;
  }

  closeAfter(n: number, options: FaultMatchOptions = {}): void {
    this.#counted.push({ kind: 'close', remaining: positiveInteger(n, 'closeAfter(n)'), command: options.command });
  }

  closeAfterReply(n: number, options: FaultMatchOptions = {}): void {
    this.#counted.push({ kind: 'closeAfterReply', remaining: positiveInteger(n, 'closeAfterReply(n)'), command: options.command });
  }

  delay(ms: number, options: DelayOptions = {}): void {
    if (!(ms >= 0)) throw new RangeError(`delay(ms) must be >= 0, got ${ms}`);
    this.#delays.push({ ms, command: options.command, remaining: options.times ?? Number.POSITIVE_INFINITY });
  }

  failCommand(n: number, options: FailCommandOptions): void {
    const reply: Document = {
      ok: 0,
      errmsg: options.errmsg ?? `Failing command via the delta sandbox fault injector`,
      code: options.code,
      codeName: options.codeName ?? codeNameOf(options.code),
    };
    if (options.errorLabels !== undefined && options.errorLabels.length > 0) reply.errorLabels = [...options.errorLabels];
    this.#counted.push({ kind: 'fail', remaining: positiveInteger(n, 'failCommand(n)'), command: options.command, reply });
  }

  clear(): void {
    this.#counted = [];
    this.#delays = [];
    this.replicationLagMs = 0;
  }

  /** Counts a received command against every pending fault and says what to do with it. */
  decide(name: string, isHello: boolean): FaultDecision {
    const matches = (command: string | undefined): boolean => {
      if (command === undefined) return !isHello;
      if (command === 'hello' && isHello) return true;
      return command === name;
    };
    let close = false;
    let closeAfterReply = false;
    let failReply: Document | undefined;
    for (const fault of this.#counted) {
      if (!matches(fault.command)) continue;
      fault.remaining -= 1;
      if (fault.remaining !== 0) continue;
      if (fault.kind === 'close') close = true;
      else if (fault.kind === 'closeAfterReply') closeAfterReply = true;
      else failReply ??= fault.reply;
    }
    this.#counted = this.#counted.filter((fault) => fault.remaining > 0);
    let delayMs = 0;
    for (const delay of this.#delays) {
      if (!matches(delay.command) || delay.remaining <= 0) continue;
      delay.remaining -= 1;
      delayMs += delay.ms;
    }
    this.#delays = this.#delays.filter((delay) => delay.remaining > 0);
    if (close) return { action: 'close' };
    if (failReply !== undefined) return { action: 'fail', reply: { ...failReply } };
    return { action: 'run', closeAfterReply, delayMs };
  }
}

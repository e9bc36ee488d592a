import { performance } from 'node:perf_hooks';
import type { DeltaError } from '../errors.js';
import { redact } from '../config/redact.js';
import { DatabaseError, FleetFailedError, InterruptedError, isDeltaError, messageOf } from '../errors.js';
import type { BetweenWavesHook, Direction, RunOutcome, RunResult } from '../vocabulary/index.js';
import type { FleetMember } from './target-spec.js';

/** How a fleet run went on one target. */
export interface FleetTargetResult {
  /** The target database. */
  readonly target: string;
  /** Its deployment: the host list of its connection string (no credentials). */
  readonly deployment: string;
  /**
   * The target's run outcome; `error` when it stopped before running anything (lock held, drift,
   * database unreachable...); `not-run` when `--fail-fast` or Ctrl-C stopped the fleet first.
   */
  readonly outcome: RunOutcome | 'error' | 'not-run';
  /** Changes applied (commit) or reverted (rollback) on it in this run. */
  readonly done: number;
  readonly failed: number;
  /** Planned changes left for a later run; undefined when the target stopped before planning. */
  readonly pending: number | undefined;
  readonly durationMs: number;
  readonly error: DeltaError | undefined;
  /** The target's own run result (undefined for `error` and `not-run`). */
  readonly result: RunResult | undefined;
  /** Its wave, 1-based, when the fleet runs in waves. */
  readonly wave: number | undefined;
}

/** The result of `commit`/`rollback` over a fleet. */
export interface FleetRunResult {
  readonly command: Direction;
  readonly targets: readonly FleetTargetResult[];
  readonly outcome: 'success' | 'nothing-to-do' | 'failed' | 'interrupted';
  readonly durationMs: number;
  /** FleetFailedError naming the failed targets, or InterruptedError; its code gives the exit code. */
  readonly error: DeltaError | undefined;
  /** With waves: how many there are, how many ran to their end, and why the fleet halted before the next (undefined: it did not). */
  readonly waves: { readonly total: number; readonly done: number; readonly halted: string | undefined } | undefined;
}

/** Waves (`--waves`): the number of targets of each, in the targets' order, and what lets the next one start. */
export interface FleetWaves {
  readonly counts: readonly number[];
  /** The share of a wave's targets that may fail with the next wave still started. */
  readonly maxFailureRate: number;
  readonly betweenWaves: BetweenWavesHook | undefined;
}

export interface RunFleetOptions {
  readonly command: Direction;
  /** Targets run at once on each deployment. */
  readonly concurrency: number;
  /** Targets run at once over the whole fleet; undefined: no cap beyond `concurrency` per deployment. */
  readonly totalConcurrency?: number | undefined;
  /** Start no new target once one failed (those running finish). */
  readonly failFast: boolean;
  /** Ctrl-C: start no new target; those running stop as a single run would. */
  readonly interrupt?: AbortSignal | undefined;
  /** Told when a target starts and when it is done (for events). */
  readonly onStart?: (target: FleetMember) => void;
  readonly onEnd?: (result: FleetTargetResult) => void;
  /** Run in waves; undefined: every target in one. */
  readonly waves?: FleetWaves | undefined;
}

/**
 * Runs `run` for every target, at most `concurrency` at once on each deployment and
 * `totalConcurrency` over all of them; within a wave, targets start in their order as slots
 * free up. A target that fails does not stop the others unless `failFast`; every target ends
 * with a row in the result, in the targets' order.
 */
export async function runFleet(targets: readonly FleetMember[], options: RunFleetOptions, run: (target: FleetMember) => Promise<RunResult>): Promise<FleetRunResult> {
  const started = performance.now();
  const results = new Map<FleetMember, FleetTargetResult>();
  const waves = splitIntoWaves(targets, options.waves?.counts ?? [targets.length]);
  const waveOf = options.waves === undefined ? new Map<FleetMember, number>() : waveNumbers(waves);
  let stop = false;
  let halted: string | undefined;
  let wavesDone = 0;
  const limits = { perDeployment: options.concurrency, total: options.totalConcurrency };
  const runWave = (wave: readonly FleetMember[]) =>
    forEachTarget(wave, limits, {
      stopped: () => stop || options.interrupt?.aborted === true,
      work: async (target) => {
        options.onStart?.(target);
        const result = { ...(await runOne(target, run)), wave: waveOf.get(target) };
        results.set(target, result);
        options.onEnd?.(result);
        if (options.failFast && isFailure(result)) stop = true;
      },
    });

  for (const [index, wave] of waves.entries()) {
    await runWave(wave);
    if (stop || options.interrupt?.aborted === true) break;
    wavesDone = index + 1;
    const following = waves[index + 1];
    if (options.waves === undefined || following === undefined) break;
    halted = await haltBeforeNextWave(options.command, options.waves, index, wave, results, following);
    if (halted !== undefined) break;
  }

  const rows = targets.map((target) => results.get(target) ?? notRun(target, waveOf.get(target)));
  const multiple = new Set(targets.map((t) => t.deployment)).size > 1;
  const named = (r: FleetTargetResult) => (multiple ? `${r.target} on ${r.deployment}` : r.target);
  const failed = rows.filter(isFailure);
  const interrupted = options.interrupt?.aborted === true || rows.some((r) => r.outcome === 'interrupted');
  const skipped = rows.filter((r) => r.outcome === 'not-run').length;
  let error: DeltaError | undefined;
  let outcome: FleetRunResult['outcome'];
  if (interrupted) {
    outcome = 'interrupted';
    error = new InterruptedError(`interrupted: ${skipped} of ${rows.length} targets not started`);
  } else if (failed.length > 0 || halted !== undefined) {
    outcome = 'failed';
    const failures = failed.length === 0 ? [] : [`${failed.length} of ${rows.length} targets failed: ${failed.map((r) => `${named(r)} (${r.error?.message ?? r.outcome})`).join('; ')}`];
    const stopped =
      halted !== undefined ? [`halted after ${halted}; ${skipped} targets not started (run the same command again to go on)`] : skipped > 0 ? [`--fail-fast left ${skipped} not started`] : [];
    error = new FleetFailedError([...failures, ...stopped].join('; '), failed.map(named));
  } else {
    outcome = rows.every((r) => r.outcome === 'nothing-to-do') ? 'nothing-to-do' : 'success';
  }
  const summary = options.waves === undefined ? undefined : { total: waves.length, done: wavesDone, halted };
  return { command: options.command, targets: rows, outcome, durationMs: Math.round(performance.now() - started), error, waves: summary };
}

/** Why the fleet stops before the wave after `index` (too many failures, or betweenWaves threw); undefined: go on. */
async function haltBeforeNextWave(
  command: Direction,
  waves: FleetWaves,
  index: number,
  wave: readonly FleetMember[],
  results: ReadonlyMap<FleetMember, FleetTargetResult>,
  next: readonly FleetMember[],
): Promise<string | undefined> {
  const finished = wave.flatMap((target) => results.get(target) ?? []);
  const failures = finished.filter(isFailure).length;
  const rate = wave.length === 0 ? 0 : failures / wave.length;
  const which = `wave ${index + 1} of ${waves.counts.length}`;
  const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;
  if (rate > waves.maxFailureRate) return `${which}: ${failures} of ${wave.length} targets failed (${percent(rate)}, above the allowed ${percent(waves.maxFailureRate)})`;
  if (waves.betweenWaves === undefined) return undefined;
  try {
    await waves.betweenWaves({
      command,
      wave: index + 1,
      waves: waves.counts.length,
      finished: finished.map((r) => ({ target: r.target, deployment: r.deployment, outcome: r.outcome, done: r.done, failed: r.failed })),
      next: next.map((t) => t.db),
      nextTargets: next.map((t) => ({ target: t.db, deployment: t.deployment })),
    });
    return undefined;
  } catch (error) {
    return `${which}: the betweenWaves hook failed: ${redact(messageOf(error))}`;
  }
}

/** The targets of each wave, in order: `counts` targets at a time, cut from `targets`. */
export function splitIntoWaves<T>(targets: readonly T[], counts: readonly number[]): T[][] {
  const waves: T[][] = [];
  let at = 0;
  for (const count of counts) {
    waves.push(targets.slice(at, at + count));
    at += count;
  }
  return waves;
}

/** Each target's wave, 1-based. */
export function waveNumbers<T>(waves: readonly (readonly T[])[]): Map<T, number> {
  return new Map(waves.flatMap((wave, index) => wave.map((target): [T, number] => [target, index + 1])));
}

async function runOne(member: FleetMember, run: (target: FleetMember) => Promise<RunResult>): Promise<FleetTargetResult> {
  const target = member.db;
  const { deployment } = member;
  const started = performance.now();
  try {
    const result = await run(member);
    const count = (status: 'done' | 'failed' | 'not-run') => result.changes.filter((c) => c.status === status).length;
    return {
      target,
      deployment,
      outcome: result.outcome,
      done: count('done'),
      failed: count('failed'),
      pending: count('not-run'),
      durationMs: result.durationMs,
      error: result.error,
      result,
      wave: undefined,
    };
  } catch (thrown) {
    // One target's bad state (lock held, drift, unreachable) is its row, not the fleet's end.
    const error = isDeltaError(thrown) ? thrown : new DatabaseError(`database error: ${redact(messageOf(thrown))}`, { cause: thrown });
    return { target, deployment, outcome: 'error', done: 0, failed: 0, pending: undefined, durationMs: Math.round(performance.now() - started), error, result: undefined, wave: undefined };
  }
}

function notRun(member: FleetMember, wave: number | undefined): FleetTargetResult {
  return { target: member.db, deployment: member.deployment, outcome: 'not-run', done: 0, failed: 0, pending: undefined, durationMs: 0, error: undefined, result: undefined, wave };
}

function isFailure(result: FleetTargetResult): boolean {
  return result.outcome === 'failed' || result.outcome === 'lock-lost' || result.outcome === 'error';
}

/** How many targets may run at once: on each deployment, and over all of them (undefined: no cap). */
export interface FleetLimits {
  readonly perDeployment: number;
  readonly total: number | undefined;
}

/**
 * `work` for each target, at most `limits.perDeployment` at once on a deployment and
 * `limits.total` over all: as a slot frees up, the first waiting target (in order) whose
 * deployment has room starts. Once `stopped()` says so, none starts; those running finish.
 */
export async function forEachTarget<T extends { readonly deployment: string }>(
  targets: readonly T[],
  limits: FleetLimits,
  loop: { readonly work: (target: T) => Promise<void>; readonly stopped?: () => boolean },
): Promise<void> {
  const queue = [...targets];
  const running = new Map<string, number>();
  const inFlight = new Set<Promise<void>>();
  const perDeployment = Math.max(1, limits.perDeployment);
  const total = limits.total ?? Number.POSITIVE_INFINITY;
  const start = (target: T) => {
    running.set(target.deployment, (running.get(target.deployment) ?? 0) + 1);
    const done: Promise<void> = loop.work(target).finally(() => {
      running.set(target.deployment, (running.get(target.deployment) ?? 1) - 1);
      inFlight.delete(done);
    });
    inFlight.add(done);
  };
  for (;;) {
    for (let at = 0; at < queue.length && inFlight.size < total && loop.stopped?.() !== true;) {
      const target = queue[at] as T;
      if ((running.get(target.deployment) ?? 0) < perDeployment) {
        queue.splice(at, 1);
        start(target);
      } else at += 1;
    }
    if (inFlight.size === 0) return;
    await Promise.race(inFlight);
  }
}

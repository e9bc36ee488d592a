import type { DeltaError } from '../errors.js';
import { isDeltaError, messageOf } from '../errors.js';
import type { ChangeState } from '../runner/plan.js';
import type { StatusResult } from '../runner/results.js';
import type { FleetMember } from './target-spec.js';

/** One target's line in a fleet status. */
export interface FleetStatusTarget {
  /** The target database. */
  readonly target: string;
  /** Its deployment: the host list of its connection string (no credentials). */
  readonly deployment: string;
  /** The newest applied versioned change (run order); undefined when none is applied. */
  readonly newest: string | undefined;
  readonly applied: number;
  /** Pending, out of order, rolled back or changed: what a commit would run. */
  readonly pending: number;
  /** Failed or interrupted changes. */
  readonly failed: number;
  /** Behind the change files: something to apply, or something failed. */
  readonly behind: boolean;
  /** Why its status could not be read (unreachable, bad history...). */
  readonly error: string | undefined;
  /** A live lock on it: a run is going on. */
  readonly locked: boolean;
  /** Its wave, 1-based, when the fleet runs in waves (`--waves`, `fleet.waves`). */
  readonly wave: number | undefined;
}

/** `status --targets`: where every target of the fleet stands. */
export interface FleetStatusResult {
  /** The newest versioned change in the change files (run order). */
  readonly latest: string | undefined;
  readonly targets: readonly FleetStatusTarget[];
  readonly summary: {
    readonly total: number;
    /** Nothing to apply, nothing failed. */
    readonly upToDate: number;
    readonly behind: number;
    /** Targets with a failed or interrupted change, or whose status could not be read. */
    readonly failed: number;
    /** How many targets stand at each newest applied change (`(none)`: nothing applied). */
    readonly atNewest: Readonly<Record<string, number>>;
  };
}

const PENDING: readonly ChangeState[] = ['pending', 'out_of_order', 'rolled_back', 'changed'];
const FAILED: readonly ChangeState[] = ['failed', 'running'];
export const NO_CHANGE_APPLIED = '(none)';

/** A target's status, or the error that kept it from being read. */
export type TargetStatus = { readonly target: FleetMember; readonly status: StatusResult } | { readonly target: FleetMember; readonly error: DeltaError | Error };

/** Summarises per-target statuses (in target order) into the fleet view. */
export function fleetStatus(statuses: readonly TargetStatus[], waves?: ReadonlyMap<FleetMember, number>): FleetStatusResult {
  let latest: string | undefined;
  const targets = statuses.map((entry): FleetStatusTarget => {
    if ('error' in entry) {
      const message = isDeltaError(entry.error) ? entry.error.message : messageOf(entry.error);
      return {
        target: entry.target.db,
        deployment: entry.target.deployment,
        newest: undefined,
        applied: 0,
        pending: 0,
        failed: 0,
        behind: true,
        error: message,
        locked: false,
        wave: waves?.get(entry.target),
      };
    }
    const { changes, summary, lock } = entry.status;
    const versioned = changes.filter((c) => c.repeat === 'once' && c.state !== 'missing');
    latest ??= versioned.at(-1)?.id;
    const count = (states: readonly ChangeState[]) => states.reduce((sum, state) => sum + summary[state], 0);
    const pending = count(PENDING);
    const failed = count(FAILED);
    return {
      target: entry.target.db,
      deployment: entry.target.deployment,
      newest: versioned.filter((c) => c.state === 'applied' || c.state === 'modified').at(-1)?.id,
      applied: summary.applied + summary.up_to_date,
      pending,
      failed,
      behind: pending + failed > 0,
      error: undefined,
      locked: lock !== undefined,
      wave: waves?.get(entry.target),
    };
  });
  const atNewest: Record<string, number> = {};
  for (const t of targets) if (t.error === undefined) atNewest[t.newest ?? NO_CHANGE_APPLIED] = (atNewest[t.newest ?? NO_CHANGE_APPLIED] ?? 0) + 1;
  const failed = targets.filter((t) => t.failed > 0 || t.error !== undefined).length;
  return {
    latest,
    targets,
    summary: {
      total: targets.length,
      upToDate: targets.filter((t) => !t.behind).length,
      behind: targets.filter((t) => t.behind && t.error === undefined && t.failed === 0).length,
      failed,
      atNewest,
    },
  };
}

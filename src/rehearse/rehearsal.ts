import type { Db } from 'mongodb';
import type { DeltaError } from '../errors.js';
import { ValidationError } from '../errors.js';
import type { RunResult } from '../vocabulary/index.js';
import type { PrintDifference } from './compare.js';
import { compare } from './compare.js';
import type { CopiedCollection } from './copy-sample.js';
import { copySample } from './copy-sample.js';
import type { Fingerprint } from './fingerprint.js';
import { fingerprint } from './fingerprint.js';

/** What a rehearsal needs: the target to read, the scratch database, and a way to run changes there. */
export interface RehearsalHost {
  /** The target database: only read. */
  readonly target: Db;
  /** delta's own collections in the target (not copied). */
  readonly targetOwn: readonly string[];
  /** The scratch database: empty when the rehearsal starts. */
  readonly scratch: Db;
  /** delta's own collections in the scratch database (not compared). */
  readonly scratchOwn: readonly string[];
  /** Copies the target's history into the scratch database's, so that the same changes are pending there. */
  copyHistory(): Promise<void>;
  /** The ids `commit` would run on the scratch database, in order. */
  pending(): Promise<readonly string[]>;
  /** Commits exactly the change `id` (the next pending one) on the scratch database. */
  commitOne(id: string): Promise<RunResult>;
  /** Rolls back the change applied last on the scratch database. */
  rollbackLast(): Promise<RunResult>;
}

export interface RehearsalOptions {
  /** Documents copied per collection. */
  readonly sample: number;
}

/** A difference a rehearsal found, and the step that made it. */
export interface RehearsalDifference extends PrintDifference {
  /** `rollback`: after rolling the change back, the database is not what it was before it; `recommit`: committing it again gave another result. */
  readonly step: 'rollback' | 'recommit';
  readonly change: string;
}

export interface RehearsalResult {
  readonly changes: readonly string[];
  readonly copied: readonly CopiedCollection[];
  /** Every difference between the state before the changes and after their rollback (F0, F2), and between the first and second commit (F1, F3). */
  readonly differences: readonly RehearsalDifference[];
  /** The step where a change failed, if one did. */
  readonly failure?: { readonly change: string; readonly step: 'commit' | 'rollback' | 'recommit'; readonly message: string };
  /** Why the rehearsal did not pass: a change failed (its own error), or differences (ValidationError, exit 4). */
  readonly error?: DeltaError;
}

/**
 * Copies the target into the scratch database, then commits the pending changes one at a time
 * (a fingerprint after each: F0 before the first, F1 after the last), rolls them back one at a
 * time, newest first (each must restore the fingerprint from before it; F2 must equal F0), and
 * commits them again (each must give the fingerprint of its first commit, values it generates
 * aside; F3 must equal F1). A difference is named by the first change whose step shows it.
 */
export async function rehearse(host: RehearsalHost, options: RehearsalOptions): Promise<RehearsalResult> {
  const since = new Date();
  const copied = await copySample(host.target, host.scratch, host.targetOwn, options.sample);
  await host.copyHistory();
  const changes = await host.pending();
  if (changes.length === 0) return { changes, copied, differences: [] };
  const print = () => fingerprint(host.scratch, host.scratchOwn, since);
  const differences: RehearsalDifference[] = [];
  const failed = (change: string, step: 'commit' | 'rollback' | 'recommit', result: RunResult): RehearsalResult => {
    const failure = { change, step, message: result.error?.message ?? 'failed' };
    // A rollback that left something behind often makes the next step fail: that difference is the cause.
    if (differences.length > 0) return { changes, copied, differences, failure, error: differencesError(differences, failure) };
    return { changes, copied, differences, failure, ...(result.error === undefined ? {} : { error: result.error }) };
  };

  // Before and after each first commit: after[i] is the state once changes[0..i] are applied.
  const before: Fingerprint = await print();
  const after: Fingerprint[] = [];
  for (const id of changes) {
    const result = await host.commitOne(id);
    if (result.error !== undefined) return failed(id, 'commit', result);
    after.push(await print());
  }

  // A difference is reported once, by the first step that shows it (a residue stays for the rest).
  const seen = new Set<string>();
  const note = (step: 'rollback' | 'recommit', change: string, found: readonly PrintDifference[]) => {
    for (const difference of found) {
      const key = `${step}\t${difference.collection}\t${difference.what}\t${difference.detail}`;
      if (seen.has(key)) continue;
      seen.add(key);
      differences.push({ ...difference, step, change });
    }
  };
  for (let i = changes.length - 1; i >= 0; i -= 1) {
    const id = changes[i] as string;
    const result = await host.rollbackLast();
    if (result.error !== undefined) return failed(id, 'rollback', result);
    note('rollback', id, compare(i === 0 ? before : (after[i - 1] as Fingerprint), await print(), false));
  }
  for (const [i, id] of changes.entries()) {
    const result = await host.commitOne(id);
    if (result.error !== undefined) return failed(id, 'recommit', result);
    note('recommit', id, compare(after[i] as Fingerprint, await print(), true));
  }
  if (differences.length === 0) return { changes, copied, differences };
  return { changes, copied, differences, error: differencesError(differences, undefined) };
}

function differencesError(differences: readonly RehearsalDifference[], failure: { change: string; step: string; message: string } | undefined): ValidationError {
  const first = differences[0] as RehearsalDifference;
  const then = failure === undefined ? '' : `; then the ${failure.step} of ${failure.change} failed: ${failure.message}`;
  return new ValidationError(
    `rehearsal found ${differences.length} difference${differences.length === 1 ? '' : 's'}; first: ${first.step === 'rollback' ? `rolling back ${first.change} did not restore` : `committing ${first.change} again changed`} ${first.collection}: ${first.detail}${then}`,
  );
}

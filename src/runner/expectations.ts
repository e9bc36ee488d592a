import type { ClientSession } from 'mongodb';
import { ChangeFailedError, messageOf } from '../errors.js';
import type { WriteTally } from './write-counter.js';
import type { ChangeExpectations, ChangeFunction, ChangeUnit } from '../vocabulary/index.js';
import { WRITE_COUNT_KINDS } from '../vocabulary/index.js';

/** A change's declared limits that its writes broke, one sentence each: `users: modified 1500 documents, over its limit of 1000 (expect.writes.users.modified.max)`. */
export function brokenExpectations(expect: ChangeExpectations | undefined, tally: WriteTally): string[] {
  const broken: string[] = [];
  for (const [collection, limits] of Object.entries(expect?.writes ?? {})) {
    const counts = tally.writes.get(collection);
    for (const kind of WRITE_COUNT_KINDS) {
      const limit = limits[kind];
      if (limit === undefined) continue;
      const n = counts?.[kind] ?? 0;
      const at = `expect.writes.${collection}.${kind}`;
      if (limit.max !== undefined && n > limit.max) broken.push(`${collection}: ${kind} ${documents(n)}, over its limit of ${limit.max} (${at}.max)`);
      if (limit.min !== undefined && n < limit.min) broken.push(`${collection}: ${kind} ${documents(n)}, under its minimum of ${limit.min} (${at}.min)`);
    }
  }
  return broken;
}

function documents(n: number): string {
  return `${n} document${n === 1 ? '' : 's'}`;
}

/** Counts the writes of one call of a change (in `session`'s transaction, when given). */
export type StartCount = (session: ClientSession | undefined) => () => WriteTally;

/**
 * The change's commit followed by its checks: the writes it made against its `expect`, then its
 * `verify`, both before the runner commits its transaction or writes its record. A broken limit
 * or a throwing `verify` fails the change like an error of its own: its transaction is aborted,
 * or (without one) its rollback compensates. A change that declares neither is returned as is.
 */
export function checkedCommit(change: ChangeUnit, commit: ChangeFunction, startCount: StartCount): ChangeFunction {
  const { expect, verify } = change;
  if (expect === undefined && verify === undefined) return commit;
  return async (context) => {
    const stop = expect === undefined ? undefined : startCount(context.session);
    let tally: WriteTally | undefined;
    try {
      await commit(context);
    } finally {
      tally = stop?.();
    }
    if (tally !== undefined) {
      const broken = brokenExpectations(expect, tally);
      if (broken.length > 0) throw new ChangeFailedError(`expectation not met: ${broken.join('; ')}`, change.id);
    }
    if (verify === undefined) return;
    try {
      await verify(context);
    } catch (error) {
      throw new ChangeFailedError(`verify failed: ${messageOf(error)}`, change.id, { cause: error });
    }
  };
}

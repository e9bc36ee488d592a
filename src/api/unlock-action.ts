import { randomUUID } from 'node:crypto';
import { LockHeldError } from '../errors.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { ConnectedTarget } from './connected-target.js';
import type { UnlockResult } from './delta.js';

/**
 * `delta unlock`: removes the target's lock at once when its lease has expired, and only with
 * `force` while it is fresh (a fresh lease means the run is probably alive). A removal is audited
 * with who held the lock; a lock released or taken over meanwhile is left alone.
 */
export async function unlockTarget(opened: ConnectedTarget, force: boolean): Promise<UnlockResult> {
  const { tracker, targetDb, locks, lockScope: scope } = opened;
  const holder = await locks.holder(scope);
  if (holder === undefined) return { scope, holder, removed: false };
  const removed = await locks.remove(scope, holder.owner, force);
  if (!removed) {
    const still = await locks.holder(scope);
    if (still?.owner === holder.owner) {
      throw new LockHeldError(
        `lock ${scope} is held by ${holder.host} pid ${holder.pid} (${holder.command}) since ${holder.acquiredAt.toISOString()}, lease until ${holder.expiresAt.toISOString()}: ` +
          'its lease is fresh, so that run is probably alive; pass --force to remove it anyway',
        holder,
      );
    }
    // Released or taken over by someone else meanwhile: not ours to remove.
    return { scope, holder: still, removed: false };
  }
  const { host, pid, command, acquiredAt, expiresAt } = holder;
  await tracker.audit(auditEvent({ runId: randomUUID(), targetDb, action: 'unlock', outcome: 'success', details: { scope, forced: force, holder: { host, pid, command, acquiredAt, expiresAt } } }));
  return { scope, holder, removed: true };
}

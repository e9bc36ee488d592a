import type { HistoryEntry } from '../tracker/records.js';
import type { ChangeState } from './plan.js';
import { CHANGE_STATES, joinChanges } from './plan.js';
import type { StatusResult } from './results.js';
import type { ChangeFilter, ChangeRef, LockHolder, StageSpec } from '../vocabulary/index.js';

/** The status document (`delta status --json`): every change's state, a summary and the lock. */
export function statusReport(
  targetDb: string,
  catalog: { readonly changes: readonly ChangeRef[]; readonly stages: readonly StageSpec[] },
  history: readonly HistoryEntry[],
  holder: LockHolder | undefined,
  filter: ChangeFilter = {},
): StatusResult {
  const statuses = joinChanges(catalog.changes, history, catalog.stages, filter);
  const counts = Object.fromEntries(CHANGE_STATES.map((state) => [state, 0])) as Record<ChangeState, number>;
  for (const status of statuses) counts[status.state] += 1;
  const live = holder !== undefined && holder.expiresAt.getTime() > Date.now();
  return {
    targetDb,
    env: filter.env,
    stages: catalog.stages.map((stage) => stage.name),
    changes: statuses.map((s) => ({
      id: s.id,
      state: s.state,
      file: s.file,
      description: s.description,
      stage: s.stage,
      runner: s.runner,
      author: s.change?.metadata.author ?? s.record?.author,
      tags: s.change?.metadata.tags ?? s.record?.tags ?? [],
      environments: s.change?.metadata.environments ?? s.record?.environments ?? [],
      repeat: s.change?.metadata.repeat ?? s.record?.repeat ?? 'once',
      recovery: s.change?.metadata.recovery ?? s.record?.recovery ?? 'manual',
      reason: s.reason,
      appliedAt: s.appliedAt?.toISOString(),
      rolledBackAt: s.rolledBackAt?.toISOString(),
      durationMs: s.durationMs,
      transactional: s.transactional,
      error: s.error,
    })),
    summary: { ...counts, total: statuses.length },
    lock: live ? { host: holder.host, pid: holder.pid, command: holder.command, since: holder.acquiredAt.toISOString(), expiresAt: holder.expiresAt.toISOString() } : undefined,
  };
}

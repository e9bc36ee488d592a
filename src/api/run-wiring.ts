// A connected target wired to a Runner: its lock, its events, and backups (with retention after
// a successful run that took one). Used by single runs and by every target of a fleet.
import type { DeltaEventEmitter } from '../runner/events.js';
import type { PreviewOptions, PreviewResult } from '../runner/preview.js';
import type { CommitOptions } from '../runner/runner.js';
import { Runner } from '../runner/runner.js';
import type { ChangeSource, RunResult } from '../vocabulary/index.js';
import type { BackupHost } from './backup-actions.js';
import type { ConnectedTarget } from './connected-target.js';
import { leaseLock } from './connected-target.js';

/** Loaded on use: runs that never back up pay nothing for the backup code. */
const backupActions = () => import('./backup-actions.js');

/** What backups and restores need of a connected target; other databases are locked under their own name. */
export function backupHost(opened: ConnectedTarget, events: DeltaEventEmitter): BackupHost {
  return {
    config: opened.config,
    targetDb: opened.targetDb,
    db: (name) => opened.target.db(name),
    tracker: opened.tracker,
    ownCollections: opened.ownCollections,
    trackerNamespaces: opened.trackerNamespaces,
    lock: (db, command) => (db === opened.targetDb ? leaseLock(opened, command) : leaseLock({ ...opened, lockScope: db }, command)),
    events,
  };
}

/** The engine over a connected target; `onBackup` is told of every backup the run takes. */
export function runnerFor(opened: ConnectedTarget, events: DeltaEventEmitter, onBackup?: () => void): Runner {
  const { config, target, tracker, targetDb, lockScope } = opened;
  return new Runner({
    client: target.client,
    db: target.db(targetDb),
    deployment: target.deployment,
    tracker,
    lockScope,
    lock: (command, onLost) => leaseLock(opened, command, onLost),
    events,
    transaction: config.transaction,
    autoRollback: config.autoRollback,
    groupTransactions: config.groupTransactions,
    hooks: config.hooks,
    services: config.services,
    ownNamespaces: opened.ownNamespaces,
    backup: async (request) => {
      onBackup?.();
      return (await backupActions()).takeBackupFor(backupHost(opened, events), { ...request, reason: request.changeId === undefined ? 'run' : 'change' });
    },
  });
}

/** `commit --preview`: the Runner's collaborators, for a run that is always aborted. */
export async function previewOn(opened: ConnectedTarget, source: ChangeSource, options: PreviewOptions): Promise<PreviewResult> {
  const { config, target, tracker, targetDb } = opened;
  const { previewCommit } = await import('../runner/preview.js');
  return previewCommit(
    {
      client: target.client,
      db: target.db(targetDb),
      deployment: target.deployment,
      tracker,
      lock: (command, onLost) => leaseLock(opened, command, onLost),
      transaction: config.transaction,
      ownNamespaces: opened.ownNamespaces,
    },
    source,
    options,
  );
}

/** A commit, then retention (`backup.keep`) when it succeeded and took a backup. */
export async function commitThenPrune(opened: ConnectedTarget, events: DeltaEventEmitter, source: ChangeSource, options: CommitOptions): Promise<RunResult> {
  let backedUp = false;
  const result = await runnerFor(opened, events, () => (backedUp = true)).commit(source, options);
  if (result.outcome === 'success' && backedUp) await (await backupActions()).prune(backupHost(opened, events), result.runId);
  return result;
}

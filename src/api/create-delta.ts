import { validationProblems } from '../runner/maintenance.js';
import { joinChanges } from '../runner/plan.js';
import { DeltaEventEmitter } from '../runner/events.js';
import { statusReport } from '../runner/status-report.js';
import { duplicateIdProblems } from '../loader/file-loader.js';
import type { FleetHost } from './fleet-actions.js';
import { changeSourceFor, everyChange } from './change-sources.js';
import type { ConnectedTarget } from './connected-target.js';
import { wrapDatabaseErrors } from './database-errors.js';
import { DeltaResources } from './delta-resources.js';
import { checkCreateDeltaOptions } from './create-delta-options.js';
import type { CreateDeltaOptions, Delta } from './delta.js';
import { unlockTarget } from './unlock-action.js';
import type { ChangeFilter, ChangeSource } from '../vocabulary/index.js';

export type { CreateDeltaOptions, Delta, UnlockResult } from './delta.js';

// Loaded on use: applications that never back up, run fleets or import pay nothing for them, and
// status, validate, history and unlock load no runner (a quarter of the modules, ~20 ms of start-up).
const runWiring = () => import('./run-wiring.js');
const backupActions = () => import('./backup-actions.js');
const fleetActions = () => import('./fleet-actions.js');
const adoption = () => import('../adopt/index.js');
const rehearsal = () => import('./rehearse-action.js');

/**
 * The programmatic API, and the only one the CLI uses: resolves the
 * configuration, loads change files before touching the database, connects,
 * and wires tracker, lock and runner together. Each action lives in its own
 * module; this function only wires them to one instance's resources.
 */
export function createDelta(options: CreateDeltaOptions = {}): Delta {
  checkCreateDeltaOptions(options);
  const events = new DeltaEventEmitter();
  const resources = new DeltaResources(options);
  const sourceOptions = { cwd: resources.cwd, changes: options.changes };
  const config = () => resources.config();
  /** The target, connected, and the runner's wiring, loaded while it connects. */
  const wiredTarget = async () => {
    const [wiring, target] = await Promise.all([runWiring(), resources.target()]);
    return { ...wiring, target };
  };
  /** Read and hashed before connecting; the files' code is imported once history is known. */
  const changeSource = async () => changeSourceFor(sourceOptions, await config());
  const status = async (opened: ConnectedTarget, source: ChangeSource, filter: ChangeFilter) => {
    // Without the lock, status may race a run writing records: one point in time, not a torn read.
    const [history, holder] = await Promise.all([opened.tracker.history({ consistent: true }), opened.locks.holder(opened.lockScope)]);
    return statusReport(opened.targetDb, await source.open(history), history, holder, filter);
  };

  /** What src/api/fleet-actions.ts needs: the fleet's deployments and a connected target per database over their shared connections. */
  const fleetHost = async (): Promise<FleetHost> => {
    resources.assertOpen();
    const { fleetHostOf } = await import('./fleet-host.js');
    return fleetHostOf({ resolved: await config(), resources, events, env: options.env ?? process.env, client: options.client, changeSource, status });
  };

  return {
    commitFleet: async (fleetOptions = {}) => (await fleetActions()).commitFleet(await fleetHost(), fleetOptions),
    rollbackFleet: async (fleetOptions = {}) => (await fleetActions()).rollbackFleet(await fleetHost(), fleetOptions),
    statusFleet: async (fleetOptions = {}) => (await fleetActions()).statusFleet(await fleetHost(), fleetOptions),
    async commit(commitOptions = {}) {
      const source = await changeSource();
      const resolved = await config();
      const withDefaults = { ...commitOptions, env: commitOptions.env ?? resolved.env, backup: commitOptions.backup ?? resolved.backup.default };
      return wrapDatabaseErrors(async () => {
        const { commitThenPrune, target } = await wiredTarget();
        return commitThenPrune(target, events, source, withDefaults);
      });
    },
    async preview(previewOptions = {}) {
      const source = await changeSource();
      const withDefaults = { ...previewOptions, env: previewOptions.env ?? (await config()).env };
      return wrapDatabaseErrors(async () => {
        const { previewOn, target } = await wiredTarget();
        return previewOn(target, source, withDefaults);
      });
    },
    async rehearse(rehearseOptions = {}) {
      const source = await changeSource();
      const withDefaults = { ...rehearseOptions, env: rehearseOptions.env ?? (await config()).env };
      const { rehearseOn } = await rehearsal();
      return wrapDatabaseErrors(async () => rehearseOn(await resources.target(), source, withDefaults));
    },
    async rollback(rollbackOptions = {}) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => {
        const { runnerFor, target } = await wiredTarget();
        return runnerFor(target, events).rollback(source, rollbackOptions);
      });
    },
    async status(filter = {}) {
      const source = await changeSource();
      const env = filter.env ?? (await config()).env;
      return wrapDatabaseErrors(async () => status(await resources.target(), source, { ...filter, env }));
    },
    async validate() {
      // Every file is imported (applied ones too): validate is where a broken file shows.
      const { changes, stages } = await everyChange(sourceOptions, await config());
      return wrapDatabaseErrors(async () => {
        const { tracker, targetDb } = await resources.target();
        const statuses = joinChanges(changes.units, await tracker.history(), stages);
        return { targetDb, problems: validationProblems(statuses, changes.problems, duplicateIdProblems(changes.units)), changes: statuses.length };
      });
    },
    history: (query = {}) => wrapDatabaseErrors(async () => (await resources.target()).tracker.auditLog(query)),
    async repair(repairOptions = {}) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => {
        const { runnerFor, target } = await wiredTarget();
        return runnerFor(target, events).repair(source, repairOptions);
      });
    },
    async baseline(baselineOptions) {
      const source = await changeSource();
      return wrapDatabaseErrors(async () => {
        const { runnerFor, target } = await wiredTarget();
        return runnerFor(target, events).baseline(source, baselineOptions);
      });
    },
    async importMigrateMongo(importOptions = {}) {
      resources.assertOpen();
      const adopt = await adoption();
      return wrapDatabaseErrors(() => adopt.importMigrateMongo(importOptions, resources.adoptionHost()));
    },
    backup: (backupOptions = {}) =>
      wrapDatabaseErrors(async () => {
        const [actions, { backupHost, target }] = await Promise.all([backupActions(), wiredTarget()]);
        return actions.backupNow(backupHost(target, events), backupOptions);
      }),
    async backups() {
      const { listBackups } = await import('../backup/index.js');
      return listBackups((await config()).backup.dir);
    },
    async restore(restoreOptions) {
      const actions = await backupActions();
      const verified = await actions.verifyRestore(await config(), resources.cwd, restoreOptions);
      return wrapDatabaseErrors(async () => {
        const { backupHost, target } = await wiredTarget();
        return actions.restoreNow(backupHost(target, events), verified, restoreOptions);
      });
    },
    unlock: (unlockOptions = {}) => wrapDatabaseErrors(async () => unlockTarget(await resources.target(), unlockOptions.force === true)),
    on: (event, listener) => events.on(event, listener),
    config,
    close: () => resources.close(),
  };
}

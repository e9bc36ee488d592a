import type { MaintenanceAction, MaintenanceResult } from '../../runner/maintenance.js';
import type { Output } from '../io.js';
import { plural } from './run-reporter.js';

function describe(action: MaintenanceAction): string {
  switch (action.kind) {
    case 'update-checksum':
      return `${action.changeId}: re-record checksum ${action.before.slice(0, 12)}… -> ${action.after.slice(0, 12)}…`;
    case 'mark-failed':
      return `${action.changeId}: running -> failed, checked (the next commit runs it again)`;
    case 'mark-reviewed':
      return `${action.changeId}: failed${action.error.during === 'rollback' ? ' in its rollback' : ''} and may have left effects; checked (the next commit runs it again)`;
    case 'remove-interrupted':
      return `${action.changeId}: remove the interrupted (running) record`;
    case 'remove-missing':
      return `${action.changeId}: remove the history of the missing file (was ${action.status})`;
    case 'baseline':
      return `${action.changeId}: mark applied without running it${action.before === undefined ? '' : ` (was ${action.before})`}`;
  }
}

/** Prints what `repair` or `baseline` did, or would do under --dry-run. */
export function renderMaintenance(result: MaintenanceResult, output: Output): void {
  if (output.options.json) {
    output.json(result);
    return;
  }
  const verb = result.dryRun ? 'would make' : 'made';
  if (result.actions.length === 0) output.info(`${result.command}: nothing to change in ${result.targetDb}.`);
  else {
    output.info(`${result.command} ${verb} ${plural(result.actions.length, 'change')} to the history of ${result.targetDb}${result.dryRun ? ' (dry run: no lock taken, nothing written)' : ''}:`);
    for (const action of result.actions) output.info(`  ${describe(action)}`);
  }
  for (const left of result.left) output.warn(`left as is: ${left}`);
}

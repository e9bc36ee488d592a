import { storedMetadata } from '../loader/change-metadata.js';
import { auditEvent } from '../tracker/audit-event.js';
import type { AuditEvent } from '../tracker/records.js';
import type { Tracker } from '../tracker/tracker.js';
import type { MaintenanceAction } from './maintenance.js';

/**
 * Writes one action of `repair` or `baseline` with its audit event (what was before, what is
 * after). `appliedSeq` places a baselined change in the history's application order.
 */
export async function applyMaintenance(tracker: Tracker, command: 'repair' | 'baseline', action: MaintenanceAction, runId: string, appliedSeq: number): Promise<void> {
  const at = new Date();
  const audit = (details: Record<string, unknown>): AuditEvent =>
    auditEvent({ runId, changeId: action.changeId, targetDb: tracker.targetDb, action: command, outcome: 'success', at, details: { kind: action.kind, ...details } });
  switch (action.kind) {
    case 'update-checksum':
      return tracker.amendRecord(action.changeId, { checksum: action.after }, audit({ before: { checksum: action.before }, after: { checksum: action.after } }));
    case 'mark-failed': {
      const error = { message: 'interrupted: a run died during this change without a transaction; marked failed by delta repair', reviewed: true };
      return tracker.amendRecord(action.changeId, { status: 'failed', error }, audit({ before: { status: 'running' }, after: { status: 'failed' } }));
    }
    case 'mark-reviewed':
      return tracker.amendRecord(action.changeId, { error: { ...action.error, reviewed: true } }, audit({ before: { reviewed: false }, after: { reviewed: true } }));
    case 'remove-interrupted':
    case 'remove-missing':
      await tracker.removeRecords([action.changeId]);
      return tracker.audit(audit({ before: { status: action.kind === 'remove-missing' ? action.status : 'running' }, after: null }));
    case 'baseline':
      return tracker.record(
        {
          changeId: action.changeId,
          status: 'applied',
          checksum: action.checksum,
          file: action.file,
          description: action.description,
          stage: action.stage,
          metadata: storedMetadata(action.metadata),
          runId,
          transactional: false,
          at,
          durationMs: 0,
          appliedSeq,
        },
        audit({ before: action.before === undefined ? null : { status: action.before }, after: { status: 'applied', checksum: action.checksum } }),
      );
  }
}

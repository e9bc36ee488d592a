export type { AuditAction, AuditEvent, BatchCheckpoint, ExecutedBy, HistoryEntry, HistoryRecord, RecordStatus } from './records.js';
export { AUDIT_ACTIONS, RECORD_STATUSES } from './records.js';
export type { AuditQuery, RecordChange, RecordWrite, Tracker } from './tracker.js';
export type { MongoTrackerOptions } from './mongo-tracker.js';
export { MongoTracker } from './mongo-tracker.js';
export type { SqliteTrackerOptions } from './sqlite-tracker.js';
export { SqliteTracker } from './sqlite-tracker.js';
export { executedBy } from './executed-by.js';
export type { RecordedError } from '../vocabulary/index.js';

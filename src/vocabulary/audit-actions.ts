/** What an audit event records (DESIGN.md section 3); `delta history --action` takes one of them. */
export const AUDIT_ACTIONS = ['commit', 'rollback', 'baseline', 'repair', 'unlock', 'backup', 'restore'] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

import type { AuditEvent } from './records.js';
import { executedBy } from './executed-by.js';
import { toolVersion } from '../version.js';

/** What an event's author knows; who ran it and with which delta are the same for every event. */
export type AuditFacts = Omit<AuditEvent, 'executedBy' | 'toolVersion' | 'at'> & { readonly at?: Date };

/**
 * The one way an audit event is built: the facts of the action, stamped with the
 * machine and user that ran it and delta's version (`at` defaults to now).
 */
export function auditEvent(facts: AuditFacts): AuditEvent {
  return { ...facts, at: facts.at ?? new Date(), executedBy: executedBy(), toolVersion: toolVersion() };
}

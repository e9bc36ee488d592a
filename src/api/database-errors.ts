import { DatabaseError, DeltaError, messageOf } from '../errors.js';
import { redact } from '../config/redact.js';

/** Driver errors outside a change (history read, lock) become DatabaseErrors, redacted; DeltaErrors pass. */
export async function wrapDatabaseErrors<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DeltaError) throw error;
    throw new DatabaseError(`database error: ${redact(messageOf(error))}`, { cause: error });
  }
}

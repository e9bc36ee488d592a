// mongod's TTL monitor: every ttlMonitorSleepSecs (60 by default) it deletes documents whose
// indexed date (or earliest date of an array) is older than the index's expireAfterSeconds.
import type { Document } from 'bson';
import { valueKey } from './bson-values.js';
import type { Storage } from './storage.js';

function earliestDate(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (!Array.isArray(value)) return undefined;
  let earliest: Date | undefined;
  for (const item of value) {
    if (item instanceof Date && (earliest === undefined || item.getTime() < earliest.getTime())) earliest = item;
  }
  return earliest;
}

/** One pass of the TTL monitor; returns how many documents it deleted. */
export function expireDocuments(storage: Storage, now = Date.now()): number {
  let deleted = 0;
  for (const collection of storage.allCollections()) {
    for (const index of collection.indexes) {
      const seconds = index.spec.expireAfterSeconds;
      if (typeof seconds !== 'number' || index.fields.length !== 1) continue;
      const field = (index.fields[0] as readonly [string, unknown])[0];
      const cutoff = now - seconds * 1000;
      const expired: Document[] = [];
      for (const document of collection.committedDocuments()) {
        const date = earliestDate(field.includes('.') ? field.split('.').reduce<unknown>((value, part) => (value as Document | undefined)?.[part], document) : document[field]);
        if (date !== undefined && date.getTime() <= cutoff) expired.push(document);
      }
      for (const document of expired) {
        const idKey = valueKey(document._id);
        const chain = collection.chains.get(idKey);
        // A document an open transaction is writing is left for the next pass, as mongod's
        // TTL deletes skip on write conflict.
        if (chain === undefined || chain.lockedBy !== undefined) continue;
        collection.remove(idKey, { txn: undefined });
        deleted++;
      }
    }
  }
  return deleted;
}

import type { ChangeDefinition } from '../../src/index.js';

/** An in-memory change that inserts `{ _id: id }` into `effects` (in its session) and removes it on rollback. */
export function insertChange(id: string, extra: Partial<ChangeDefinition> = {}): ChangeDefinition {
  return {
    id,
    async commit({ db, session }) {
      await db.collection<{ _id: string }>('effects').insertOne({ _id: id }, { session });
    },
    async rollback({ db, session }) {
      await db.collection<{ _id: string }>('effects').deleteOne({ _id: id }, { session });
    },
    ...extra,
  };
}

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

/**
 * Source of a change file whose commit inserts `{ change: n, part: 'a' }` and `{ change: n, part: 'b' }`
 * in two commands, without fixed ids: half a change, or a change run twice, shows in the counts.
 */
export function twoPartChangeFile(n: number, options: { readonly transaction?: 'never' } = {}): string {
  return `export default {
  ${options.transaction === undefined ? '' : `transaction: '${options.transaction}',`}
  async commit({ db, session }) {
    await db.collection('effects').insertOne({ change: ${n}, part: 'a' }, { session });
    await db.collection('effects').insertOne({ change: ${n}, part: 'b' }, { session });
  },
  async rollback({ db, session }) { await db.collection('effects').deleteMany({ change: ${n} }, { session }); },
};
`;
}

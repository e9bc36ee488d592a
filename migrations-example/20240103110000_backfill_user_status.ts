import { defineMigration } from 'mongo-delta';

const BATCH_SIZE = 500;

// A backfill in batches of _ids, so that a large collection is never updated
// in one giant operation. Inside the change's transaction all batches commit together.
export default defineMigration({
  description: "Backfill users.status = 'active'",
  async commit({ db, session, log, signal }) {
    const users = db.collection('users');
    let updated = 0;
    for (;;) {
      signal.throwIfAborted();
      const batch = await users
        .find({ status: { $exists: false } }, { session, projection: { _id: 1 } })
        .limit(BATCH_SIZE)
        .toArray();
      if (batch.length === 0) break;
      const result = await users.updateMany({ _id: { $in: batch.map((doc) => doc._id) } }, { $set: { status: 'active' } }, { session });
      updated += result.modifiedCount;
    }
    log(`backfilled ${updated} users`);
  },
  async rollback({ db, session }) {
    await db.collection('users').updateMany({ status: 'active' }, { $unset: { status: '' } }, { session });
  },
});

// A plain JavaScript (ES module) change with named exports.
export const description = 'Add an API rate limit to every plan';

export async function commit({ db, session }) {
  await db.collection('plans').updateMany({}, [{ $set: { apiCallsPerMinute: { $multiply: ['$seats', 60] } } }], { session });
}

export async function rollback({ db, session }) {
  await db.collection('plans').updateMany({}, { $unset: { apiCallsPerMinute: '' } }, { session });
}

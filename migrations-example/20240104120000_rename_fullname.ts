import { defineMigration } from 'mongo-delta';

export default defineMigration({
  description: 'Rename users.fullName to users.name',
  async commit({ db, session }) {
    await db.collection('users').updateMany({ fullName: { $exists: true } }, { $rename: { fullName: 'name' } }, { session });
  },
  async rollback({ db, session }) {
    await db.collection('users').updateMany({ name: { $exists: true } }, { $rename: { name: 'fullName' } }, { session });
  },
});

import { defineMigration } from 'mongo-delta';

// Index builds on a populated collection cannot run inside a transaction,
// so this change opts out: it is recorded `running` first, then `applied`.
export default defineMigration({
  description: 'Unique index on users.email',
  transaction: 'never',
  async commit({ db }) {
    await db.collection('users').createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
  },
  async rollback({ db }) {
    await db.collection('users').dropIndex('email_unique');
  },
});

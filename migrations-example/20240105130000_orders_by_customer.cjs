// A migrate-mongo file, unchanged: `up(db, client)` / `down(db, client)`.
// delta calls them with a db bound to the change's transaction, so `up` commits whole or not at
// all; `down`'s drop is refused inside a transaction, so it runs again without one (mode auto).
module.exports = {
  async up(db) {
    await db.createCollection('orders');
    await db.collection('orders').createIndex({ customerEmail: 1, createdAt: -1 }, { name: 'by_customer' });
    await db.collection('orders').insertOne({ customerEmail: 'ada@example.com', plan: 'team', createdAt: new Date('2024-01-05T13:00:00Z') });
  },

  async down(db) {
    await db.collection('orders').drop();
  },
};

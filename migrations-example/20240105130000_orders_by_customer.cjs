// A migrate-mongo file, unchanged: `up(db, client)` / `down(db, client)`.
// delta runs these without a transaction (they cannot receive the session).
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

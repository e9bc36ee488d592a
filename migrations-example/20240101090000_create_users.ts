import { defineMigration } from 'mongo-delta';

// A collection with a $jsonSchema validator: documents without an email are refused by the server.
export default defineMigration({
  description: 'Create users with a schema validator',
  async commit({ db, session }) {
    await db.createCollection('users', {
      session,
      validator: {
        $jsonSchema: {
          bsonType: 'object',
          required: ['email'],
          properties: {
            email: { bsonType: 'string', description: 'must be a string and is required' },
            fullName: { bsonType: 'string' },
          },
        },
      },
    });
    await db.collection('users').insertMany(
      [
        { email: 'ada@example.com', fullName: 'Ada Lovelace' },
        { email: 'grace@example.com', fullName: 'Grace Hopper' },
        { email: 'alan@example.com', fullName: 'Alan Turing' },
      ],
      { session },
    );
  },
  async rollback({ db, session }) {
    await db.collection('users').drop({ session });
  },
});

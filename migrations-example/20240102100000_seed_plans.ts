import { defineMigration } from 'mongo-delta';

const PLANS = [
  { _id: 'free', name: 'Free', monthlyPriceCents: 0, seats: 1 },
  { _id: 'team', name: 'Team', monthlyPriceCents: 4900, seats: 10 },
  { _id: 'business', name: 'Business', monthlyPriceCents: 19900, seats: 100 },
];

// Reference data: the rollback removes exactly the documents the commit added.
export default defineMigration({
  description: 'Seed the plans reference collection',
  async commit({ db, session }) {
    await db.collection<{ _id: string }>('plans').insertMany(PLANS, { session });
  },
  async rollback({ db, session }) {
    await db.collection<{ _id: string }>('plans').deleteMany({ _id: { $in: PLANS.map((plan) => plan._id) } }, { session });
  },
});

export type { LeaseLockOptions } from './lease-lock.js';
export { LeaseLock } from './lease-lock.js';
export type { SqliteLeaseLockOptions } from './sqlite-lease-lock.js';
export { SqliteLeaseLock } from './sqlite-lease-lock.js';
export type { Lease, LeaseOptions, LockStore } from './lock-store.js';
export { mongoLockStore, sqliteLockStore } from './lock-store.js';
export type { LockedWork, RunLock } from './under-lock.js';
export { underLock } from './under-lock.js';

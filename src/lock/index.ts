export type { LeaseLockOptions } from './lease-lock.js';
export { LeaseLock } from './lease-lock.js';

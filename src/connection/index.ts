export type { Connection, Deployment, OpenConnectionOptions } from './connect.js';
export { adoptClient, openConnection } from './connect.js';

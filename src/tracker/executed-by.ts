import { hostname, userInfo } from 'node:os';
import type { ExecutedBy } from './records.js';

let cached: ExecutedBy | undefined;

/** Who runs this process: written on every record and audit event. */
export function executedBy(): ExecutedBy {
  if (cached === undefined) {
    let user = process.env.USER ?? process.env.USERNAME ?? 'unknown';
    try {
      user = userInfo().username;
    } catch {
      // Containers without a passwd entry for the uid: keep the environment's answer.
    }
    cached = { user, host: hostname(), pid: process.pid };
  }
  return cached;
}

// How far the secondaries are behind the primary, for `ctx.batches`' `throttle.maxReplicationLagMs`:
// from replSetGetStatus (the primary's optime date less the oldest secondary's), and, where that
// command is refused (no clusterMonitor privilege, a standalone, Atlas shared tiers), from the
// time the last batch took to commit with write concern majority, which waits for the secondaries.
import type { MongoClient } from 'mongodb';

export interface LagReading {
  readonly lagMs: number;
  /** Where the figure came from, for the pause's reason. */
  readonly source: 'replSetGetStatus' | 'majority commit';
}

interface Member {
  readonly stateStr?: unknown;
  readonly optimeDate?: unknown;
  readonly health?: unknown;
}

/** Measures replication lag; remembers that replSetGetStatus is refused so that it asks once. */
export class ReplicationLag {
  readonly #client: MongoClient;
  #statusRefused = false;

  constructor(client: MongoClient) {
    this.#client = client;
  }

  /** The lag now; `lastCommitMs` (the last batch's majority commit) when the server will not say. */
  async read(lastCommitMs: number): Promise<LagReading> {
    if (!this.#statusRefused) {
      try {
        const status = await this.#client.db('admin').command({ replSetGetStatus: 1 });
        const members = Array.isArray(status.members) ? (status.members as Member[]) : [];
        const time = (member: Member | undefined) => (member?.optimeDate instanceof Date ? member.optimeDate.getTime() : undefined);
        const primary = time(members.find((member) => member.stateStr === 'PRIMARY'));
        const secondaries = members.filter((member) => member.stateStr === 'SECONDARY' && member.health !== 0).map(time);
        if (primary !== undefined) {
          const oldest = Math.min(primary, ...secondaries.filter((value): value is number => value !== undefined));
          return { lagMs: Math.max(0, primary - oldest), source: 'replSetGetStatus' };
        }
      } catch {
        // Unauthorized, NoReplicationEnabled...: measure by the commits instead, from now on.
      }
      this.#statusRefused = true;
    }
    return { lagMs: lastCommitMs, source: 'majority commit' };
  }
}

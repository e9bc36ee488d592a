// The cluster time mongod gossips on every reply ($clusterTime, operationTime), advanced by writes.
import { Binary, Long, Timestamp } from 'bson';
import type { Document } from 'bson';

const ZERO_SIGNATURE_HASH = new Binary(new Uint8Array(20), 0);

export class ClusterClock {
  #seconds = Math.floor(Date.now() / 1000);
  #increment = 1;

  /** The latest cluster time, without advancing it. */
  now(): Timestamp {
    return new Timestamp({ t: this.#seconds, i: this.#increment });
  }

  /** Advances the cluster time for a write (an oplog entry in mongod) and returns it. */
  tick(): Timestamp {
    const seconds = Math.floor(Date.now() / 1000);
    if (seconds > this.#seconds) {
      this.#seconds = seconds;
      this.#increment = 1;
    } else {
      this.#increment += 1;
    }
    return this.now();
  }

  /** `$clusterTime` with the dummy signature an unauthenticated deployment sends (keyId 0). */
  gossip(): Document {
    return { clusterTime: this.now(), signature: { hash: ZERO_SIGNATURE_HASH, keyId: Long.ZERO } };
  }

  /** Seconds part, for `lastWrite.opTime` and friends. */
  get lastWriteDate(): Date {
    return new Date(this.#seconds * 1000);
  }
}

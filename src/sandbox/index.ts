// Public surface of the sandbox: an in-memory server that speaks the MongoDB wire protocol as the
// primary of a one-member replica set (sessions, transactions, retryable writes work).
import type { SandboxFaults } from './faults.js';
import { loadStorage, saveStorage } from './persistence.js';
import { SandboxServer } from './server.js';
import type { CommandEvent, SandboxStats } from './server.js';

export type { CommandEvent, SandboxStats } from './server.js';
export type { DelayOptions, FailCommandOptions, FaultMatchOptions, SandboxFaults } from './faults.js';

export interface SandboxOptions {
  /** TCP port; 0 (the default) picks a free ephemeral port. */
  readonly port?: number;
  /** Interface to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** Replica set name reported by hello and used in `uri` (default 'rs0'). */
  readonly replicaSetName?: string;
  /**
   * Answer as a standalone mongod instead (no setName in hello; transactions and retryable
   * writes refused with IllegalOperation 20), to exercise code paths for servers without them.
   */
  readonly standalone?: boolean;
  /** When set: loaded on start if it exists, written on stop() (a sequence of BSON documents). */
  readonly persistPath?: string;
  /** Open transactions older than this are aborted, as mongod's parameter of the same name (default 60). */
  readonly transactionLifetimeLimitSeconds?: number;
  /** Seconds between passes of the TTL monitor that deletes expired documents (default 60, as mongod). */
  readonly ttlMonitorSleepSeconds?: number;
  /**
   * The maxWireVersion hello reports (default 25, MongoDB 8.0). 21 answers as MongoDB 7.0: the
   * driver then sends no `bulkWrite` command (client.bulkWrite is refused on its side), which
   * exercises what delta does before 8.0. Nothing else changes.
   */
  readonly maxWireVersion?: number;
  /** Receives one line per notable event (malformed messages, faults, internal errors). */
  readonly log?: (line: string) => void;
}

export interface Sandbox {
  /** `mongodb://<host>:<port>/?replicaSet=<name>` */
  readonly uri: string;
  readonly port: number;
  readonly host: string;
  /** Undefined for a standalone sandbox. */
  readonly replicaSetName: string | undefined;
  /** Closes every connection, aborts open transactions, saves to persistPath if set. */
  stop(): Promise<void>;
  readonly faults: SandboxFaults;
  stats(): SandboxStats;
  resetStats(): void;
  /** 'command': emitted for every non-monitoring command as it is received, before it runs. */
  on(event: 'command', listener: (event: CommandEvent) => void): Sandbox;
  off(event: 'command', listener: (event: CommandEvent) => void): Sandbox;
}

/** Starts a sandbox server and resolves once it accepts connections. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const host = options.host ?? '127.0.0.1';
  const replicaSetName = options.standalone === true ? undefined : (options.replicaSetName ?? 'rs0');
  const log = options.log ?? (() => undefined);
  const lifetime = options.transactionLifetimeLimitSeconds ?? 60;
  if (!(lifetime > 0)) throw new RangeError(`transactionLifetimeLimitSeconds must be > 0, got ${lifetime}`);
  const wire = options.maxWireVersion;
  if (wire !== undefined && !(Number.isInteger(wire) && wire >= 17 && wire <= 25)) throw new RangeError(`maxWireVersion must be a whole number from 17 (MongoDB 6.0) to 25 (8.0), got ${wire}`);
  const server = new SandboxServer({
    host,
    port: options.port ?? 0,
    replicaSetName,
    transactionLifetimeLimitSeconds: lifetime,
    ttlMonitorSleepSeconds: options.ttlMonitorSleepSeconds ?? 60,
    ...(wire === undefined ? {} : { maxWireVersion: wire }),
    log: (line) => log(`[sandbox] ${line}`),
  });
  if (options.persistPath !== undefined) {
    const loaded = await loadStorage(server.state.storage, options.persistPath);
    if (loaded) log(`[sandbox] loaded ${options.persistPath}`);
  }
  await server.listen();
  const advertised = server.state.topology.hostPort;
  let stopped: Promise<void> | undefined;
  const sandbox: Sandbox = {
    uri: replicaSetName === undefined ? `mongodb://${advertised}/` : `mongodb://${advertised}/?replicaSet=${encodeURIComponent(replicaSetName)}`,
    port: server.port,
    host,
    replicaSetName,
    faults: server.faults,
    stop: () => {
      stopped ??= (async () => {
        await server.stop();
        if (options.persistPath !== undefined) {
          await saveStorage(server.state.storage, options.persistPath);
          log(`[sandbox] saved ${options.persistPath}`);
        }
      })();
      return stopped;
    },
    stats: () => server.stats(),
    resetStats: () => server.resetStats(),
    on: (event, listener) => {
      server.on(event, listener);
      return sandbox;
    },
    off: (event, listener) => {
      server.off(event, listener);
      return sandbox;
    },
  };
  return sandbox;
}

import type { ClientSession, CommandStartedEvent, Document, MongoClient } from 'mongodb';

/** A write that reached the target database outside the running change's transaction. */
export interface EscapedWrite {
  /** The server command: `insert`, `update`, `drop`... */
  readonly command: string;
  /** `db.collection` (or `db` for a database-wide command). */
  readonly namespace: string;
}

/** Commands that change data or the catalog (reads never leave anything behind). */
const WRITE_COMMANDS = new Set([
  'insert',
  'update',
  'delete',
  'findAndModify',
  'create',
  'drop',
  'createIndexes',
  'dropIndexes',
  'collMod',
  'renameCollection',
  'dropDatabase',
  'bulkWrite',
  'aggregate',
  'convertToCapped',
]);

interface Watch {
  readonly targetDb: string;
  readonly sessionId: string | undefined;
  /** delta's own namespaces (history, audit, lock), written beside the change by design. */
  readonly exempt: ReadonlySet<string>;
  readonly escaped: EscapedWrite[];
}

const guards = new WeakMap<MongoClient, WriteGuard>();

/**
 * The second line behind session binding: while a transactional change runs, every write the
 * driver sends to the target database must carry the change's session (`lsid`) inside its
 * transaction (`txnNumber`, `autocommit: false`). A write that does not (a client kept in
 * `services`, code that reached around `ctx.db`) committed on its own and stays whatever
 * happens to the transaction: the change is failed with the command and collection named.
 * It sees only what goes through delta's own client, with command monitoring on.
 */
export class WriteGuard {
  readonly #watches = new Set<Watch>();
  /** Changes running without a transaction at the same time (a parallel stage): writes cannot be attributed. */
  #unwatched = 0;

  private constructor(client: MongoClient) {
    client.on('commandStarted', (event) => this.#seen(event));
  }

  /** The guard of a client: one listener per client, however many runs and targets share it. */
  static of(client: MongoClient): WriteGuard {
    let guard = guards.get(client);
    if (guard === undefined) {
      guard = new WriteGuard(client);
      guards.set(client, guard);
    }
    return guard;
  }

  /**
   * Watches `targetDb` for writes outside `session` (a change running in it) until the returned
   * function is called, which returns what escaped. Without a session (a change running without
   * a transaction) nothing is watched, and while it runs no other change's writes can be told apart.
   */
  watch(targetDb: string, session: ClientSession | undefined, exempt: readonly string[]): () => readonly EscapedWrite[] {
    if (session === undefined) {
      this.#unwatched += 1;
      return () => {
        this.#unwatched -= 1;
        return [];
      };
    }
    const watch: Watch = { targetDb, sessionId: sessionKey(session.id), exempt: new Set(exempt), escaped: [] };
    this.#watches.add(watch);
    return () => {
      this.#watches.delete(watch);
      return watch.escaped;
    };
  }

  #seen(event: CommandStartedEvent): void {
    if (this.#watches.size === 0 || this.#unwatched > 0 || !WRITE_COMMANDS.has(event.commandName)) return;
    const command = event.command;
    const namespaces = writtenNamespaces(event.commandName, event.databaseName, command);
    if (namespaces.length === 0) return;
    const lsid = sessionKey((command.lsid as { id?: unknown } | undefined) ?? undefined);
    const inTransaction = command.txnNumber !== undefined && command.autocommit === false;
    for (const watch of this.#watches) {
      if (inTransaction && lsid !== undefined && lsid === watch.sessionId) continue;
      // A write inside another watched change's transaction belongs to that change (a parallel stage).
      if (inTransaction && [...this.#watches].some((other) => other.sessionId === lsid)) continue;
      for (const namespace of namespaces) {
        if (watch.exempt.has(namespace)) continue;
        if (namespace === watch.targetDb || namespace.startsWith(`${watch.targetDb}.`)) watch.escaped.push({ command: event.commandName, namespace });
      }
    }
  }
}

/** The namespaces a write command changes; empty for an aggregate that writes nothing. */
function writtenNamespaces(name: string, db: string, command: Document): string[] {
  switch (name) {
    case 'renameCollection':
      return [String(command.renameCollection), String(command.to)];
    case 'dropDatabase':
      return [db];
    case 'bulkWrite':
      return Array.isArray(command.nsInfo) ? (command.nsInfo as { ns?: unknown }[]).map((info) => String(info.ns)) : [];
    case 'aggregate': {
      const last = Array.isArray(command.pipeline) ? (command.pipeline as Document[]).at(-1) : undefined;
      const out: unknown = last?.$out ?? (last?.$merge as Document | undefined)?.into ?? last?.$merge;
      if (out === undefined) return [];
      if (typeof out === 'string') return [`${db}.${out}`];
      const target = out as { db?: unknown; coll?: unknown };
      return [`${typeof target.db === 'string' ? target.db : db}.${String(target.coll)}`];
    }
    default:
      return [`${db}.${String(command[name])}`];
  }
}

/** A session id as a comparable string (the UUID's bytes in hex). */
export function sessionKey(lsid: { id?: unknown } | undefined): string | undefined {
  const id = lsid?.id as { toString?: (encoding: string) => string; buffer?: Uint8Array } | undefined;
  if (id === undefined || id === null) return undefined;
  if (id.buffer instanceof Uint8Array) return Buffer.from(id.buffer).toString('hex');
  return typeof id.toString === 'function' ? id.toString('hex') : undefined;
}

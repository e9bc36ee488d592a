// The TCP side: accepts connections, frames and decodes messages, answers the streaming hello of
// the driver's monitor, applies faults, counts stats, and dispatches commands.
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ObjectId } from 'bson';
import type { Document } from 'bson';
import { ClusterClock } from './cluster-clock.js';
import { executeCommand } from './command-dispatcher.js';
import { helloReply, LOGICAL_SESSION_TIMEOUT_MINUTES, MAX_WIRE_VERSION } from './commands/admin-commands.js';
import type { SandboxState, ServerCounters, TopologyInfo } from './commands/command-context.js';
import { HELLO_COMMANDS } from './commands/command-table.js';
import { CursorRegistry } from './cursors.js';
import { FaultInjector } from './faults.js';
import { Storage } from './storage.js';
import { TransactionManager } from './transactions.js';
import { expireDocuments } from './ttl-monitor.js';
import { decodeMessage, encodeOpMsg, encodeOpReply, MessageFramer, OP_MSG_FLAGS, WireProtocolError } from './wire-protocol.js';
import type { OpMsgRequest, OpQueryRequest } from './wire-protocol.js';

export interface CommandEvent {
  readonly name: string;
  readonly db: string;
  readonly connectionId: number;
  /** 1 for the first non-monitoring command the server received, then 2, 3, ... */
  readonly seq: number;
  /** The collection the command names (`insert: 'users'` gives `users`), when its first field is a string. */
  readonly collection: string | undefined;
  /** Sent inside a multi-document transaction (`txnNumber` with `autocommit: false`). */
  readonly inTransaction: boolean;
}

export interface SandboxStats {
  /** Commands received, excluding handshake/monitoring hello and isMaster. */
  readonly commands: number;
  /** hello/isMaster commands (handshakes, monitoring, RTT pings). */
  readonly hellos: number;
  /** Commands that changed data or metadata. */
  readonly writes: number;
  readonly byCommand: Record<string, number>;
  /** Connections currently open. */
  readonly connections: number;
  readonly totalConnections: number;
}

export interface SandboxServerOptions {
  readonly host: string;
  readonly port: number;
  /** Undefined: answer as a standalone mongod. */
  readonly replicaSetName: string | undefined;
  readonly transactionLifetimeLimitSeconds: number;
  readonly ttlMonitorSleepSeconds: number;
  /** What hello reports (default MAX_WIRE_VERSION, MongoDB 8.0). */
  readonly maxWireVersion?: number;
  readonly log: (line: string) => void;
}

interface Connection {
  readonly id: number;
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly framer: MessageFramer;
  queue: Promise<void>;
  /** Aborts a streaming (exhaust) hello and any hello wait on this connection. */
  streaming: AbortController | undefined;
  closed: boolean;
}

export class SandboxServer extends EventEmitter {
  readonly state: SandboxState;
  readonly faults = new FaultInjector();
  readonly #options: SandboxServerOptions;
  readonly #server: Server;
  readonly #connections = new Set<Connection>();
  readonly #stopSignal = new AbortController();
  #nextConnectionId = 1;
  #seq = 0;
  #stats = { commands: 0, hellos: 0, writes: 0, byCommand: new Map<string, number>(), totalConnections: 0 };
  #reaper: NodeJS.Timeout | undefined;
  #ttlMonitor: NodeJS.Timeout | undefined;
  #port = 0;
  #stopping: Promise<void> | undefined;

  constructor(options: SandboxServerOptions) {
    super();
    this.#options = options;
    const storage = new Storage(options.log);
    const cursors = new CursorRegistry();
    const counters: ServerCounters = {
      opcounters: { insert: 0, query: 0, update: 0, delete: 0, getmore: 0, command: 0 },
      connectionsCurrent: 0,
      connectionsTotal: 0,
    };
    const topology: { -readonly [K in keyof TopologyInfo]: TopologyInfo[K] } = {
      replicaSetName: options.replicaSetName,
      hostPort: '',
      processId: new ObjectId(),
      electionId: new ObjectId('7fffffff0000000000000001'),
      startedAt: new Date(),
      maxWireVersion: options.maxWireVersion ?? MAX_WIRE_VERSION,
    };
    const lifetimeMs = options.transactionLifetimeLimitSeconds * 1000;
    this.state = {
      storage,
      cursors,
      transactions: new TransactionManager({
        storage,
        lifetimeLimitMs: lifetimeMs,
        killCursors: (ids) => cursors.killMany(ids),
        killSessionCursors: (key) => cursors.killSession(key),
        log: options.log,
      }),
      clock: new ClusterClock(),
      topology,
      counters,
      transactionLifetimeLimitMs: lifetimeMs,
      simulated: this.faults,
      log: options.log,
    };
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.on('error', (error) => options.log(`server error: ${error.message}`));
  }

  get port(): number {
    return this.#port;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(this.#options.port, this.#options.host, () => {
        this.#server.off('error', onError);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    const advertised = this.#options.host === '0.0.0.0' || this.#options.host === '::' ? '127.0.0.1' : this.#options.host;
    const hostPort = advertised.includes(':') ? `[${advertised}]:${this.#port}` : `${advertised}:${this.#port}`;
    (this.state.topology as { hostPort: string }).hostPort = hostPort;
    this.#reaper = setInterval(() => {
      this.state.cursors.reapIdle();
      this.state.transactions.reapIdle(LOGICAL_SESSION_TIMEOUT_MINUTES * 60_000);
    }, 60_000);
    this.#reaper.unref();
    this.#ttlMonitor = setInterval(() => {
      const deleted = expireDocuments(this.state.storage);
      if (deleted > 0) this.state.clock.tick();
    }, this.#options.ttlMonitorSleepSeconds * 1000);
    this.#ttlMonitor.unref();
    this.#options.log(`sandbox listening on ${hostPort} (${this.#options.replicaSetName === undefined ? 'standalone' : `replica set ${this.#options.replicaSetName}`})`);
  }

  /** Closes every connection at once, aborts open transactions and stops listening. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopSignal.abort();
      if (this.#reaper !== undefined) clearInterval(this.#reaper);
      if (this.#ttlMonitor !== undefined) clearInterval(this.#ttlMonitor);
      const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const connection of this.#connections) this.#close(connection);
      this.state.transactions.endAll();
      this.state.cursors.clear();
      await closed;
    })();
    return this.#stopping;
  }

  stats(): SandboxStats {
    return {
      commands: this.#stats.commands,
      hellos: this.#stats.hellos,
      writes: this.#stats.writes,
      byCommand: Object.fromEntries(this.#stats.byCommand),
      connections: this.#connections.size,
      totalConnections: this.#stats.totalConnections,
    };
  }

  resetStats(): void {
    this.#stats = { commands: 0, hellos: 0, writes: 0, byCommand: new Map(), totalConnections: 0 };
  }

  #accept(socket: Socket): void {
    if (this.#stopSignal.signal.aborted) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    const connection: Connection = {
      id: this.#nextConnectionId++,
      socket,
      remoteAddress: `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`,
      framer: new MessageFramer(),
      queue: Promise.resolve(),
      streaming: undefined,
      closed: false,
    };
    this.#connections.add(connection);
    this.#stats.totalConnections += 1;
    this.state.counters.connectionsCurrent = this.#connections.size;
    this.state.counters.connectionsTotal += 1;
    socket.on('data', (chunk: Buffer) => this.#onData(connection, chunk));
    socket.on('error', (error) => {
      if (!connection.closed) this.#options.log(`connection ${connection.id} error: ${error.message}`);
      this.#close(connection);
    });
    socket.on('close', () => this.#close(connection));
  }

  #close(connection: Connection): void {
    if (!connection.closed) {
      connection.closed = true;
      connection.streaming?.abort();
      this.#connections.delete(connection);
      this.state.counters.connectionsCurrent = this.#connections.size;
    }
    connection.socket.destroy();
  }

  #onData(connection: Connection, chunk: Buffer): void {
    if (connection.closed) return;
    let frames: Buffer[];
    try {
      frames = connection.framer.push(chunk);
    } catch (error) {
      this.#protocolFailure(connection, error);
      return;
    }
    for (const frame of frames) {
      // A new request ends a streaming hello on this connection (the client moved on).
      connection.streaming?.abort();
      connection.streaming = undefined;
      connection.queue = connection.queue.then(() => this.#handleFrame(connection, frame)).catch((error: unknown) => this.#protocolFailure(connection, error));
    }
  }

  #protocolFailure(connection: Connection, error: unknown): void {
    if (connection.closed) return;
    const reason = error instanceof Error ? error.message : String(error);
    const kind = error instanceof WireProtocolError ? 'malformed message' : 'internal error';
    this.#options.log(`closing connection ${connection.id} from ${connection.remoteAddress}: ${kind}: ${reason}`);
    this.#close(connection);
  }

  async #handleFrame(connection: Connection, frame: Buffer): Promise<void> {
    if (connection.closed) return;
    const request = decodeMessage(frame);
    if (request.kind === 'query') {
      await this.#handleOpQuery(connection, request);
      return;
    }
    await this.#handleOpMsg(connection, request);
  }

  async #handleOpQuery(connection: Connection, request: OpQueryRequest): Promise<void> {
    // Since 5.1 mongod accepts OP_QUERY only for the handshake (hello/isMaster on *.$cmd).
    const query = request.query.$query !== undefined && typeof request.query.$query === 'object' ? (request.query.$query as Document) : request.query;
    const name = Object.keys(query)[0] ?? '';
    let reply: Document;
    if (request.fullCollectionName.endsWith('.$cmd') && HELLO_COMMANDS.has(name)) {
      this.#stats.hellos += 1;
      const legacy = name !== 'hello';
      reply = helloReply(this.state, connection.id, query, legacy);
    } else {
      reply = {
        ok: 0,
        errmsg: `Unsupported OP_QUERY command: ${name}. The client driver may require an upgrade. For more details see https://dochub.mongodb.org/core/legacy-opcode-removal`,
        code: 352,
        codeName: 'UnsupportedOpQueryCommand',
      };
    }
    this.#write(connection, encodeOpReply(request.header.requestId, this.#decorate(reply)));
  }

  async #handleOpMsg(connection: Connection, request: OpMsgRequest): Promise<void> {
    const command = request.command;
    const name = Object.keys(command)[0] ?? '';
    const isHello = HELLO_COMMANDS.has(name);
    const noReply = (request.flags & OP_MSG_FLAGS.moreToCome) !== 0;
    if (isHello) this.#stats.hellos += 1;
    else {
      this.#seq += 1;
      this.#stats.commands += 1;
      this.#stats.byCommand.set(name, (this.#stats.byCommand.get(name) ?? 0) + 1);
      this.#emitCommand({
        name,
        db: typeof command.$db === 'string' ? command.$db : '',
        connectionId: connection.id,
        seq: this.#seq,
        collection: typeof command[name] === 'string' ? command[name] : undefined,
        inTransaction: command.txnNumber !== undefined && command.autocommit === false,
      });
    }
    const decision = this.faults.decide(name, isHello);
    if (decision.action === 'close') {
      this.#options.log(`fault: closing connection ${connection.id} instead of running '${name}'`);
      this.#close(connection);
      return;
    }
    if (decision.action === 'fail') {
      if (!noReply) this.#write(connection, encodeOpMsg(request.header.requestId, this.#decorate(decision.reply)));
      return;
    }
    if (isHello && command.topologyVersion !== undefined && command.maxAwaitTimeMS !== undefined) {
      await this.#awaitableHello(connection, request, decision.delayMs);
      return;
    }
    const outcome = await executeCommand(this.state, command, { id: connection.id, remoteAddress: connection.remoteAddress });
    if (outcome.wrote) this.#stats.writes += 1;
    if (decision.delayMs > 0) await this.#pause(decision.delayMs);
    if (decision.closeAfterReply) {
      this.#options.log(`fault: closing connection ${connection.id} after running '${name}', before replying`);
      this.#close(connection);
      return;
    }
    if (noReply || connection.closed) return;
    this.#write(connection, encodeOpMsg(request.header.requestId, this.#decorate(outcome.reply)));
  }

  /**
   * The monitor's awaitable hello: with an unchanged topologyVersion mongod answers only after
   * maxAwaitTimeMS (or on a topology change, which never happens here). With exhaustAllowed it
   * keeps answering (moreToCome set) without further requests until the connection closes.
   */
  async #awaitableHello(connection: Connection, request: OpMsgRequest, delayMs: number): Promise<void> {
    const command = request.command;
    const maxAwait = Math.max(0, Number(command.maxAwaitTimeMS) || 0);
    const requested = command.topologyVersion as Document | undefined;
    const current = this.state.topology.processId;
    const sameTopology = (requested?.processId as ObjectId | undefined)?.equals?.(current) === true && Number(requested?.counter) === 0;
    const exhaust = (request.flags & OP_MSG_FLAGS.exhaustAllowed) !== 0;
    const controller = new AbortController();
    connection.streaming = controller;
    const legacy = Object.keys(command)[0] !== 'hello';
    const stream = async (): Promise<void> => {
      let first = true;
      while (!connection.closed && !controller.signal.aborted) {
        if (!first || sameTopology) {
          const waited = await this.#pause(maxAwait + delayMs, controller.signal);
          if (!waited || connection.closed) return;
        }
        first = false;
        const reply = this.#decorate(helloReply(this.state, connection.id, command, legacy));
        this.#write(connection, encodeOpMsg(request.header.requestId, reply, exhaust ? OP_MSG_FLAGS.moreToCome : 0));
        if (!exhaust) return;
      }
    };
    if (exhaust) {
      // Runs beside the request queue: the next request on this connection aborts it.
      stream().catch((error: unknown) => this.#protocolFailure(connection, error));
      return;
    }
    await stream();
  }

  /** Sleeps unless the server stops or `signal` fires first; resolves false when interrupted. */
  async #pause(ms: number, signal?: AbortSignal): Promise<boolean> {
    const signals = signal === undefined ? [this.#stopSignal.signal] : [this.#stopSignal.signal, signal];
    try {
      await sleep(ms, undefined, { signal: AbortSignal.any(signals) });
      return true;
    } catch {
      return false;
    }
  }

  #emitCommand(event: CommandEvent): void {
    try {
      this.emit('command', event);
    } catch (error) {
      this.#options.log(`a 'command' listener threw: ${(error as Error).message}`);
    }
  }

  #decorate(reply: Document): Document {
    // A standalone mongod has no cluster time to gossip.
    if (this.state.topology.replicaSetName === undefined) return reply;
    reply.$clusterTime = this.state.clock.gossip();
    reply.operationTime = this.state.clock.now();
    return reply;
  }

  #write(connection: Connection, bytes: Buffer): void {
    if (connection.closed) return;
    connection.socket.write(bytes);
  }
}

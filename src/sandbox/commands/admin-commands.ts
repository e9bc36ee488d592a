// Handshake and server-information commands: hello/isMaster, ping, buildInfo, getParameter,
// serverStatus, connectionStatus, whatsmyuri, hostInfo, replSetGetStatus and friends.
import { hostname, cpus, totalmem, arch, platform, release } from 'node:os';
import { Long, UUID } from 'bson';
import type { Document } from 'bson';
import { CommandError } from '../errors.js';
import { MAX_BSON_OBJECT_SIZE, MAX_MESSAGE_SIZE } from '../wire-protocol.js';
import type { CommandContext, CommandSpec, SandboxState } from './command-context.js';

export const SERVER_VERSION = '8.0.0';
/** Wire version 25 is MongoDB 8.0: the driver then uses the bulkWrite command for client.bulkWrite(). */
export const MAX_WIRE_VERSION = 25;
export const LOGICAL_SESSION_TIMEOUT_MINUTES = 30;

/** The hello document of a writable primary in a one-member replica set. */
export function helloReply(state: SandboxState, connectionId: number, command: Document, legacy: boolean): Document {
  const { topology, clock } = state;
  const opTime = { ts: clock.now(), t: Long.fromNumber(1) };
  const standalone = topology.replicaSetName === undefined;
  const reply: Document = standalone
    ? { topologyVersion: { processId: topology.processId, counter: Long.ZERO } }
    : { topologyVersion: { processId: topology.processId, counter: Long.ZERO }, hosts: [topology.hostPort], setName: topology.replicaSetName, setVersion: 1 };
  if (legacy) reply.ismaster = true;
  else reply.isWritablePrimary = true;
  if (!standalone) {
    Object.assign(reply, {
      secondary: false,
      primary: topology.hostPort,
      me: topology.hostPort,
      electionId: topology.electionId,
      lastWrite: { opTime, lastWriteDate: clock.lastWriteDate, majorityOpTime: opTime, majorityWriteDate: clock.lastWriteDate },
    });
  }
  Object.assign(reply, {
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    maxMessageSizeBytes: MAX_MESSAGE_SIZE,
    maxWriteBatchSize: 100_000,
    localTime: new Date(),
    logicalSessionTimeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES,
    connectionId,
    minWireVersion: 0,
    maxWireVersion: state.topology.maxWireVersion,
    readOnly: false,
  });
  if (command.helloOk === true) reply.helloOk = true;
  reply.ok = 1;
  return reply;
}

function helloCommand(command: Document, context: CommandContext): Document {
  return helloReply(context.state, context.connectionId, command, context.name !== 'hello');
}

function buildInfo(): Document {
  return {
    version: SERVER_VERSION,
    gitVersion: '0000000000000000000000000000000000000000',
    modules: [],
    allocator: 'system',
    javascriptEngine: 'none',
    sysInfo: 'deprecated',
    versionArray: [8, 0, 0, 0],
    bits: 64,
    debug: false,
    maxBsonObjectSize: MAX_BSON_OBJECT_SIZE,
    storageEngines: ['delta-sandbox'],
    buildEnvironment: { target_os: platform(), target_arch: arch() },
    openssl: { running: 'disabled', compiled: 'disabled' },
    ok: 1,
  };
}

function parameters(state: SandboxState): Record<string, unknown> {
  return {
    featureCompatibilityVersion: { version: '8.0' },
    transactionLifetimeLimitSeconds: Math.round(state.transactionLifetimeLimitMs / 1000),
    maxTransactionLockRequestTimeoutMillis: 5,
    logLevel: 0,
    authenticationMechanisms: ['SCRAM-SHA-1', 'SCRAM-SHA-256'],
    notablescan: false,
    cursorTimeoutMillis: Long.fromNumber(600_000),
    internalQueryMaxBlockingSortMemoryUsageBytes: 104_857_600,
  };
}

function getParameter(command: Document, context: CommandContext): Document {
  const known = parameters(context.state);
  const selector = command.getParameter;
  const reply: Document = {};
  if (selector === '*' || (typeof selector === 'object' && selector !== null && (selector as Document).allParameters === true)) {
    Object.assign(reply, known);
  } else {
    for (const name of Object.keys(command)) {
      if (name === 'getParameter' || name.startsWith('$') || name === 'lsid' || name === 'comment') continue;
      if (!(name in known)) continue;
      reply[name] = known[name];
    }
    if (Object.keys(reply).length === 0) throw new CommandError('InvalidOptions', 'no option found to get');
  }
  reply.ok = 1;
  return reply;
}

function serverStatus(_command: Document, context: CommandContext): Document {
  const { state } = context;
  const uptimeMillis = Date.now() - state.topology.startedAt.getTime();
  return {
    host: state.topology.hostPort,
    version: SERVER_VERSION,
    process: 'mongod',
    pid: Long.fromNumber(process.pid),
    uptime: Math.floor(uptimeMillis / 1000),
    uptimeMillis: Long.fromNumber(uptimeMillis),
    uptimeEstimate: Long.fromNumber(Math.floor(uptimeMillis / 1000)),
    localTime: new Date(),
    connections: {
      current: state.counters.connectionsCurrent,
      available: 1_000_000 - state.counters.connectionsCurrent,
      totalCreated: state.counters.connectionsTotal,
      active: 1,
    },
    opcounters: { ...state.counters.opcounters },
    transactions: { currentActive: state.transactions.openTransactionCount, currentOpen: state.transactions.openTransactionCount },
    logicalSessionRecordCache: { activeSessionsCount: state.transactions.sessions.size },
    storageEngine: { name: 'delta-sandbox', supportsCommittedReads: true, persistent: false },
    repl: { setName: state.topology.replicaSetName, isWritablePrimary: true, primary: state.topology.hostPort, me: state.topology.hostPort },
    ok: 1,
  };
}

function replSetGetStatus(_command: Document, context: CommandContext): Document {
  const { state } = context;
  const opTime = { ts: state.clock.now(), t: Long.fromNumber(1) };
  return {
    set: state.topology.replicaSetName,
    date: new Date(),
    myState: 1,
    term: Long.fromNumber(1),
    heartbeatIntervalMillis: Long.fromNumber(2000),
    optimes: { lastCommittedOpTime: opTime, appliedOpTime: opTime, durableOpTime: opTime },
    members: [
      {
        _id: 0,
        name: state.topology.hostPort,
        health: 1,
        state: 1,
        stateStr: 'PRIMARY',
        uptime: Math.floor((Date.now() - state.topology.startedAt.getTime()) / 1000),
        optime: opTime,
        optimeDate: new Date(),
        self: true,
        electionId: state.topology.electionId,
      },
      // Test-only: a secondary as far behind as sandbox.faults.replicationLag(ms) says.
      ...(state.simulated.replicationLagMs > 0
        ? [{ _id: 1, name: `${state.topology.hostPort}-secondary`, health: 1, state: 2, stateStr: 'SECONDARY', optimeDate: new Date(Date.now() - state.simulated.replicationLagMs) }]
        : []),
    ],
    ok: 1,
  };
}

function hostInfo(): Document {
  return {
    system: { currentTime: new Date(), hostname: hostname(), cpuAddrSize: 64, memSizeMB: Long.fromNumber(Math.round(totalmem() / 1048576)), numCores: cpus().length, cpuArch: arch() },
    os: { type: platform(), name: platform(), version: release() },
    extra: {},
    ok: 1,
  };
}

function getLog(command: Document): Document {
  if (command.getLog === '*') return { names: ['global', 'startupWarnings'], ok: 1 };
  return { totalLinesWritten: 0, log: [], ok: 1 };
}

function authenticationUnsupported(): Document {
  // No users exist on the sandbox: authentication fails exactly like a wrong password on mongod.
  throw new CommandError('AuthenticationFailed', 'Authentication failed.');
}

export const ADMIN_COMMANDS: Record<string, CommandSpec> = {
  hello: { handler: helloCommand },
  isMaster: { handler: helloCommand },
  ismaster: { handler: helloCommand },
  ping: { handler: () => ({ ok: 1 }) },
  buildInfo: { handler: buildInfo },
  buildinfo: { handler: buildInfo },
  getParameter: { handler: getParameter, adminOnly: true },
  serverStatus: { handler: serverStatus },
  connectionStatus: { handler: () => ({ authInfo: { authenticatedUsers: [], authenticatedUserRoles: [] }, ok: 1 }) },
  whatsmyuri: { handler: (_command, context) => ({ you: context.clientAddress, ok: 1 }) },
  hostInfo: { handler: hostInfo },
  getCmdLineOpts: { handler: () => ({ argv: ['mongod', '--replSet'], parsed: {}, ok: 1 }), adminOnly: true },
  getLog: { handler: getLog, adminOnly: true },
  replSetGetStatus: { handler: replSetGetStatus, adminOnly: true },
  logout: { handler: () => ({ ok: 1 }) },
  saslStart: { handler: authenticationUnsupported },
  saslContinue: { handler: authenticationUnsupported },
  authenticate: { handler: authenticationUnsupported },
  getLastError: { handler: () => ({ ok: 1, err: null, n: 0 }) },
  startSession: {
    handler: () => ({ id: { id: new UUID() }, timeoutMinutes: LOGICAL_SESSION_TIMEOUT_MINUTES, ok: 1 }),
  },
  refreshSessions: { handler: () => ({ ok: 1 }) },
  features: { handler: () => ({ ok: 1 }) },
  listCommands: { handler: () => ({ commands: {}, ok: 1 }) },
  appendOplogNote: { handler: () => ({ ok: 1 }), adminOnly: true },
  getDefaultRWConcern: {
    handler: () => ({
      defaultReadConcern: { level: 'local' },
      defaultWriteConcern: { w: 'majority', wtimeout: 0 },
      defaultReadConcernSource: 'implicit',
      defaultWriteConcernSource: 'implicit',
      ok: 1,
    }),
    adminOnly: true,
  },
  fsync: { handler: () => ({ numFiles: 1, ok: 1 }), adminOnly: true },
  currentOp: { handler: () => ({ inprog: [], ok: 1 }), adminOnly: true },
  lockInfo: { handler: () => ({ lockInfo: [], ok: 1 }), adminOnly: true },
  getClusterTime: { handler: (_command, context) => ({ clusterTime: context.state.clock.now(), ok: 1 }) },
};

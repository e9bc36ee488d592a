// Shared plumbing for the conformance suite: one server and one driver client per test file,
// a fresh database per test (all dropped when the file ends), and assertions on server errors.
// Every expectation in these files is what a real MongoDB 7/8 replica set answers, so the same
// files run unchanged against MONGODB_URI.
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { TestContext } from 'node:test';
import { MongoClient, MongoServerError } from 'mongodb';
import type { CommandStartedEvent, CommandSucceededEvent, Db, Decimal128, Document, Long, MongoClientOptions, ObjectId, UpdateFilter } from 'mongodb';
import { openTestServer, uniqueDbName } from '../helpers/server.js';
import type { TestServer } from '../helpers/server.js';

export interface ConformanceContext {
  readonly server: TestServer;
  /** A client with command monitoring on (see recordCommands). */
  readonly client: MongoClient;
  /** A database no other test uses; dropped when the file's tests end. */
  db(prefix?: string): Db;
  /** A second client on the same server, closed when the file's tests end. */
  connect(uri?: string, options?: MongoClientOptions): Promise<MongoClient>;
}

/** Registers the file's before/after hooks and returns the context the tests use once they run. */
export function useConformanceServer(): ConformanceContext {
  let server: TestServer | undefined;
  let client: MongoClient | undefined;
  const databases: string[] = [];
  const extraClients: MongoClient[] = [];

  before(async () => {
    server = await openTestServer();
    client = await new MongoClient(server.uri, { monitorCommands: true, serverSelectionTimeoutMS: 10_000 }).connect();
  });

  after(async () => {
    for (const extra of extraClients) await extra.close().catch(() => undefined);
    if (client !== undefined) {
      for (const name of databases)
        await client
          .db(name)
          .dropDatabase()
          .catch(() => undefined);
      await client.close();
    }
    await server?.close();
  });

  const context: ConformanceContext = {
    get server(): TestServer {
      assert.ok(server, 'the server is opened in before()');
      return server;
    },
    get client(): MongoClient {
      assert.ok(client, 'the client is connected in before()');
      return client;
    },
    db(prefix = 'conf') {
      const name = uniqueDbName(prefix);
      databases.push(name);
      return context.client.db(name);
    },
    async connect(uri, options) {
      const extra = await new MongoClient(uri ?? context.server.uri, { serverSelectionTimeoutMS: 10_000, ...options }).connect();
      extraClients.push(extra);
      return extra;
    },
  };
  return context;
}

/**
 * For tests of sandbox-only features (faults, persistence, stats, wire robustness, internals):
 * marks the test skipped and returns true when the suite runs against a real server.
 */
export function skipUnlessSandbox(t: TestContext, server: TestServer, feature: string): boolean {
  if (server.sandbox !== undefined) return false;
  t.skip(`sandbox-only: ${feature}`);
  return true;
}

export interface ExpectedServerError {
  /** One code, or the codes any of which a real server may answer. */
  readonly code: number | readonly number[];
  readonly codeName?: string;
  /** A stable substring (or pattern) of the server's message. */
  readonly message?: string | RegExp;
  readonly label?: string;
}

/** Asserts that `action` rejects with a MongoServerError of that shape and returns the error. */
export async function expectServerError(action: Promise<unknown> | (() => Promise<unknown>), expected: ExpectedServerError): Promise<MongoServerError> {
  let caught: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught !== undefined, `expected a server error with code ${String(expected.code)}, but the operation succeeded`);
  if (!(caught instanceof MongoServerError)) {
    throw new assert.AssertionError({ message: `expected a MongoServerError, got ${String(caught)}`, actual: caught, expected: 'MongoServerError' });
  }
  const codes = typeof expected.code === 'number' ? [expected.code] : expected.code;
  assert.ok(typeof caught.code === 'number' && codes.includes(caught.code), `expected code ${codes.join(' or ')}, got ${String(caught.code)} (${caught.message})`);
  if (expected.codeName !== undefined) assert.equal(caught.codeName, expected.codeName, caught.message);
  if (expected.message !== undefined) {
    if (typeof expected.message === 'string') {
      assert.ok(caught.message.includes(expected.message), `expected the message to contain ${JSON.stringify(expected.message)}, got ${JSON.stringify(caught.message)}`);
    } else {
      assert.match(caught.message, expected.message);
    }
  }
  if (expected.label !== undefined) {
    assert.ok(caught.hasErrorLabel(expected.label), `expected label ${expected.label}, got [${caught.errorLabels.join(', ')}]`);
  }
  return caught;
}

export interface CommandRecording {
  /** Commands started (by name), in order. */
  readonly started: CommandStartedEvent[];
  /** Replies of commands that succeeded, in order. */
  readonly succeeded: CommandSucceededEvent[];
  /** Names of the commands started, in order. */
  names(): string[];
  stop(): void;
}

/** Records the commands a monitoring client sends (ignoring handshake and monitoring traffic). */
export function recordCommands(client: MongoClient, only?: readonly string[]): CommandRecording {
  const started: CommandStartedEvent[] = [];
  const succeeded: CommandSucceededEvent[] = [];
  const monitoring = new Set(['hello', 'ismaster', 'isMaster', 'endSessions']);
  const wanted = (name: string): boolean => !monitoring.has(name) && (only === undefined || only.includes(name));
  const onStarted = (event: CommandStartedEvent): void => {
    if (wanted(event.commandName)) started.push(event);
  };
  const onSucceeded = (event: CommandSucceededEvent): void => {
    if (wanted(event.commandName)) succeeded.push(event);
  };
  client.on('commandStarted', onStarted);
  client.on('commandSucceeded', onSucceeded);
  return {
    started,
    succeeded,
    names: () => started.map((event) => event.commandName),
    stop: () => {
      client.off('commandStarted', onStarted);
      client.off('commandSucceeded', onSucceeded);
    },
  };
}

/** The documents of a cursor reply (firstBatch or nextBatch) of a find/aggregate/getMore. */
export function batchOf(reply: unknown): Document[] {
  assert.ok(reply !== null && typeof reply === 'object', 'a reply document');
  const cursor: unknown = (reply as Document).cursor;
  assert.ok(cursor !== null && typeof cursor === 'object', 'the reply has a cursor');
  const batch: unknown = (cursor as Document).firstBatch ?? (cursor as Document).nextBatch;
  assert.ok(Array.isArray(batch), 'the cursor has a batch');
  return batch as Document[];
}

/** Sorts plain values for order-insensitive comparison (distinct has no defined order). */
export function sortedValues(values: readonly unknown[]): unknown[] {
  return [...values].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
}

/** Any value MongoDB accepts as an `_id` in these tests. */
export type IdValue = string | number | boolean | Date | ObjectId | Long | Decimal128 | Document | null;

/**
 * The schema of the documents these tests write: any fields, and an `_id` of any type. With the
 * bare `Document` the driver's types assume an ObjectId `_id`, which MongoDB does not require.
 */
export interface Doc extends Document {
  _id?: IdValue;
}

/**
 * An update document passed through untyped: the driver types $push/$pull/$pullAll on schemaless
 * collections as `never`, and the error cases deliberately send what the types forbid.
 */
export function untypedUpdate(update: Document): UpdateFilter<Doc> {
  return update as UpdateFilter<Doc>;
}

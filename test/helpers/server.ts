// The database every test runs against: the real server named by MONGODB_URI, or a fresh
// in-memory sandbox on an ephemeral port.
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import { freePort } from '../../scripts/free-port.mjs';
import { withDatabase } from './connection-string.js';
import type { TempProject } from './temp.js';
import { tempProject } from './temp.js';

export interface TestServer {
  readonly uri: string;
  /** Undefined when the tests run against a real server (MONGODB_URI). */
  readonly sandbox: Sandbox | undefined;
  close(): Promise<void>;
}

/**
 * The `skip` option of a test or suite that needs the in-process sandbox (fault injection,
 * restarts, its command events, the sandbox itself): under MONGODB_URI it is skipped, the reason
 * printed, as it would be against MongoDB.
 */
export function sandboxOnly(reason: string): string | false {
  const external = process.env.MONGODB_URI;
  return external !== undefined && external !== '' ? `sandbox-only: ${reason}` : false;
}

/**
 * Uses MONGODB_URI when set, otherwise starts a sandbox that close() stops. On MONGODB_URI,
 * close() drops the databases this test file named with uniqueDbName (and the `<name>_...`
 * ones derived from them, such as external tracker databases): a shared server keeps nothing.
 */
export async function openTestServer(): Promise<TestServer> {
  const external = process.env.MONGODB_URI;
  if (external !== undefined && external !== '') {
    return { uri: external, sandbox: undefined, close: () => dropNamedDatabases(external) };
  }
  const sandbox = await startSandbox({ port: 0 });
  return { uri: sandbox.uri, sandbox, close: () => sandbox.stop() };
}

/** Every name uniqueDbName gave out in this process (one test file). */
const namedDatabases = new Set<string>();

/** A database name unique to one test: `<prefix>_<random hex>`, at most 38 characters. */
export function uniqueDbName(prefix = 'test'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 25) || 'test';
  const name = `${clean}_${randomBytes(6).toString('hex')}`;
  namedDatabases.add(name);
  return name;
}

async function dropNamedDatabases(uri: string): Promise<void> {
  if (namedDatabases.size === 0) return;
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  try {
    let names: string[] = [...namedDatabases];
    try {
      const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
      names = databases.map((d) => d.name).filter((name) => [...namedDatabases].some((ours) => name === ours || name.startsWith(`${ours}_`)));
    } catch {
      // A user without listDatabases: drop the names we know.
    }
    for (const name of names)
      await client
        .db(name)
        .dropDatabase()
        .catch(() => undefined);
  } finally {
    await client.close();
  }
}

export interface ServerFixture {
  readonly server: TestServer;
  /** A driver client to check what the database holds. */
  readonly client: MongoClient;
  /** The server's URI pointing at `db` (see withDatabase: options and credentials kept). */
  uriFor(db: string): string;
  /** A temporary project folder, removed when the file's tests end. */
  project(files?: Record<string, string>): TempProject;
}

/**
 * Registers before/after hooks for one server, one client and the temporary
 * projects of a test file; the fixture's fields are usable once tests run.
 */
export function useServer(): ServerFixture {
  let server: TestServer | undefined;
  let client: MongoClient | undefined;
  const projects: TempProject[] = [];
  before(async () => {
    server = await openTestServer();
    client = await new MongoClient(server.uri).connect();
  });
  after(async () => {
    projects.forEach((p) => p.cleanup());
    await client?.close();
    await server?.close();
  });
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useServer(): used before its before() hook ran');
    return value;
  };
  return {
    get server() {
      return ready(server);
    },
    get client() {
      return ready(client);
    },
    uriFor: (db) => withDatabase(ready(server).uri, db),
    project(files = {}) {
      const p = tempProject(files);
      projects.push(p);
      return p;
    },
  };
}

/** A port on this machine that nothing listens on (bound, then released): an unreachable server. */
export const closedPort = freePort;

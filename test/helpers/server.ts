// The database every test runs against: the real server named by MONGODB_URI, or a fresh
// in-memory sandbox on an ephemeral port.
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before } from 'node:test';
import { MongoClient } from 'mongodb';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';
import type { TempProject } from './temp.js';
import { tempProject } from './temp.js';

export interface TestServer {
  readonly uri: string;
  /** Undefined when the tests run against a real server (MONGODB_URI). */
  readonly sandbox: Sandbox | undefined;
  close(): Promise<void>;
}

/** Uses MONGODB_URI when set, otherwise starts a sandbox that close() stops. */
export async function openTestServer(): Promise<TestServer> {
  const external = process.env.MONGODB_URI;
  if (external !== undefined && external !== '') {
    return { uri: external, sandbox: undefined, close: async () => undefined };
  }
  const sandbox = await startSandbox({ port: 0 });
  return { uri: sandbox.uri, sandbox, close: () => sandbox.stop() };
}

/** A database name unique to one test: `<prefix>_<random hex>`, at most 38 characters. */
export function uniqueDbName(prefix = 'test'): string {
  const clean = prefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 25) || 'test';
  return `${clean}_${randomBytes(6).toString('hex')}`;
}

/** The connection string of `server` with database `db` in its path, options kept. */
export function uriWithDb(uri: string, db: string): string {
  const [base, query] = uri.split('?');
  return `${base?.replace(/\/$/, '')}/${db}${query === undefined ? '' : `?${query}`}`;
}

export interface ServerFixture {
  readonly server: TestServer;
  /** A driver client to check what the database holds. */
  readonly client: MongoClient;
  /** The server's URI pointing at `db`. */
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
    uriFor: (db) => uriWithDb(ready(server).uri, db),
    project(files = {}) {
      const p = tempProject(files);
      projects.push(p);
      return p;
    },
  };
}

/** `host:port` (or the host list) of a connection string, without credentials. */
export function hostOf(uri: string): string {
  return /^mongodb(?:\+srv)?:\/\/(?:[^@/]*@)?([^/?]+)/.exec(uri)?.[1] ?? '';
}

/** A port on this machine that nothing listens on (bound, then released): an unreachable server. */
export function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// The database every test runs against: the real server named by MONGODB_URI, or a fresh
// in-memory sandbox on an ephemeral port.
import { randomBytes } from 'node:crypto';
import { startSandbox } from '../../src/sandbox/index.js';
import type { Sandbox } from '../../src/sandbox/index.js';

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

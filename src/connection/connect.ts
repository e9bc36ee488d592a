import type { Db, MongoClient } from 'mongodb';
import { redact, secretsOf } from '../config/redact.js';
import { ConfigError, DatabaseError, messageOf } from '../errors.js';

/** What delta needs to know about the deployment it talks to. */
export interface Deployment {
  /** Replica set or sharded cluster: multi-document transactions are possible. */
  readonly transactions: boolean;
  /** MongoDB 8.0+ (wire version 25): one `bulkWrite` command can write to several collections. */
  readonly clientBulkWrite: boolean;
}

export interface OpenConnectionOptions {
  readonly uri: string;
  /** Where the URI came from (`--uri`, `DELTA_URI`...), for messages. */
  readonly source: string;
  readonly connectTimeoutMs: number;
  readonly appName?: string;
}

export interface Connection {
  readonly client: MongoClient;
  readonly deployment: Deployment;
  db(name: string): Db;
  close(): Promise<void>;
}

const CLIENT_BULK_WRITE_WIRE_VERSION = 25;

/**
 * Connects and asks the server what it is (one `hello`). Errors are turned
 * into DeltaErrors whose messages carry the redacted URI only.
 */
export async function openConnection(options: OpenConnectionOptions): Promise<Connection> {
  const { MongoClient } = await import('mongodb');
  const secrets = secretsOf(options.uri);
  const shown = redact(options.uri, secrets);
  let client: MongoClient;
  try {
    client = new MongoClient(options.uri, {
      serverSelectionTimeoutMS: options.connectTimeoutMs,
      connectTimeoutMS: options.connectTimeoutMs,
      appName: options.appName ?? 'delta',
      // The write guard (src/runner/write-guard.ts) watches commands for writes that escape a
      // change's transaction; monitoring is decided per connection when it opens, so it is on from the start.
      monitorCommands: true,
    });
  } catch (error) {
    throw new ConfigError(`${options.source}: invalid connection string ${shown}: ${redact(messageOf(error), secrets)}`);
  }
  try {
    await client.connect();
    const deployment = await describeDeployment(client);
    return { client, deployment, db: (name) => client.db(name), close: () => client.close() };
  } catch (error) {
    await client.close().catch(() => undefined);
    const code = (error as { code?: unknown }).code;
    const reason = redact(messageOf(error), secrets);
    if (code === 18) throw new ConfigError(`${options.source}: authentication failed for ${shown}`);
    throw new DatabaseError(`cannot connect to ${shown} (from ${options.source}): ${reason}`);
  }
}

/** Wraps an application's own client; closing the Connection leaves that client open. */
export async function adoptClient(client: MongoClient): Promise<Connection> {
  // Takes effect for connections opened from now on (all of them when the application has not
  // connected yet): the write guard sees only what command monitoring reports.
  client.options.monitorCommands = true;
  await client.connect();
  const deployment = await describeDeployment(client);
  return { client, deployment, db: (name) => client.db(name), close: async () => undefined };
}

async function describeDeployment(client: MongoClient): Promise<Deployment> {
  const hello = await client.db('admin').command({ hello: 1 });
  return {
    transactions: typeof hello.setName === 'string' || hello.msg === 'isdbgrid',
    clientBulkWrite: typeof hello.maxWireVersion === 'number' && hello.maxWireVersion >= CLIENT_BULK_WRITE_WIRE_VERSION,
  };
}

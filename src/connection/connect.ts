import type { Db, MongoClient, TopologyDescription, TopologyDescriptionChangedEvent } from 'mongodb';
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
 * Connects and learns what the server is from the driver's own monitoring `hello` (asking with
 * a `hello` command of its own only when that did not say). Errors are turned into DeltaErrors
 * whose messages carry the redacted URI only.
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
  let topology: TopologyDescription | undefined;
  const watch = (event: TopologyDescriptionChangedEvent) => {
    topology = event.newDescription;
  };
  client.on('topologyDescriptionChanged', watch);
  try {
    await client.connect();
    client.off('topologyDescriptionChanged', watch);
    // One round trip fewer for every command than asking again (10 ms and more across a network).
    const deployment = deploymentOf(topology) ?? (await describeDeployment(client));
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

/** Servers a connection writes through: where the deployment's abilities are read. */
const WRITABLE_SERVERS = new Set(['RSPrimary', 'Standalone', 'Mongos']);

/**
 * The deployment as the driver's monitoring saw it while connecting: every writable server known
 * with its wire version. Undefined when it saw none (a load balancer, a direct connection to a
 * secondary), which `describeDeployment` then asks about.
 */
export function deploymentOf(topology: TopologyDescription | undefined): Deployment | undefined {
  const writable = [...(topology?.servers.values() ?? [])].filter((server) => WRITABLE_SERVERS.has(server.type));
  if (writable.length === 0 || writable.some((server) => !(server.maxWireVersion > 0))) return undefined;
  return {
    transactions: writable.every((server) => server.setName !== null || server.type === 'Mongos'),
    clientBulkWrite: writable.every((server) => server.maxWireVersion >= CLIENT_BULK_WRITE_WIRE_VERSION),
  };
}

async function describeDeployment(client: MongoClient): Promise<Deployment> {
  const hello = await client.db('admin').command({ hello: 1 });
  return {
    transactions: typeof hello.setName === 'string' || hello.msg === 'isdbgrid',
    clientBulkWrite: typeof hello.maxWireVersion === 'number' && hello.maxWireVersion >= CLIENT_BULK_WRITE_WIRE_VERSION,
  };
}

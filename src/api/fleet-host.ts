// What the fleet actions get from a createDelta() instance: the fleet's deployments, each with
// one connection shared by its targets, and each target wired over them with its history and lock.
import type { MongoClient } from 'mongodb';
import type { DeltaConfig } from '../config/resolve-config.js';
import { deploymentName } from '../config/deployment-name.js';
import { secretsOf } from '../config/redact.js';
import type { Connection } from '../connection/connect.js';
import { ConfigError } from '../errors.js';
import { isSqliteUri } from '../sqlite/sqlite-file.js';
import type { FleetDeployment } from '../fleet/index.js';
import type { DeltaEventEmitter } from '../runner/events.js';
import type { StatusResult } from '../runner/results.js';
import type { ChangeFilter, ChangeSource } from '../vocabulary/index.js';
import type { ConnectedTarget } from './connected-target.js';
import { mongoTarget } from './connected-target.js';
import { wrapDatabaseErrors } from './database-errors.js';
import type { DeltaResources } from './delta-resources.js';
import type { FleetHost } from './fleet-actions.js';
import { commitThenPrune, runnerFor } from './run-wiring.js';

export interface FleetHostOptions {
  readonly resolved: DeltaConfig;
  readonly resources: DeltaResources;
  readonly events: DeltaEventEmitter;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** An application's own client (the run's own deployment). */
  readonly client: MongoClient | undefined;
  changeSource(): Promise<ChangeSource>;
  status(opened: ConnectedTarget, source: ChangeSource, filter: ChangeFilter): Promise<StatusResult>;
}

/**
 * The fleet host. A target on the run's own deployment is wired as before: its history in its own
 * database, or in the external tracker under `<targetDb>/<id>`, its lock scope its database name.
 * A target on another deployment keeps its history in its own database too; with an external
 * tracker (on the run's own deployment, or `--tracker-uri`'s) its records carry its deployment,
 * are keyed `<deployment>/<targetDb>/<id>`, and its lock scope is `<deployment>/<targetDb>`.
 */
export function fleetHostOf(options: FleetHostOptions): FleetHost {
  const { resolved, resources, events } = options;
  const ownUri = options.client === undefined ? resolved.uri : undefined;
  const ownDeployment = options.client !== undefined ? clientDeployment(options.client) : ownUri === undefined ? undefined : deploymentName(ownUri);
  const connectionOf = (deployment: FleetDeployment): Promise<Connection> =>
    deployment.uri === undefined ? resources.ownConnection() : resources.deploymentConnection(deployment.name, deployment.uri, `the fleet's deployment ${deployment.name}`);
  const external = resolved.tracker.db !== undefined || resolved.tracker.uri !== undefined;
  return {
    config: resolved,
    cwd: resources.cwd,
    events,
    changeSource: () => options.changeSource(),
    env: options.env,
    ownUri,
    ownDeployment,
    listDatabases: (deployment) => wrapDatabaseErrors(async () => (await (await connectionOf(deployment)).client.db('admin').admin().listDatabases({ nameOnly: true })).databases.map((d) => d.name)),
    trackerDb: resolved.tracker.db,
    async connect(deployments) {
      if (isSqliteUri(resolved.tracker.uri)) {
        throw new ConfigError(
          `${resolved.tracker.uriSource ?? 'tracker.uri'}: a fleet keeps its history in MongoDB (each target's own database, or --tracker-db); a SQLite tracker serves one target (--db)`,
        );
      }
      const others = deployments.filter((d) => d.uri !== undefined);
      const trackerConnection = await wrapDatabaseErrors(() => resources.trackerConnection());
      // A tracker database without a deployment of its own lives on the run's own deployment.
      const trackerOnOwn = external && trackerConnection === undefined && others.length > 0;
      if (trackerOnOwn && ownDeployment === undefined) {
        throw new ConfigError(
          `tracker.db ${resolved.tracker.db ?? ''}: a fleet over other deployments keeps this tracker on the run's own deployment, and the run has none: pass --uri or --tracker-uri`,
        );
      }
      const own = deployments.some((d) => d.uri === undefined) || trackerOnOwn ? await wrapDatabaseErrors(() => resources.ownConnection()) : undefined;
      const connections = new Map<string, Connection>();
      for (const deployment of deployments) connections.set(deployment.name, await wrapDatabaseErrors(() => connectionOf(deployment)));
      const byName = new Map(deployments.map((d) => [d.name, d]));
      return (member) => {
        const deployment = byName.get(member.deployment);
        const target = connections.get(member.deployment);
        if (deployment === undefined || target === undefined) throw new Error(`fleet: no connection for ${member.deployment}`);
        let opened: ConnectedTarget;
        if (deployment.uri === undefined) {
          // One lock per target (its database name): targets of a fleet never wait on each other.
          opened = mongoTarget(resolved, { target, trackerConnection }, member.db, member.db);
        } else {
          const trackerSide = external ? (trackerConnection ?? own) : undefined;
          const scope = external ? `${member.deployment}/${member.db}` : member.db;
          opened = mongoTarget(resolved, { target, trackerConnection: trackerSide }, member.db, scope, { name: member.deployment, secrets: secretsOf(deployment.uri) });
        }
        return {
          commit: (source, commitOptions) => commitThenPrune(opened, events, source, commitOptions),
          rollback: (source, rollbackOptions) => runnerFor(opened, events).rollback(source, rollbackOptions),
          status: (source, filter) => options.status(opened, source, filter),
        };
      };
    },
  };
}

/** An application's client's deployment name: its hosts (or SRV name), as deploymentName writes them. */
function clientDeployment(client: MongoClient): string {
  const { srvHost, hosts } = client.options;
  if (typeof srvHost === 'string' && srvHost !== '') return `mongodb+srv://${srvHost.toLowerCase()}`;
  return hosts
    .map((host) => host.toString().toLowerCase())
    .sort()
    .join(',');
}

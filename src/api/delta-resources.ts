// What one createDelta() instance holds open: its resolved configuration, its target (connected on
// first use), a fleet's shared connections, and the one close that releases all of them.
import type { DeltaConfig } from '../config/resolve-config.js';
import { resolveConfig } from '../config/resolve-config.js';
import type { DeltaConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { AdoptionHost } from '../adopt/index.js';
import type { Connection } from '../connection/connect.js';
import { openConnection } from '../connection/connect.js';
import type { ConnectedTarget } from './connected-target.js';
import { closeConnections, connectTarget, leaseLock, openTarget, openTrackerConnection } from './connected-target.js';
import type { CreateDeltaOptions } from './delta.js';

export class DeltaResources {
  readonly #options: CreateDeltaOptions;
  #config: Promise<DeltaConfig> | undefined;
  #target: Promise<ConnectedTarget> | undefined;
  /** A fleet's connections, each opened on first use and shared by all its targets: the run's own, an external tracker's, one per other deployment. */
  #own: Promise<Connection> | undefined;
  #tracker: Promise<Connection | undefined> | undefined;
  readonly #deployments = new Map<string, Promise<Connection>>();
  #closed = false;

  constructor(options: CreateDeltaOptions) {
    this.#options = options;
  }

  /** Where relative paths resolve and configuration is searched. */
  get cwd(): string {
    return this.#options.cwd ?? process.cwd();
  }

  /** The configuration, resolved once: flags over environment over file (or `config` given in code). */
  config(): Promise<DeltaConfig> {
    this.#config ??= resolveConfig({ flags: this.#options.flags, env: this.#options.env, cwd: this.#options.cwd, inline: this.#options.config });
    return this.#config;
  }

  /** The configured target, connected once. */
  target(): Promise<ConnectedTarget> {
    this.assertOpen();
    this.#target ??= this.config().then((config) => connectTarget(this.#connectOptions(), config));
    return this.#target;
  }

  /** The run's own connection for a fleet (its connection string, or the application's client), opened once. */
  async ownConnection(): Promise<Connection> {
    this.assertOpen();
    const config = await this.config();
    this.#own ??= openTarget(this.#connectOptions(), config);
    return this.#own;
  }

  /** An external tracker's own connection (undefined when it has none), opened once. */
  async trackerConnection(): Promise<Connection | undefined> {
    this.assertOpen();
    const config = await this.config();
    this.#tracker ??= openTrackerConnection(config);
    return this.#tracker;
  }

  /** The connection of a fleet's other deployment, by its name: one client per deployment, opened once. */
  async deploymentConnection(name: string, uri: string, source: string): Promise<Connection> {
    this.assertOpen();
    const config = await this.config();
    let opened = this.#deployments.get(name);
    if (opened === undefined) {
      opened = openConnection({ uri, source, connectTimeoutMs: config.connectTimeoutMs });
      this.#deployments.set(name, opened);
    }
    return opened;
  }

  assertOpen(): void {
    if (this.#closed) throw new ConfigError('this delta instance is closed');
  }

  /** Configuration and connections for src/adopt, built from an inline layer apart from this instance's own. */
  adoptionHost(): AdoptionHost {
    const options = this.#options;
    return {
      cwd: this.cwd,
      sharedClient: options.client !== undefined,
      resolveConfig: (inline: DeltaConfigInput) => resolveConfig({ flags: options.flags, env: options.env, cwd: options.cwd, inline: { ...options.config, ...inline } }),
      open: async (config) => {
        const opened = await connectTarget(this.#connectOptions(), config);
        return {
          targetDb: opened.targetDb,
          db: opened.target.db(opened.targetDb),
          tracker: opened.tracker,
          lock: (command) => leaseLock(opened, command),
          close: () => closeConnections(opened, options.client !== undefined),
        };
      },
    };
  }

  /** Closes what this instance opened (never an application's own client); later calls are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const shared = this.#options.client !== undefined;
    const target = this.#target;
    const own = this.#own;
    const tracker = this.#tracker;
    const others = [...this.#deployments.values()];
    this.#target = undefined;
    this.#own = undefined;
    this.#tracker = undefined;
    this.#deployments.clear();
    const opened = await target?.catch(() => undefined);
    if (opened !== undefined) await closeConnections(opened, shared);
    const closing = [own, ...others].map(async (pending, index) => {
      const connection = await pending?.catch(() => undefined);
      if (connection !== undefined && !(index === 0 && shared)) await connection.close();
    });
    closing.push((async () => (await tracker?.catch(() => undefined))?.close())());
    await Promise.all(closing);
  }

  #connectOptions() {
    return { client: this.#options.client, cwd: this.cwd };
  }
}

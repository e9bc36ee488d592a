// What one createDelta() instance holds open: its resolved configuration, its target (connected on
// first use), a fleet's shared connections, and the one close that releases all of them.
import type { DeltaConfig } from '../config/resolve-config.js';
import { resolveConfig } from '../config/resolve-config.js';
import type { DeltaConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import type { AdoptionHost } from '../adopt/index.js';
import type { ConnectedTarget, OpenConnections } from './connected-target.js';
import { closeConnections, connectTarget, leaseLock, openConnections } from './connected-target.js';
import type { CreateDeltaOptions } from './delta.js';

export class DeltaResources {
  readonly #options: CreateDeltaOptions;
  #config: Promise<DeltaConfig> | undefined;
  #target: Promise<ConnectedTarget> | undefined;
  #fleet: Promise<OpenConnections> | undefined;
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

  /** A fleet's connections, opened once and shared by all its targets. */
  async fleetConnections(): Promise<OpenConnections> {
    this.assertOpen();
    const config = await this.config();
    this.#fleet ??= openConnections(this.#connectOptions(), config);
    return this.#fleet;
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
    const opened = [this.#fleet, this.#target];
    this.#fleet = undefined;
    this.#target = undefined;
    for (const pending of opened) {
      const connections = await pending?.catch(() => undefined);
      if (connections !== undefined) await closeConnections(connections, shared);
    }
  }

  #connectOptions() {
    return { client: this.#options.client, cwd: this.cwd };
  }
}

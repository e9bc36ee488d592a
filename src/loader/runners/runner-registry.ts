import type { ShellRunnerOptions } from './shell-runner.js';
import { shellRunner } from './shell-runner.js';
import { driverRunner, templateRunner } from './built-in-runners.js';
import { mongoshRunner } from './mongosh-runner.js';
import type { ChangeRunner, RunnerRegistry } from './runner-types.js';

export interface RunnerRegistryOptions extends Partial<ShellRunnerOptions> {
  /** Runners from the configuration's `runners`: matched before the built-in ones. */
  readonly runners?: readonly ChangeRunner[] | undefined;
}

/**
 * The runners of a project, in matching order: configured runners first, then
 * the pair runners (mongosh, shell), whose names are more specific than the
 * driver's and template's extensions (`x.commit.sh`, `x.commit.mongosh.js`).
 */
export function runnerRegistry(options: RunnerRegistryOptions = {}): RunnerRegistry {
  const runners: readonly ChangeRunner[] = [
    ...(options.runners ?? []),
    mongoshRunner,
    shellRunner({ programs: options.programs ?? {}, uri: options.uri, cwd: options.cwd }),
    templateRunner,
    driverRunner,
  ];
  return {
    runners,
    match(fileName) {
      for (const runner of runners) {
        const match = runner.match(fileName);
        if (match !== undefined) return { runner, match };
      }
      return undefined;
    },
  };
}

/** The built-in runners with default programs, for callers that configure none. */
export const DEFAULT_RUNNERS: RunnerRegistry = runnerRegistry();

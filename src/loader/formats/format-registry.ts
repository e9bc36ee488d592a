import type { ShellFormatOptions } from './shell-format.js';
import { shellFormat } from './shell-format.js';
import { driverFormat, templateFormat } from './built-in-formats.js';
import { mongoshFormat } from './mongosh-format.js';
import type { ChangeFormat, FormatRegistry } from '../../vocabulary/index.js';

export interface RunnerRegistryOptions extends Partial<ShellFormatOptions> {
  /** Runners from the configuration's `runners`: matched before the built-in ones. */
  readonly runners?: readonly ChangeFormat[] | undefined;
}

/**
 * The runners of a project, in matching order: configured runners first, then
 * the pair runners (mongosh, shell), whose names are more specific than the
 * driver's and template's extensions (`x.commit.sh`, `x.commit.mongosh.js`).
 */
export function formatRegistry(options: RunnerRegistryOptions = {}): FormatRegistry {
  const runners: readonly ChangeFormat[] = [
    ...(options.runners ?? []),
    mongoshFormat,
    shellFormat({ programs: options.programs ?? {}, uri: options.uri, cwd: options.cwd, shellEnv: options.shellEnv }),
    templateFormat,
    driverFormat,
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
export const DEFAULT_FORMATS: FormatRegistry = formatRegistry();

// createDelta()'s own options, checked before anything else: a key it does not know is a mistake
// (most often configuration written beside `config` instead of inside it) that would otherwise be
// ignored and surface later as a confusing "change folder ./migrations does not exist".
import { CONFIG_KEYS } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { CreateDeltaOptions } from './delta.js';

// Every key of CreateDeltaOptions and no other: `satisfies` fails to compile when they drift apart.
const OPTION_KEYS = Object.keys({ config: true, flags: true, env: true, cwd: true, client: true, changes: true } satisfies Record<keyof CreateDeltaOptions, true>);

/** Throws a UsageError naming the first key createDelta() does not take, and where it belongs. */
export function checkCreateDeltaOptions(options: unknown): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new UsageError(`createDelta: options must be an object ({ config, flags, env, cwd, client, changes }), not ${Array.isArray(options) ? 'an array' : String(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (OPTION_KEYS.includes(key)) continue;
    const where = CONFIG_KEYS.includes(key)
      ? `it is configuration: put it inside config, createDelta({ config: { ${key}: ... } })`
      : `createDelta takes ${OPTION_KEYS.join(', ')}; configuration keys (${CONFIG_KEYS.slice(0, 4).join(', ')}, ...) go inside config`;
    throw new UsageError(`createDelta: unknown option ${JSON.stringify(key)}: ${where}`);
  }
}

export type { DeltaConfig, ConfigFlags, ResolveConfigOptions } from './resolve-config.js';
export { resolveConfig, databaseFromUri, DEFAULTS } from './resolve-config.js';
import type { DeltaConfigInput } from './schema.js';
export type { DeltaConfigInput } from './schema.js';
export { redact, secretsOf, REDACTED } from './redact.js';

/** Identity helper that gives a `delta.config.ts` its types at no runtime cost. */
export function defineConfig<T extends DeltaConfigInput>(config: T): T {
  return config;
}

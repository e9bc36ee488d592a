import type { OperationRegistration } from './operation-types.js';

/*
 * What the configuration's `operations` may hold. Free of runtime imports so
 * that the configuration schema can check registrations (and refuse names
 * that would shadow a built-in operation) without loading the loader.
 */

/** The built-in template operations, in the order the README documents them. */
export const BUILT_IN_OPERATIONS = [
  'createCollection',
  'dropCollection',
  'createIndex',
  'dropIndex',
  'insertMany',
  'updateMany',
  'updateOne',
  'deleteMany',
  'renameCollection',
  'collMod',
  'runCommand',
] as const;

export type BuiltInOperationName = (typeof BUILT_IN_OPERATIONS)[number];

/** A custom operation's name is a key in YAML and JSON templates: keep it a plain identifier. */
export const OPERATION_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const DEFINITION_KEYS = new Set(['args', 'run', 'transactional']);

/** A function, or `{ run, args?, transactional? }` whose `args` is a Standard Schema (zod, valibot...). */
export function isOperationRegistration(value: unknown): value is OperationRegistration {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).some((key) => !DEFINITION_KEYS.has(key))) return false;
  if (typeof record.run !== 'function') return false;
  if (record.transactional !== undefined && typeof record.transactional !== 'boolean') return false;
  if (record.args === undefined) return true;
  const standard = (record.args as Record<string, unknown> | null | undefined)?.['~standard'] as Record<string, unknown> | undefined;
  return typeof standard?.validate === 'function';
}

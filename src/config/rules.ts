// The configuration's plain rules (modes, defaults, the shape of URIs and names), without the
// schema library: the change loader and the check of flags and environment variables use them
// on every run, and loading zod costs a command about 200 ms and 14 MB.
import { METADATA_NAME_PATTERN, isTransactionMode } from '../vocabulary/index.js';

/** The shortest lease (`lock.leaseMs`, `--lock-lease`): its heartbeat beats every third of it. */
export const MIN_LEASE_MS = 1000;

/** A rule on a string value: the test, and what a value that fails it must be. */
export interface StringRule {
  readonly test: (value: string) => boolean;
  readonly message: string;
}

export const MONGO_URI: StringRule = {
  test: (value) => /^mongodb(\+srv)?:\/\//i.test(value),
  message: 'must be a mongodb:// or mongodb+srv:// connection string',
};

/** A tracker's store: a MongoDB connection string, or a SQLite file (`sqlite:./.delta/delta.sqlite`). */
export const TRACKER_URI: StringRule = {
  test: (value) => MONGO_URI.test(value) || /^sqlite:.+/i.test(value),
  message: 'must be a mongodb:// or mongodb+srv:// connection string, or sqlite:<path of a file>',
};

export const DATABASE_NAME: StringRule = {
  test: (value) => value.length >= 1 && value.length <= 63 && !/[/\\. "$*<>:|?]/.test(value),
  message: 'must be a database name without /\\. "$*<>:|? or spaces',
};

export const ENVIRONMENT_NAME: StringRule = {
  test: (value) => METADATA_NAME_PATTERN.test(value),
  message: 'must be an environment name of letters, digits, _ . : - (no spaces or commas)',
};

const isString = (value: unknown): value is string => typeof value === 'string';
const isInteger = (value: unknown, min: number): boolean => typeof value === 'number' && Number.isInteger(value) && value >= min;

/**
 * Whether values from flags and environment variables are certainly valid, checked without the
 * schema: only the keys those sources set, each against the rule the schema applies to it. Any
 * other key or any doubt answers false, and the schema then gives the exact error.
 */
export function plainlyValid(input: Readonly<Record<string, unknown>>): boolean {
  const checks: Record<string, (value: unknown) => boolean> = {
    uri: (v) => isString(v) && MONGO_URI.test(v),
    db: (v) => isString(v) && DATABASE_NAME.test(v),
    path: (v) => isString(v) && v.length > 0,
    env: (v) => isString(v) && ENVIRONMENT_NAME.test(v),
    transaction: isTransactionMode,
    autoRollback: (v) => typeof v === 'boolean',
    connectTimeoutMs: (v) => isInteger(v, 1),
    tracker: (v) => nested(v, { uri: (u) => isString(u) && TRACKER_URI.test(u), db: (d) => isString(d) && DATABASE_NAME.test(d) }),
    lock: (v) => nested(v, { waitMs: (w) => isInteger(w, 0), leaseMs: (l) => isInteger(l, MIN_LEASE_MS) }),
    backup: (v) => nested(v, { dir: (d) => isString(d) && d.length > 0 }),
  };
  return nested(input, checks);
}

function nested(value: unknown, checks: Readonly<Record<string, (value: unknown) => boolean>>): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.entries(value).every(([key, entry]) => entry === undefined || (Object.hasOwn(checks, key) && (checks[key] as (value: unknown) => boolean)(entry)));
}

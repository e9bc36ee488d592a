// Name rules shared by configuration, change files and command-line flags (no dependencies, so
// `delta --help` can check flags without loading the schema library).

/** A stage's name: also its folder's by default, and shown in status; no spaces or slashes. */
export const STAGE_NAME_PATTERN = /^[A-Za-z0-9][\w.-]*$/;

/** Tag and environment names: given as `--env`/`--tags a,b` and shown in status, so no spaces or commas. */
export const METADATA_NAME_PATTERN = /^[A-Za-z0-9][\w.:-]*$/;

/** A MongoDB database name: 1 to 63 characters, none of `/\. "$*<>:|?` or a space (the server's rule on every platform). */
export const DATABASE_NAME_PATTERN = /^[^/\\. "$*<>:|?]{1,63}$/;

/** What a database name may be, said in every message that refuses one. */
export const DATABASE_NAME_RULE = '1 to 63 characters, none of /\\. "$*<>:|? or spaces';

/** Whether a value can name a database (`--db`, `--to-db`, a fleet's target, `tracker.db`). */
export function isDatabaseName(value: string): boolean {
  return DATABASE_NAME_PATTERN.test(value);
}

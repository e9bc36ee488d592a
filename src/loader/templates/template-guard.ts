// What a declarative change may not do without being allowed to: touch delta's own collections
// (history, audit log, lock: a template could forge or wipe them), run an arbitrary command, or
// run JavaScript on the server. A change file of code stays unrestricted: it is code, reviewed
// as code; a template is data, and these checks keep it to what data should do.
import type { BuiltInOperationName, TemplatePermissions } from '../../vocabulary/index.js';

export type { TemplatePermissions } from '../../vocabulary/index.js';

export const DEFAULT_OWN_COLLECTIONS: readonly string[] = ['delta_migrations', 'delta_audit', 'delta_lock'];

/** Operators and BSON types that run JavaScript on the server. */
const SERVER_JAVASCRIPT = new Set(['$where', '$function', '$accumulator', '$code']);

/** Why an operation is refused, and where in its arguments (relative to the operation). */
export interface Refusal {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** The refusal of one built-in operation with its parsed arguments, or undefined when it may run. */
export function refusalOf(name: BuiltInOperationName, args: Readonly<Record<string, unknown>>, permissions: TemplatePermissions): Refusal | undefined {
  const own = new Set(permissions.ownCollections ?? DEFAULT_OWN_COLLECTIONS);
  for (const key of ['collection', 'name', 'from', 'to'] as const) {
    const value = args[key];
    if (typeof value === 'string' && own.has(value)) return { path: [key], message: ownCollection(value) };
  }
  if (name === 'runCommand') {
    if (permissions.allowRunCommand !== true) {
      return { path: [], message: 'runCommand can run any command (dropDatabase included): it needs templates: { allowRunCommand: true } in the configuration' };
    }
    // The command's first value names its collection (`{ drop: 'delta_audit' }`, `{ collMod: ... }`).
    const command = args.command as Readonly<Record<string, unknown>>;
    const [verb, target] = Object.entries(command)[0] ?? [];
    if (typeof target === 'string' && own.has(target)) return { path: ['command', verb ?? ''], message: ownCollection(target) };
  }
  if (permissions.allowServerJavaScript !== true) {
    const found = serverJavaScript(args, []);
    if (found !== undefined) {
      return { path: found.path, message: `${found.operator} runs JavaScript on the server: it needs templates: { allowServerJavaScript: true } in the configuration` };
    }
  }
  return undefined;
}

function ownCollection(name: string): string {
  return `${name} is one of delta's own collections (history, audit log, lock): a template never writes it`;
}

function serverJavaScript(value: unknown, path: (string | number)[]): { path: (string | number)[]; operator: string } | undefined {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = serverJavaScript(item, [...path, index]);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  // A decoded BSON Code value (`{ $code: ... }` in Extended JSON).
  if ((value as { _bsontype?: unknown })._bsontype === 'Code') return { path, operator: 'BSON code' };
  for (const [key, entry] of Object.entries(value)) {
    if (SERVER_JAVASCRIPT.has(key)) return { path: [...path, key], operator: key === '$code' ? 'BSON code' : key };
    const found = serverJavaScript(entry, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}

// A deployment's name: what a fleet shows beside each database, and what tells two deployments
// apart. It is the connection string's host list, never its credentials, database or options.
import { lastAuthorityAt } from './redact.js';

const SCHEME = /^(mongodb(?:\+srv)?):\/\//i;
const DEFAULT_PORT = 27017;

interface ConnectionParts {
  readonly srv: boolean;
  /** User-info with its `@` (credentials), or ''. */
  readonly userinfo: string;
  readonly hosts: readonly string[];
  /** The options after `?`, or ''. */
  readonly options: string;
}

function partsOf(uri: string): ConnectionParts | undefined {
  const scheme = SCHEME.exec(uri.trim());
  if (scheme === null) return undefined;
  const token = uri.trim().slice(scheme[0].length);
  const at = lastAuthorityAt(token);
  const userinfo = at > 0 ? token.slice(0, at + 1) : '';
  const rest = token.slice(at > 0 ? at + 1 : 0);
  const end = rest.search(/[/?]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  const query = rest.indexOf('?');
  const hosts = authority
    .split(',')
    .map((host) => host.trim().toLowerCase())
    .filter((host) => host !== '');
  if (hosts.length === 0) return undefined;
  return { srv: scheme[1]?.toLowerCase() === 'mongodb+srv', userinfo, hosts, options: query < 0 ? '' : rest.slice(query + 1) };
}

/**
 * The name of the deployment a connection string reaches: its hosts, lower-cased, with the
 * default port where none is written, in order (`db1:27017,db2:27017`); for a `mongodb+srv://`
 * string, `mongodb+srv://` and its host. No credentials, database or options: safe to print.
 * Undefined when `uri` is not a MongoDB connection string.
 */
export function deploymentName(uri: string): string | undefined {
  const parts = partsOf(uri);
  if (parts === undefined) return undefined;
  if (parts.srv) return `mongodb+srv://${parts.hosts.join(',')}`;
  const withPorts = parts.hosts.map((host) => (/:\d+$/.test(host) && !host.endsWith(']') ? host : `${host}:${DEFAULT_PORT}`));
  return [...withPorts].sort().join(',');
}

/**
 * Whether two connection strings to one deployment connect the same way: same credentials and
 * options (the database in the path does not count: each target names its own).
 */
export function sameConnection(a: string, b: string): boolean {
  const left = partsOf(a);
  const right = partsOf(b);
  if (left === undefined || right === undefined) return a === b;
  return left.userinfo === right.userinfo && left.options === right.options && deploymentName(a) === deploymentName(b);
}

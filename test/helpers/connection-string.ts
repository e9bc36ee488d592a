// Every connection string a test builds comes from the server's own URI (MONGODB_URI or the
// sandbox's) through these functions, so a URI with a database path, options, credentials or an
// SRV name keeps them: `mongodb://u:p@host/admin?replicaSet=rs0` pointed at database `x` is
// `mongodb://u:p@host/x?replicaSet=rs0&authSource=admin`, not a URI that loses the replica set
// or authenticates against `x`. WHATWG URL cannot parse a multi-host MongoDB URI, so the parts
// are split here by hand.

export interface ConnectionStringParts {
  readonly scheme: 'mongodb' | 'mongodb+srv';
  /** `user:password` as written (percent-encoded), or undefined. */
  readonly credentials: string | undefined;
  /** `host[:port][,host[:port]...]`, or the SRV name. */
  readonly hosts: string;
  /** The database of the path ('' when there is none). */
  readonly database: string;
  readonly options: URLSearchParams;
}

const SHAPE = /^(mongodb(?:\+srv)?):\/\/(?:([^@/]*)@)?([^/?]*)(?:\/([^?]*))?(?:\?(.*))?$/;

/** The parts of a `mongodb://` or `mongodb+srv://` connection string; throws on anything else. */
export function parseConnectionString(uri: string): ConnectionStringParts {
  const match = SHAPE.exec(uri);
  if (match === null) throw new Error(`not a MongoDB connection string: ${uri}`);
  return {
    scheme: match[1] === 'mongodb+srv' ? 'mongodb+srv' : 'mongodb',
    credentials: match[2],
    hosts: match[3] ?? '',
    database: decodeURIComponent(match[4] ?? ''),
    options: new URLSearchParams(match[5] ?? ''),
  };
}

/** The connection string of `parts`; the path is always written, so `?options` never follow a host. */
export function formatConnectionString(parts: ConnectionStringParts): string {
  const query = parts.options.toString();
  const credentials = parts.credentials === undefined ? '' : `${parts.credentials}@`;
  return `${parts.scheme}://${credentials}${parts.hosts}/${encodeURIComponent(parts.database)}${query === '' ? '' : `?${query}`}`;
}

/**
 * `uri` pointing at database `db` ('' for none), everything else kept. With credentials, the
 * database they authenticate against stays the one `uri` named (its path, or `admin`) through
 * `authSource`, since the driver would otherwise authenticate against `db`.
 */
export function withDatabase(uri: string, db: string): string {
  const parts = parseConnectionString(uri);
  const options = new URLSearchParams(parts.options);
  if (parts.credentials !== undefined && !options.has('authSource')) options.set('authSource', parts.database === '' ? 'admin' : parts.database);
  return formatConnectionString({ ...parts, database: db, options });
}

/** `uri` with `user:password@` (password as given: pass it percent-encoded) instead of its own credentials. */
export function withCredentials(uri: string, user: string, password: string): string {
  const parts = parseConnectionString(uri);
  const options = new URLSearchParams(parts.options);
  // Credentials of our own are checked where they are stored, not where the server's were.
  options.delete('authSource');
  return formatConnectionString({ ...parts, credentials: `${user}:${password}`, options });
}

/** `uri` with option `name` set to `value` (replacing it if present). */
export function withOption(uri: string, name: string, value: string): string {
  const parts = parseConnectionString(uri);
  const options = new URLSearchParams(parts.options);
  options.set(name, value);
  return formatConnectionString({ ...parts, options });
}

/** `host:port` (or the host list, or the SRV name) of a connection string, without credentials. */
export function hostOf(uri: string): string {
  return parseConnectionString(uri).hosts;
}

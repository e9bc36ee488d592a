// What a shell-command change's program receives in its environment. Not delta's whole
// environment: that holds MONGODB_URI and MIGRATIONS_DB_URI (the tracker's credentials), cloud
// keys and whatever else the deploy job set. A program gets what running a program needs, the
// names the project allows, and the DELTA_* facts of its change.

/** Always passed: finding programs and modules, the user, locale, time zone, temporary files, the terminal, proxies and CA files (and Windows' own). */
export const BASE_ENVIRONMENT: readonly string[] = [
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'LANG',
  'LANGUAGE',
  'LC_*',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'TERM',
  'NODE_PATH',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'SSL_CERT_FILE',
  'NODE_EXTRA_CA_CERTS',
  'SYSTEMROOT',
  'COMSPEC',
  'PATHEXT',
  'WINDIR',
  'USERPROFILE',
  'APPDATA',
  'LOCALAPPDATA',
];

/** Never passed, whatever a pattern allows: other connection strings delta reads. */
const WITHHELD = new Set(['MONGODB_URI', 'MIGRATIONS_DB_URI']);

/** Whether `name` matches an allow-list entry: an exact name, or a prefix ending in `*` (`AWS_*`). */
function allowed(name: string, patterns: readonly string[]): boolean {
  const upper = process.platform === 'win32' ? name.toUpperCase() : name;
  return patterns.some((pattern) => (pattern.endsWith('*') ? upper.startsWith(pattern.slice(0, -1)) : upper === pattern));
}

/**
 * The environment of a change's program: the base names and `extra` (the configuration's
 * `shellEnv`) from `parent`, the parent's other `DELTA_*` settings, then `facts` (DELTA_URI,
 * DELTA_DB, DELTA_CHANGE_ID, DELTA_RUN_ID), which win.
 */
export function programEnvironment(parent: NodeJS.ProcessEnv, extra: readonly string[], facts: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const patterns = [...BASE_ENVIRONMENT, ...extra, 'DELTA_*'];
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !WITHHELD.has(name) && allowed(name, patterns)) env[name] = value;
  }
  return { ...env, ...facts };
}

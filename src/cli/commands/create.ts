import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { resolveConfig } from '../../config/resolve-config.js';
import { UsageError } from '../../errors.js';
import type { CommandContext } from '../main.js';
import { configFlagsOf } from '../../config/options-table.js';
import { javaScriptChange, typeScriptChange, yamlChange } from '../templates.js';
import { listChangeFiles } from '../../loader/change-folder.js';
import { detectIdConvention, nextId } from '../../loader/id-convention.js';

/**
 * `delta create <name>`: write `<path>/<UTC yyyymmddHHMMss>_<name>.ts` (or .js, or .yaml), or the id
 * the configuration's `create.id` or the folder's own convention gives (src/loader/id-convention.ts).
 */
export async function run(context: CommandContext<'create'>, now = new Date()): Promise<void> {
  const { options, output } = context;
  const name = safeName(String(context.args[0] ?? ''));
  if (options.js === true && options.yaml === true) throw new UsageError('--js and --yaml cannot be used together');
  const config = await resolveConfig({ flags: configFlagsOf(options), env: context.streams.env, cwd: context.streams.cwd });
  await mkdir(config.path, { recursive: true });
  // The configured pattern (import writes the project's), else the one the folder's files follow.
  const ids = (await listChangeFiles({ path: config.path, pathSource: config.pathSource })).map((entry) => entry.id);
  const pattern = config.create.id ?? detectIdConvention(ids).pattern;
  const { id, sortsBefore } = nextId(pattern, ids, name, now);
  const kind = options.yaml === true ? 'yaml' : options.js === true ? 'js' : 'ts';
  const file = join(config.path, `${id}.${kind}`);
  const content = kind === 'yaml' ? yamlChange(id) : kind === 'js' ? javaScriptChange(id, isEsmFolder(config.path)) : typeScriptChange(id);
  try {
    await writeFile(file, content, { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${relative(context.streams.cwd, file)} already exists`);
    throw error;
  }
  const shown = relative(context.streams.cwd, file) || file;
  if (sortsBefore !== undefined) {
    output.warn(
      `delta: warning: ${id} sorts before ${sortsBefore}, the newest change in the folder: delta commit will refuse it as out of order once ${sortsBefore} is applied; rename it, or set create.id in the configuration (${pattern} now)`,
    );
  }
  if (output.options.json) output.json({ id, file: shown });
  else output.info(`Created ${shown}`);
}

/** Names become file names: letters, digits, `_` and `-` only; spaces turn into `_`. */
export function safeName(raw: string): string {
  const name = raw.trim().replace(/\s+/g, '_');
  if (name === '') throw new UsageError('create: give the change a name, e.g. delta create add_users_email_index');
  if (name.length > 100) throw new UsageError(`create: name is ${name.length} characters long; keep it under 100`);
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
    throw new UsageError(`create: name ${JSON.stringify(raw)} may only contain letters, digits, '_' and '-' (no paths, dots or quotes)`);
  }
  return name;
}

/** Whether `.js` files in `folder` are ES modules (nearest package.json says "type": "module"). */
function isEsmFolder(folder: string): boolean {
  for (let dir = folder; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(dir) === dir) return false;
  }
}

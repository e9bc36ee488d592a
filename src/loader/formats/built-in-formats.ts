import { basename, extname } from 'node:path';
import type { ChangeFormat } from '../../vocabulary/index.js';
import { normaliseModule } from '../code-change.js';

export const CODE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;
export const TEMPLATE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

/** TypeScript and JavaScript change files, run with the MongoDB driver (`defineMigration`, migrate-mongo's up/down). */
export const driverFormat: ChangeFormat = {
  name: 'driver',
  paired: false,
  match(fileName) {
    const extension = extname(fileName);
    // Declarations (.d.ts) never reach a runner: src/loader/ignored-files.ts.
    if (!(CODE_EXTENSIONS as readonly string[]).includes(extension)) return undefined;
    return { id: basename(fileName, extension), role: 'change' };
  },
  async load(file, context) {
    return normaliseModule(await context.importModule(file.absolutePath, file.extension), file, file.checksum);
  },
};

/** YAML/JSON templates: lists of built-in or configured operations. */
export const templateFormat: ChangeFormat = {
  name: 'template',
  paired: false,
  match(fileName) {
    const extension = extname(fileName);
    return (TEMPLATE_EXTENSIONS as readonly string[]).includes(extension) ? { id: basename(fileName, extension), role: 'change' } : undefined;
  },
  async load(file, context) {
    // Loaded on first use: a folder without templates never pays for the YAML parser.
    const { loadTemplate } = await import('../templates/load-template.js');
    return loadTemplate(file, { operations: context.operations, permissions: context.templatePermissions });
  },
};

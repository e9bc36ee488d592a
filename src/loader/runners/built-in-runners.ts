import { basename, extname } from 'node:path';
import { ChangeFileError } from '../../errors.js';
import type { ChangeRunner } from './runner-types.js';

export const CODE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;
export const TEMPLATE_EXTENSIONS = ['.json', '.yaml', '.yml'] as const;

const MONGOSH_PAIR = /^(.+)\.(commit|rollback)\.mongosh\.js$/;

/** TypeScript and JavaScript change files, run with the MongoDB driver (`defineMigration`, migrate-mongo's up/down). */
export const driverRunner: ChangeRunner = {
  name: 'driver',
  paired: false,
  match(fileName) {
    const extension = extname(fileName);
    if (fileName.endsWith('.d.ts') || !(CODE_EXTENSIONS as readonly string[]).includes(extension)) return undefined;
    return { id: basename(fileName, extension), role: 'change' };
  },
  async load(file, context) {
    // Loaded on use, and not statically: the file loader imports the registry.
    const { normaliseModule } = await import('../file-loader.js');
    return normaliseModule(await context.importModule(file.absolutePath, file.extension), file, file.checksum);
  },
};

/** YAML/JSON templates: lists of built-in or configured operations. */
export const templateRunner: ChangeRunner = {
  name: 'template',
  paired: false,
  match(fileName) {
    const extension = extname(fileName);
    return (TEMPLATE_EXTENSIONS as readonly string[]).includes(extension) ? { id: basename(fileName, extension), role: 'change' } : undefined;
  },
  async load(file, context) {
    // Loaded on first use: a folder without templates never pays for the YAML parser.
    const { loadTemplate } = await import('../templates/load-template.js');
    return loadTemplate(file, { operations: context.operations });
  },
};

/**
 * `<id>.commit.mongosh.js` / `<id>.rollback.mongosh.js` are claimed so that
 * they are never imported as driver changes, and refused with the reason:
 * the mongosh packages are not a dependency of delta (README, "Decisions").
 */
export const mongoshRunner: ChangeRunner = {
  name: 'mongosh',
  paired: true,
  match(fileName) {
    const found = MONGOSH_PAIR.exec(fileName);
    return found === null ? undefined : { id: found[1] as string, role: found[2] as 'commit' | 'rollback' };
  },
  load(file) {
    return Promise.reject(
      new ChangeFileError(
        `${file.file}: mongosh scripts are not supported by this version of delta (the mongosh shell packages are not bundled: see "Decisions" in the README); ` +
          'rewrite it as a .ts/.js change, or run it as a shell change with a configured program',
        file.file,
      ),
    );
  },
};

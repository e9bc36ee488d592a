export type { ChangeContext, ChangeDefinition, ChangeFunction, ChangeUnit, LegacyChangeFunction } from './change-types.js';
export { defineMigration } from './change-types.js';
export type { ChangeFileEntry, LoadChangesOptions } from './file-loader.js';
export { loadChangeFiles, listChangeFiles, compareIds, CODE_EXTENSIONS, TEMPLATE_EXTENSIONS } from './file-loader.js';
export { checksumOf } from './checksum.js';
export { changesFromDefinitions } from './memory-source.js';

export type { ChangeCatalog, ChangeSource, KnownRecord, ChangeContext, ChangeDefinition, ChangeFunction, ChangeRef, ChangeUnit, LegacyChangeFunction } from './change-types.js';
export { defineMigration } from './change-types.js';
export type { ChangeFileEntry, LoadChangesOptions, ScannedFile } from './file-loader.js';
export { loadChangeFiles, importChangeFiles, scanChangeFiles, listChangeFiles, compareIds, CODE_EXTENSIONS, TEMPLATE_EXTENSIONS } from './file-loader.js';
export { checksumOf } from './checksum.js';
export { changesFromDefinitions } from './memory-source.js';
export { fileChangeSource, memoryChangeSource } from './change-catalog.js';
export type { OperationDefinition, OperationFunction, OperationRegistration, OperationRegistry, StandardSchemaV1, TemplateOptions } from './templates/index.js';
export { defineOperation } from './templates/operation-types.js';

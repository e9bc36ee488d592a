export type { ChangeFileEntry, ChangeFolderOptions, ScannedFile, ScannedFolder } from './change-folder.js';
export { scanChangeFiles, listChangeFiles, listStagedFiles, CODE_EXTENSIONS, TEMPLATE_EXTENSIONS } from './change-folder.js';
export { importChangeFiles } from './file-loader.js';
export { changeOrder, compareIds } from './change-order.js';
export { checksumOf } from './checksum.js';
export { changesFromDefinitions } from './memory-source.js';
export { fileChangeSource, memoryChangeSource } from './change-catalog.js';
export type { TemplateOptions } from './templates/index.js';
export { formatRegistry } from './formats/format-registry.js';

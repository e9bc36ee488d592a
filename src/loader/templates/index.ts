export type { OperationDefinition, OperationFunction, OperationRegistration, OperationRegistry, StandardSchemaV1 } from './operation-types.js';
export { defineOperation } from './operation-types.js';
export type { BuiltInOperationName } from './operation-registry.js';
export { BUILT_IN_OPERATIONS, isOperationRegistration, OPERATION_NAME_PATTERN } from './operation-registry.js';
export type { ParsedTemplate, TemplateFile, TemplateOptions, TemplateStep } from './load-template.js';
export { loadTemplate, parseTemplate, OperationFailedError } from './load-template.js';
export { defaultIndexName } from './operations.js';

export type { ParsedTemplate, TemplateFile, TemplateOptions, TemplateStep } from './load-template.js';
export { loadTemplate, parseTemplate, OperationFailedError } from './load-template.js';
export { defaultIndexName } from './operations.js';
export type { BuiltInOperationName, OperationDefinition, OperationFunction, OperationRegistration, OperationRegistry, StandardSchemaV1 } from '../../vocabulary/index.js';
export { BUILT_IN_OPERATIONS, OPERATION_NAME_PATTERN, defineOperation, isOperationRegistration } from '../../vocabulary/index.js';

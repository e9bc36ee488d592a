// A collection's document validator (its `validator` option: query operators and $jsonSchema),
// with `validationLevel` and `validationAction` as mongod applies them to each new version of a
// document: DocumentValidationFailure (121) with the failure's details, a log line for `warn`.
import type { Document } from 'bson';
import { isPlainObject, renderValue } from './bson-values.js';
import { CommandError } from './errors.js';
import { compileJsonSchema } from './json-schema-validator.js';
import type { SchemaCheck } from './json-schema-validator.js';
import { compileFilter } from './query-engine.js';
import type { CompiledFilter } from './query-engine.js';
import { describeFailure } from './validator-details.js';

export const VALIDATION_LEVELS = ['off', 'strict', 'moderate'] as const;
export const VALIDATION_ACTIONS = ['error', 'warn', 'errorAndLog'] as const;
export type ValidationLevel = (typeof VALIDATION_LEVELS)[number];
export type ValidationAction = (typeof VALIDATION_ACTIONS)[number];

export class DocumentValidator {
  readonly level: ValidationLevel;
  readonly action: ValidationAction;
  readonly #filter: CompiledFilter;
  readonly #schema: SchemaCheck | undefined;

  private constructor(options: Document, validator: Document) {
    this.level = (options.validationLevel as ValidationLevel | undefined) ?? 'strict';
    this.action = (options.validationAction as ValidationAction | undefined) ?? 'error';
    // The schema first: of a validator with a bad $jsonSchema, its error is the one mongod gives.
    this.#schema = isPlainObject(validator.$jsonSchema) ? compileJsonSchema(validator.$jsonSchema) : undefined;
    this.#filter = compileFilter(validator);
  }

  /** The validator of a collection's options; undefined when it has none (or an empty one). Throws what mongod refuses in it. */
  static of(options: Document): DocumentValidator | undefined {
    const validator = options.validator;
    return isPlainObject(validator) && Object.keys(validator).length > 0 ? new DocumentValidator(options, validator) : undefined;
  }

  /** Enforces the validator for `next`, the new version of `previous` (null for an insert). */
  check(next: Document, previous: Document | null, namespace: string, log: (line: string) => void): void {
    if (this.level === 'off') return;
    if (this.#filter.test(next)) return;
    // moderate: updates to documents that already failed validation are let through.
    if (this.level === 'moderate' && previous !== null && !this.#filter.test(previous)) return;
    const details = describeFailure(this.#filter.filter, next, this.#schema) ?? { operatorName: '$and', clausesNotSatisfied: [] };
    if (this.action === 'warn') {
      log(`Document would fail validation namespace=${namespace} document=${renderValue({ _id: next._id })}`);
      return;
    }
    throw new CommandError('DocumentValidationFailure', 'Document failed validation', {
      extra: { errInfo: { failingDocumentId: next._id, details } },
    });
  }
}

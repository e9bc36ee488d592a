// errInfo.details of a DocumentValidationFailure (code 121) for query-style validators, in the
// shape mongod (5.0+) reports: the operator that failed, how it was specified, and why.
import type { Document } from 'bson';
import { bsonTypeOf, getPath, isPlainObject } from './bson-values.js';
import type { SchemaCheck } from './json-schema-validator.js';
import { compileFilter } from './query-engine.js';

const COMPARISON_OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte']);

function reasonFor(operator: string, value: unknown): string {
  if (value === undefined && operator !== '$exists' && operator !== '$ne' && operator !== '$nin') return 'field was missing';
  if (COMPARISON_OPERATORS.has(operator)) return 'comparison failed';
  switch (operator) {
    case '$exists':
      return value === undefined ? 'path does not exist' : 'path does exist';
    case '$type':
      return 'type did not match';
    case '$in':
      return 'no matching value found in array';
    case '$nin':
      return 'matching value found in array';
    case '$regex':
      return 'regular expression did not match';
    case '$size':
      return 'array length was not equal to given size';
    default:
      return 'expression did not match';
  }
}

function fieldDetails(field: string, spec: unknown, document: Document): Document | undefined {
  const value = getPath(document, field);
  const operators = isPlainObject(spec) && Object.keys(spec).some((key) => key.startsWith('$')) ? Object.keys(spec) : undefined;
  if (operators === undefined) {
    if (compileFilter({ [field]: spec }).test(document)) return undefined;
    return withValue({ operatorName: '$eq', specifiedAs: { [field]: spec }, reason: reasonFor('$eq', value) }, value);
  }
  const failing: Document[] = [];
  for (const operator of operators) {
    if (operator === '$options') continue;
    const clause: Document = { [operator]: (spec as Document)[operator] };
    if (operator === '$regex' && (spec as Document).$options !== undefined) clause.$options = (spec as Document).$options;
    if (compileFilter({ [field]: clause }).test(document)) continue;
    const detail: Document = { operatorName: operator, specifiedAs: { [field]: clause }, reason: reasonFor(operator, value) };
    if (operator === '$type' && value !== undefined) detail.consideredType = bsonTypeOf(value);
    failing.push(withValue(detail, value));
  }
  if (failing.length === 0) return undefined;
  return failing.length === 1 ? failing[0] : { operatorName: '$and', clausesNotSatisfied: failing.map((details, index) => ({ index, details })) };
}

function withValue(detail: Document, value: unknown): Document {
  if (value !== undefined && detail.reason !== 'path does exist') detail.consideredValue = value;
  return detail;
}

function clauseDetails(key: string, spec: unknown, document: Document, schema: SchemaCheck | undefined): Document | undefined {
  if (key === '$jsonSchema') {
    const rules = schema?.(document) ?? [];
    return rules.length === 0 ? undefined : { operatorName: '$jsonSchema', schemaRulesNotSatisfied: rules };
  }
  if (key === '$expr') {
    if (compileFilter({ $expr: spec }).test(document)) return undefined;
    return { operatorName: '$expr', specifiedAs: { $expr: spec }, reason: 'expression did not match', expressionResult: false };
  }
  if ((key === '$and' || key === '$or' || key === '$nor') && Array.isArray(spec)) {
    if (compileFilter({ [key]: spec }).test(document)) return undefined;
    const clauses = spec.map((clause, index) => ({ index, details: isPlainObject(clause) ? describeFailure(clause, document, undefined) : undefined })).filter((entry) => entry.details !== undefined);
    return { operatorName: key, clausesNotSatisfied: clauses };
  }
  return fieldDetails(key, spec, document);
}

/** Describes why `document` fails `validator` (undefined when it does not). */
export function describeFailure(validator: Document, document: Document, schema: SchemaCheck | undefined): Document | undefined {
  const failing: Array<{ index: number; details: Document }> = [];
  Object.keys(validator).forEach((key, index) => {
    const details = clauseDetails(key, validator[key], document, schema);
    if (details !== undefined) failing.push({ index, details });
  });
  if (failing.length === 0) return undefined;
  if (Object.keys(validator).length === 1) return (failing[0] as { details: Document }).details;
  return { operatorName: '$and', clausesNotSatisfied: failing };
}
